"""The review panel: suspicious labels, the last round's pseudo-labels, the loop's settings.

Three things a person checks while a loop runs:

* the **suspicious-labels queue** of the label-noise check (labels the
  out-of-fold model disagrees with): keep each label or take the suggestion;
* the **pseudo-labels** of the newest round, grouped by class and sorted by
  confidence: accept them (they become human labels) or reject them (the loop
  never pseudo-labels those objects again); for ASPL, the re-certification
  batch (accept all, reject some);
* the **loop's settings** (policy, τ, caps...), editable live, and the
  stopping guidance of the newest model.

The noise check fits the head several times, so it runs in the hub's worker
pool and its result comes back through the tab's ``schedule``; everything
else here is a short store read or write, like a label click.
"""
from __future__ import annotations

import contextlib
import html
import threading
from functools import partial

import pandas as pd
import panel as pn

from alabel.core.errors import AlabelError

from alabel.core.loops import Loop
from alabel.core.params import integer

from ..redact import redact_paths
from .base import Component

#: Columns of the suspicious-labels table.
SUSPICIOUS_SHOWN = ["object_id", "label", "suggested", "self_confidence", "suggested_confidence"]
#: Columns of the pseudo-label tables.
PSEUDO_SHOWN = ["object_id", "label", "confidence", "model_version"]

_NOT_PSEUDO = ("This loop ({loop}) asks people only and writes no pseudo-labels: nothing to review here. "
               "Choose <code>loop.type: self_training</code>, <code>self_paced</code> or <code>aspl</code> "
               "in the config for pseudo-labels.")


class ReviewPanel(Component):
    """Re-check suspicious labels, accept or reject pseudo-labels, tune the loop live."""

    type_name = "review"
    title = "Review"
    params_spec = {"page_size": integer(10, "rows per page of the tables", low=1, label="Rows per page")}

    def __init__(self, state, **options):
        super().__init__(state, **options)
        self.loop = state.session.loop
        self.pseudo_labelling = bool(getattr(self.loop, "pseudo_labelling", False))
        page_size = self.layout_options["page_size"]

        # -- suspicious labels ------------------------------------------------------
        self.check_button = pn.widgets.Button(label="Check labels", css_classes=["review-check"], width=120)
        self.check_button.on_click(lambda _: self.check_labels())
        self.check_status = pn.pane.HTML("", css_classes=["review-check-status"], sizing_mode="stretch_width")
        self.suspicious = pn.widgets.Tabulator(
            pd.DataFrame(columns=SUSPICIOUS_SHOWN), disabled=True, selectable=1, show_index=False,
            pagination="local", page_size=page_size, sizing_mode="stretch_width",
            css_classes=["review-suspicious"])
        self.suspicious.param.watch(self._suspicious_picked, "selection")
        self.keep_button = pn.widgets.Button(label="Keep label", css_classes=["review-keep"], width=110)
        self.keep_button.on_click(lambda _: self.resolve_suspicious(use_suggestion=False))
        self.suggest_button = pn.widgets.Button(label="Use suggestion", css_classes=["review-suggest"], width=130)
        self.suggest_button.on_click(lambda _: self.resolve_suspicious(use_suggestion=True))
        self._checking = False
        # The suspicious label a person picked, by object id: a refresh may reorder or shorten the
        # table under the selection, and "keep" / "use suggestion" must act on the object the person
        # picked (and saw in the detail view), never on whatever row now sits at that position.
        self._picked_suspicious: str | None = None
        # Refreshes arrive from worker threads; a pick or an action must not interleave with one.
        self._table_lock = threading.RLock()

        # -- pseudo-labels ----------------------------------------------------------
        self.explanation = pn.pane.HTML(
            _NOT_PSEUDO.format(loop=html.escape(str(getattr(self.loop, "type_name", "?")))),
            css_classes=["review-no-pseudo"], sizing_mode="stretch_width", visible=not self.pseudo_labelling)
        self.round_info = pn.pane.HTML("", css_classes=["review-round"], sizing_mode="stretch_width")
        self.pseudo = pn.widgets.Tabulator(
            pd.DataFrame(columns=PSEUDO_SHOWN), disabled=True, selectable="checkbox", show_index=False,
            groupby=["label"], pagination="local", page_size=page_size * 2, sizing_mode="stretch_width",
            css_classes=["review-pseudo"])
        self.pseudo.param.watch(partial(self._ticked, lambda: self._pseudo_frame), "selection")
        self.accept_selected = pn.widgets.Button(label="Accept selected", css_classes=["review-accept"])
        self.accept_selected.on_click(lambda _: self.accept(selected=True))
        self.accept_all = pn.widgets.Button(label="Accept all", css_classes=["review-accept-all"])
        self.accept_all.on_click(lambda _: self.accept(selected=False))
        self.reject_selected = pn.widgets.Button(label="Reject selected", color="danger",
                                                 css_classes=["review-reject"])
        self.reject_selected.on_click(lambda _: self.reject())
        self.aspl = hasattr(self.loop, "certification_batch") and hasattr(self.loop, "certify")
        self.batch = pn.widgets.Tabulator(
            pd.DataFrame(columns=PSEUDO_SHOWN), disabled=True, selectable="checkbox", show_index=False,
            groupby=["label"], pagination="local", page_size=page_size * 2, sizing_mode="stretch_width",
            css_classes=["review-batch"])
        self.batch.param.watch(partial(self._ticked, lambda: self._batch_frame), "selection")
        self.load_batch = pn.widgets.Button(label="Next certification batch", css_classes=["review-load-batch"])
        self.load_batch.on_click(lambda _: self.refresh_batch())
        self.certify_button = pn.widgets.Button(label="Certify: accept all, reject ticked",
                                                css_classes=["review-certify"])
        self.certify_button.on_click(lambda _: self.certify())

        # -- settings and stopping ----------------------------------------------------
        settings = self.loop.settings()
        # The loop's own settings (policy, τ, caps) first; the stopping and noise-check ones every loop shares last.
        shared = [n for n in Loop.params_spec if n in settings]
        declared = [n for n in self.loop.params_spec if n in settings and n not in shared]
        self.setting_widgets = {name: self._setting_widget(name, settings[name])
                                for name in [*declared, *shared]}
        self.apply_button = pn.widgets.Button(label="Apply", color="primary",
                                              css_classes=["review-apply"], width=90)
        self.apply_button.on_click(lambda _: self.apply_settings())
        self.settings_status = pn.pane.HTML("", css_classes=["review-settings-status"],
                                            sizing_mode="stretch_width")
        self.stopping = pn.pane.HTML("", css_classes=["review-stopping"], sizing_mode="stretch_width")

        self._generation = 0
        self._quiet = False
        self._suspicious_frame = pd.DataFrame(columns=SUSPICIOUS_SHOWN + ["row"])
        self._pseudo_frame = pd.DataFrame(columns=PSEUDO_SHOWN)
        self._batch_frame = pd.DataFrame(columns=PSEUDO_SHOWN)
        self.watch(self.refresh_later, "model_version", "labels_revision")
        self.watch(self._on_metrics, "metrics")
        self.refresh()
        self._on_metrics()

    # ------------------------------------------------------------------ layout
    def __panel__(self):
        suspicious = pn.Column(
            pn.pane.HTML("<h4>Suspicious labels</h4>", margin=(0, 5)),
            pn.Row(self.check_button, self.check_status), self.suspicious,
            pn.Row(self.keep_button, self.suggest_button), sizing_mode="stretch_width")
        if self.pseudo_labelling:
            parts = [self.round_info, self.pseudo,
                     pn.Row(self.accept_selected, self.accept_all, self.reject_selected)]
            if self.aspl:
                parts += [pn.pane.HTML("<h5>Re-certification</h5>", margin=(0, 5)), self.load_batch, self.batch,
                          self.certify_button]
        else:
            parts = [self.explanation]
        pseudo = pn.Column(pn.pane.HTML("<h4>Pseudo-labels of the last round</h4>", margin=(0, 5)), *parts,
                           sizing_mode="stretch_width")
        settings = pn.Column(
            pn.pane.HTML(f"<h4>Loop settings ({html.escape(str(self.loop.type_name))})</h4>", margin=(0, 5)),
            pn.GridBox(*self.setting_widgets.values(), ncols=3, sizing_mode="stretch_width"),
            pn.Row(self.apply_button, self.settings_status), self.stopping, sizing_mode="stretch_width")
        return self.card(suspicious, pseudo, settings)

    # ------------------------------------------------------------------ refresh
    def refresh(self, *_) -> None:
        """Re-read the suspicious-labels queue and the pseudo-labels now (after an action here)."""
        self._generation += 1
        self._show(self._read(), self._generation)

    def refresh_later(self, *_) -> None:
        """Re-read them in the worker pool (a new model or new labels arrived)."""
        self._generation += 1
        generation = self._generation
        future = self.state.hub.submit(self._read)

        def done(f):
            try:
                data = f.result()
            except Exception as exc:  # store closed at shutdown: keep the last tables
                self.state.schedule(partial(self.state._say, f"review refresh failed: {exc}", "warning"))
                return
            self.state.schedule(partial(self._show, data, generation))
        future.add_done_callback(done)

    def _read(self) -> dict:
        session = self.state.session
        data = {"suspicious": session.suspicious_labels().reset_index(drop=True),
                "check": self.loop.noise_check}
        if self.pseudo_labelling:
            data["pseudo"] = session.pseudo_labels(latest_only=True).reset_index(drop=True)
            data["total"] = len(session.pseudo_labels())
            data["round"] = getattr(self.loop, "last_round", None)
        return data

    def _show(self, data: dict, generation: int) -> None:
        with self._table_lock:
            self._show_locked(data, generation)

    def _show_locked(self, data: dict, generation: int) -> None:
        if generation != self._generation:
            return  # a newer read is on its way
        queue = data["suspicious"]
        self._suspicious_frame = queue
        if self._picked_suspicious not in set(queue["object_id"].astype(str)):
            self._picked_suspicious = None  # resolved (here or in another tab)
        self.suspicious.value = _rounded(queue.reindex(columns=SUSPICIOUS_SHOWN))
        with self._restoring():
            picked = [] if self._picked_suspicious is None else [self._picked_suspicious]
            self.suspicious.selection = _positions(queue, picked)
        check = data["check"]
        if self._checking:
            pass
        elif check is None:
            self.check_status.object = "<i>not checked yet</i>"
        else:
            note = f" ({html.escape(check.note)})" if getattr(check, "note", "") else ""
            self.check_status.object = (f"<span class='review-flagged' data-n='{len(queue)}'>{len(queue)} "
                                        f"suspicious label(s) waiting{note}</span>"
                                        + trust_note(self.state.metrics or {}, check.n_checked))
        if not self.pseudo_labelling:
            return
        frame = data["pseudo"]
        keep = self._selected_ids(self.pseudo, self._pseudo_frame)  # ticks survive another tab's label
        self._pseudo_frame = frame
        self.pseudo.value = _rounded(frame.reindex(columns=PSEUDO_SHOWN))
        with self._restoring():
            self.pseudo.selection = _positions(frame, keep)
        rnd, total = data["round"], data["total"]
        if rnd is None:
            self.round_info.object = f"<i>no pseudo-label round yet</i> · {total} in force"
        else:
            per_class = ", ".join(f"{html.escape(str(c))}: {n}" for c, n in rnd.by_class.items())
            self.round_info.object = (
                f"<span class='review-round-info' data-n='{len(frame)}' data-total='{total}'>"
                f"model v{rnd.model_version}: {len(frame)} new in this round ({total} in force; {per_class}) · "
                f"+{rnd.added} −{rnd.retracted}</span>")

    def _on_metrics(self, *_) -> None:
        stopping = (self.state.metrics or {}).get("stopping")
        if stopping is None and getattr(self.loop, "stopping", None) is not None:
            stopping = self.loop.stopping.as_dict()
        if not stopping:
            self.stopping.object = "<i>stopping guidance: after the first two models</i>"
            return
        stable = bool(stopping.get("stable"))
        self.stopping.object = (f"<div class='review-stopping-line' data-stable='{int(stable)}'>"
                                f"stopping guidance: {html.escape(str(stopping.get('message', '')))}</div>")

    # ------------------------------------------------------------------ suspicious labels
    def check_labels(self):
        """Run the label-noise check in the worker pool; the table refreshes when it ends."""
        if self._checking:
            return None
        self._checking = True
        self.check_button.disabled = True
        self.check_status.object = "<i>checking labels (fitting the head on folds)…</i>"
        future = self.state.hub.submit(self.state.session.check_labels)
        future.add_done_callback(lambda f: self.state.schedule(partial(self._checked, f)))
        return future

    def _checked(self, future) -> None:
        self._checking = False
        self.check_button.disabled = False
        try:
            future.result()
        except AlabelError as exc:
            self.check_status.object = f"<span class='review-error'>{html.escape(redact_paths(str(exc)))}</span>"
            self.state._say(str(exc), "error")
            return
        except Exception as exc:  # report, keep the tab alive
            self.check_status.object = (f"<span class='review-error'>check failed: "
                                        f"{html.escape(redact_paths(str(exc)))}</span>")
            self.state._say(f"label check failed: {type(exc).__name__}: {exc}", "error")
            return
        self.refresh()
        self.state._say(f"label check: {len(self._suspicious_frame)} suspicious label(s)")

    @contextlib.contextmanager
    def _restoring(self):
        """Re-ticking rows after a refresh must not move the detail view."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _suspicious_picked(self, event) -> None:
        with self._table_lock:
            if self._quiet:
                return
            frame = self._suspicious_frame
            if not event.new or not 0 <= event.new[0] < len(frame):
                self._picked_suspicious = None
                return
            object_id = str(frame["object_id"].iloc[event.new[0]])
            self._picked_suspicious = object_id
            row = int(frame["row"].iloc[event.new[0]])
        self.state.select([row], source=f"suspicious label of {object_id}")

    def resolve_suspicious(self, use_suggestion: bool) -> None:
        """Keep the picked suspicious label, or replace it by the suggested class."""
        with self._table_lock:
            object_id = self._picked_suspicious
            frame = self._suspicious_frame
            matches = frame.index[frame["object_id"].astype(str) == object_id] if object_id else []
            if object_id is None or not len(matches):
                self.state._say("select a suspicious label first" if object_id is None
                                else f"{object_id} is no longer suspicious", "warning")
                return
            entry = frame.loc[matches[0]]
            self._picked_suspicious = None
        label = str(entry["suggested"]) if use_suggestion else None
        try:
            self.state.session.confirm_label(entry["object_id"], label=label, annotator=self.state.annotator)
        except AlabelError as exc:
            self.state._say(str(exc), "error")
            return
        with self._restoring():
            self.suspicious.selection = []
        self.state._say(f"{entry['object_id']} → {label}" if label else f"{entry['object_id']}: kept {entry['label']}")
        self.refresh()

    # ------------------------------------------------------------------ pseudo-labels
    def _selected_ids(self, table, frame) -> list[str]:
        return [str(frame["object_id"].iloc[i]) for i in table.selection if 0 <= i < len(frame)]

    def _ticked(self, frame_of, event) -> None:
        """Show the object just ticked in the detail view (to judge its pseudo-label)."""
        with self._table_lock:
            if self._quiet:
                return
            added = [i for i in event.new if i not in set(event.old or [])]
            frame = frame_of()
            if not added or not 0 <= added[-1] < len(frame):
                return
            row = int(frame["row"].iloc[added[-1]])
        self.state.focus(row)

    def accept(self, selected: bool = True) -> int:
        """Accept the selected (or all listed) pseudo-labels as human labels; returns how many."""
        frame = self._pseudo_frame
        ids = self._selected_ids(self.pseudo, frame) if selected else [str(o) for o in frame["object_id"]]
        if not ids:
            self.state._say("tick pseudo-labels first" if selected else "no pseudo-label to accept", "warning")
            return 0
        try:
            events = self.state.session.accept_pseudo(ids, annotator=self.state.annotator)
        except AlabelError as exc:
            self.state._say(str(exc), "error")
            return 0
        self.state._say(f"accepted {len(events)} pseudo-label(s) as human labels")
        self.refresh()
        return len(events)

    def reject(self) -> int:
        """Reject the selected pseudo-labels (retracted, never pseudo-labelled again)."""
        ids = self._selected_ids(self.pseudo, self._pseudo_frame)
        if not ids:
            self.state._say("tick pseudo-labels first", "warning")
            return 0
        try:
            n = self.state.session.reject_pseudo(ids, annotator=self.state.annotator)
        except AlabelError as exc:
            self.state._say(str(exc), "error")
            return 0
        self.state._say(f"rejected {n} pseudo-label(s)")
        self.refresh()
        return n

    def refresh_batch(self) -> None:
        """Load the next ASPL re-certification batch."""
        self._batch_frame = self.state.session.certification_batch().reset_index(drop=True)
        self.batch.selection = []
        self.batch.value = _rounded(self._batch_frame.reindex(columns=PSEUDO_SHOWN))

    def certify(self) -> dict | None:
        """Accept the shown ASPL batch except the ticked rows, which are rejected."""
        frame = self._batch_frame
        if frame.empty:
            self.state._say("load a certification batch first", "warning")
            return None
        reject = self._selected_ids(self.batch, frame)
        try:
            outcome = self.state.session.certify(frame["object_id"].astype(str).tolist(), reject=reject,
                                                 annotator=self.state.annotator)
        except AlabelError as exc:
            self.state._say(str(exc), "error")
            return None
        self.state._say(f"certified: {outcome['accepted']} accepted, {outcome['rejected']} rejected")
        self._batch_frame = frame.iloc[:0]
        self.batch.value = _rounded(self._batch_frame.reindex(columns=PSEUDO_SHOWN))
        self.refresh()
        return outcome

    # ------------------------------------------------------------------ settings
    def _setting_widget(self, name: str, value):
        """A widget for one loop setting, labelled and explained by its declaration (core/params.py)."""
        param = self.loop.params_spec[name]
        kwargs = {"label": param.label_for(name), "css_classes": [f"review-setting-{name}"], "width": 170,
                  # The doc as help, and the config key for those who edit config.yaml.
                  "description": f"{param.doc} (loop.params.{name})"}
        if param.choices:
            options = list(dict.fromkeys([*param.choices, value]))
            return pn.widgets.Select(value=value, options=options, **kwargs)
        if param.kind == "boolean":
            kwargs.pop("description")
            return pn.widgets.Checkbox(value=value, **kwargs)
        if param.is_integer:
            return pn.widgets.IntInput(value=value, **kwargs)
        return pn.widgets.FloatInput(value=value, **kwargs)

    def pending_changes(self) -> dict:
        """Settings whose widget differs from the loop's current value."""
        current = self.loop.settings()
        changes = {}
        for name, widget in self.setting_widgets.items():
            value = widget.value
            if isinstance(value, float) and value.is_integer() and isinstance(current.get(name), int):
                value = int(value)
            if value != current.get(name):
                changes[name] = value
        return changes

    def apply_settings(self) -> bool:
        """Apply the edited settings (all or nothing); pseudo-labelling loops retrain at once."""
        changes = self.pending_changes()
        if not changes:
            self.settings_status.object = "<i>no change</i>"
            return False
        try:
            settings = self.state.session.update_loop_settings(**changes)
        except AlabelError as exc:
            self.settings_status.object = f"<span class='review-error'>{html.escape(str(exc))}</span>"
            self.state._say(str(exc), "error")
            return False
        for name, value in settings.items():  # show what is in force (e.g. normalised values)
            if name in self.setting_widgets:
                self.setting_widgets[name].value = value
        what = ", ".join(f"{k}={v!r}" for k, v in changes.items())
        note = "retraining with them" if self.pseudo_labelling else "applied from the next model"
        self.settings_status.object = f"<span class='review-applied'>{html.escape(what)}: {note}</span>"
        self.state._say(f"loop settings {what}: {note}")
        return True


def _positions(frame: pd.DataFrame, object_ids: list[str]) -> list[int]:
    """Positions in ``frame`` of the objects still listed."""
    wanted = set(object_ids)
    return [i for i, o in enumerate(frame["object_id"].astype(str)) if o in wanted]


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Probabilities to 3 decimals for the tables (the engine keeps full precision)."""
    columns = [c for c in ("confidence", "self_confidence", "suggested_confidence") if c in frame]
    return frame.astype({c: float for c in columns}).round({c: 3 for c in columns}) if columns else frame


#: Accuracy from which a flag is more likely a wrong label than a wrong model (and the words for each band).
TRUST_BANDS = ((0.95, "good", "a flag is worth a careful look"),
               (0.85, "fair", "many flags will still be the model's own mistakes"),
               (0.0, "weak", "most flags are likely the model's own mistakes, not wrong labels: "
                             "treat them as hints, and check again with more labels"))


def trust_note(metrics: dict, n_checked: int) -> str:
    """How far to trust the check at the model's current accuracy (it judges labels by that model).

    A model right on a share ``a`` of the labels contradicts about ``(1 - a) * n``
    of ``n`` correct labels, so with 40 labels at 0.55 some 18 flags are expected
    even when every label is right.
    """
    from .model import headline

    best = headline(metrics)
    if best is None or not n_checked:
        return ("<br><small class='review-trust' data-trust='unknown'>no model accuracy yet: "
                "the check cannot say how far to trust its flags</small>")
    accuracy = float(best["accuracy"])
    level, advice = next((name, text) for floor, name, text in TRUST_BANDS if accuracy >= floor)
    expected = round((1 - accuracy) * n_checked)
    return (f"<br><small class='review-trust' data-trust='{level}' data-expected='{expected}'>"
            f"Trust: <b>{level}</b>. The model is right on about {accuracy:.0%} "
            f"({html.escape(str(best.get('method', '')))}), so it disagrees with about {expected} of "
            f"{n_checked} labels even if all are right; {advice}.</small>")
