"""The UI state of one browser tab, as a ``param.Parameterized`` without Panel.

Each tab gets its own :class:`TabState`: who is labelling, what they are
shown, what they selected, how the scatter is coloured, whether they label
the test set. Everything shared between tabs (labels, models, the trainer)
lives in the hub's engine session, which this class only calls.

Two rules keep a label click fast:

* the click handler only commits the label (a few ms) and moves to the next
  object already queued by :class:`~alabel.dashboard.queue.QueryQueue`;
* everything else (refilling the queue, counting labels, reading the store
  after someone else labelled) runs in the hub's worker pool, and its result
  is applied through ``schedule``, which the app points at the tab's Bokeh
  document (``doc.add_next_tick_callback``) so params change on the event loop.

Components watch the params below and act through this class's methods;
the few engine actions without a tab-level meaning (the review loop's
decisions, exports) go through :class:`~alabel.core.session.Session`'s own
methods. Nothing in the dashboard touches the label store or the trainer
(``tests/test_architecture.py``).

Why one module of this size: ``TabState`` is one ``param.Parameterized``, and
Panel components watch its params by name; its methods are the tab's actions
(label, skip, undo, navigate, select, bulk, grid, test mode), each a few lines
over the same params and lock. The parts with a job of their own already live
apart: the query queue (``queue.py``), filters (``filters.py``), keys
(``keys.py``), the engine (``Session``).
"""
from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import param

from alabel.core.errors import AlabelError, EmptyPoolError, LabelStoreError
from alabel.core.session import QueryItem

from .features import EMBEDDING_AXES, plottable_columns
from .filters import Filter, filter_mask
from .keys import KeyMap
from .queue import QueryQueue, Shown

log = logging.getLogger(__name__)

#: A burst of label events is re-read this long after its first event...
LABELS_DEBOUNCE_S = 0.25
#: ...and at most once per this interval.
LABELS_INTERVAL_S = 0.5

#: Colourings of the scatter.
COLOUR_MODES = ("label", "prediction", "uncertainty", "queried")


def _immediately(fn: Callable[[], None]) -> None:
    fn()


#: Key actions that record an event about the object in focus (checked against what the page showed).
_RECORDING_ACTIONS = frozenset({"label", "accept", "skip", "unsure"})


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class TabState(param.Parameterized):
    """One browser tab's view of a shared labelling session.

    Parameters
    ----------
    hub : ServerHub
        The shared engine session.
    schedule : callable, optional
        ``schedule(fn)`` runs ``fn()`` where params may change (the tab's
        document); default: at once, in the calling thread (tests, scripts).
    **params
        Initial values of the params below (``annotator``, ...).
    """

    annotator = param.String(default="", doc="Name recorded with every label from this tab.")
    annotator_locked = param.Boolean(default=False, constant=True,
                                     doc="The annotator is the signed-in user: nothing in the page changes it.")

    # -- what is shown -------------------------------------------------------------------
    current = param.Parameter(default=None, doc="The queried object in front of the annotator (Shown).")
    position = param.Integer(default=0, doc="1-based position of the current object in this tab's trail.")
    queued = param.Integer(default=0, doc="Objects queued after the current one.")
    current_prediction = param.String(default="", doc="Newest model's class for the current object.")
    current_confidence = param.Number(default=None, allow_None=True,
                                      doc="Newest model's probability of that class.")
    current_prediction_version = param.Integer(default=None, allow_None=True,
                                               doc="The model version that made the shown prediction.")
    focus_row = param.Integer(default=None, allow_None=True, doc="Pool row shown in the detail view.")
    focus_source = param.Selector(default="query", objects=["query", "selection"],
                                  doc="Whether the detail shows the query or an object picked by hand.")
    selection = param.Array(default=np.zeros(0, dtype=np.int64),
                            doc="Pool rows selected in the scatter or the finder (lasso, box, tap, search).")
    selection_source = param.String(default="", doc="How the selection was made, in words.")
    bulk_pending = param.Dict(default=None, allow_None=True,
                              doc="A bulk label awaiting confirmation: {label, n, split}.")
    grid_source = param.Selector(default="query", objects=["query", "selection"],
                                 doc="What the labelling grid shows: the query batch or the selection.")
    grid_page = param.List(default=[], doc="The grid's page, [{row, object_id, split}]: kept until the next page.")
    grid_start = param.Integer(default=0, doc="Offset of the grid's page in the selection.")
    grid_labels = param.Dict(default={}, doc="Labels given on the grid (object id → class) not yet undone.")
    grid_undo_depth = param.Integer(default=0, doc="How many grid actions Undo can take back.")

    # -- how things are shown --------------------------------------------------------
    colour_by = param.Selector(default="label", objects=list(COLOUR_MODES),
                               doc="What the scatter's colours show.")
    x_axis = param.String(default="", doc="Scatter x axis: a column, a feature or pca_1/pca_2.")
    y_axis = param.String(default="", doc="Scatter y axis.")
    filters = param.List(default=[], item_type=Filter, doc="Column filters of the finder.")
    test_mode = param.Boolean(default=False, doc="Label random objects into the held-out test split.")
    test_within_filters = param.Boolean(default=False, doc="Test-set mode draws only among filtered rows.")
    layout_name = param.String(default="default", doc="The YAML layout this tab shows.")

    # -- mirrored from the shared session -------------------------------------------------
    classes = param.List(default=[], doc="ClassSpec list (name, colour, key) in force.")
    model_version = param.Integer(default=None, allow_None=True, doc="Newest finished model version.")
    model_n_labels = param.Integer(default=0, doc="Labels the newest model was trained on.")
    metrics = param.Dict(default={}, doc="Metrics of the newest model (with how they were measured).")
    history = param.List(default=[], doc="Per-version summaries: the learning curve.")
    trainer_state = param.String(default="idle",
                                 doc="idle, waiting, training, evaluating, failed, cancelled, stopped.")
    trainer_message = param.String(default="", doc="What the trainer is doing, in words.")
    trainer_error = param.String(default="", doc="The last retrain's error, if it failed.")
    progress = param.Number(default=0.0, bounds=(0, 1), doc="Progress of the retrain in progress.")
    label_counts = param.DataFrame(default=None, allow_None=True,
                                   doc="Current labels per class (rows) and split (train/test columns).")
    labelled = param.DataFrame(default=None, allow_None=True,
                               doc="Current labels: object_id, label, split, annotator, row.")
    labels_revision = param.Integer(default=0, doc="Store revision the label views were read at.")
    head_type = param.String(default="", doc="Head type in force (shared by every tab).")
    strategy_type = param.String(default="", doc="Query strategy in force (shared by every tab).")
    reference = param.Dict(default=None, allow_None=True,
                           doc="Ground-truth scores of the session and of random sampling.")

    message = param.String(default="", doc="Outcome of the last action, for the status line.")
    message_level = param.Selector(default="info", objects=["info", "warning", "error"],
                                   doc="How the status line shows the message.")

    def __init__(self, hub, *, schedule: Callable[[Callable[[], None]], None] | None = None, **params):
        params.setdefault("annotator", f"tab-{uuid.uuid4().hex[:6]}")
        super().__init__(**params)
        self.hub = hub
        self.session = hub.session
        self.schedule = schedule or _immediately
        self._lock = threading.RLock()
        self.queue = QueryQueue(low_water=3)
        self._labels_refresh = _Coalescer()
        self._label_index: dict[int, dict] = {}
        self._closed = False
        self._grid_actions: list[_GridAction] = []
        self._grid_wanted = 0  # size of a query page waiting for the batch to fill
        self._leased_as = self.annotator
        config = self.session.config
        scatter = config.ui.scatter or {}
        self.param.update(
            x_axis=self.x_axis or str(scatter.get("x") or _default_axis(self.session.pool, 0)),
            y_axis=self.y_axis or str(scatter.get("y") or _default_axis(self.session.pool, 1)),
            classes=list(config.classes),
            head_type=config.head["type"],
            strategy_type=config.strategy["type"],
            layout_name=params.get("layout_name", config.ui.layout),
            reference=hub.truth.snapshot() if hub.truth is not None else None,
        )
        self.keymap = KeyMap(self.classes, config.ui.keys)
        # Listen first, then read: a model published between reading and listening was never
        # heard, and the tab threw away every batch the newer model chose (see _fetched_locked).
        self._unsubscribe = hub.subscribe(self._on_event)
        self._apply_model(self.session.model)
        self._apply_status(self.session.status)
        self.refresh_labels()
        self._refill()

    # ---------------------------------------------------------------- engine events
    def _on_event(self, kind: str, payload: object) -> None:
        """Called from worker threads: hand the change over to the tab's event loop."""
        if self._closed:
            return
        if kind == "labels":
            self.refresh_labels()
        elif kind == "model":
            self.schedule(partial(self._apply_model, payload, refill=True))
        elif kind == "metrics":  # phase 2 of a retrain: the published model's metrics are in
            self.schedule(partial(self._apply_metrics, payload))
        elif kind == "status":
            self.schedule(partial(self._apply_status, payload))
        elif kind == "classes":
            self.schedule(self._apply_classes)
        elif kind == "config":
            self.schedule(partial(self._apply_config, payload))
        elif kind == "reference":
            self.schedule(partial(setattr, self, "reference", payload))

    def _apply_model(self, model, refill: bool = False) -> None:
        if model is None:
            return
        with self._lock:
            self._apply_model_locked(model, refill)

    def _apply_model_locked(self, model, refill: bool) -> None:
        self.param.update(model_version=model.version, model_n_labels=model.n_labels,
                          metrics=dict(model.metrics), history=list(self.session.history))
        self._update_prediction()
        if refill and not self.test_mode:
            self._refill(replace=True)  # the queued batch was chosen by an older model

    def _apply_metrics(self, model) -> None:
        if model is not None and model.version == self.model_version:
            self.param.update(metrics=dict(model.metrics), history=list(self.session.history))

    def _apply_status(self, status) -> None:
        self.param.update(trainer_state=status.state, trainer_message=status.message,
                          trainer_error=status.error or "", progress=float(min(max(status.progress, 0), 1)))

    def _apply_classes(self) -> None:
        self.classes = list(self.session.config.classes)
        self.keymap = KeyMap(self.classes, self.session.config.ui.keys)

    def _apply_config(self, change: dict) -> None:
        if "head" in change:
            self.head_type = change["head"]["type"]
        if "strategy" in change:
            self.strategy_type = change["strategy"]["type"]
            if not self.test_mode:
                self._refill(replace=True)

    def refresh_labels(self) -> None:
        """Re-read label counts and the labelled objects in the worker pool (coalesced).

        A burst of labels makes one re-read, started ``LABELS_DEBOUNCE_S`` after
        the first of them and at most every ``LABELS_INTERVAL_S``: the re-read
        and the updates it causes would otherwise compete with the next click.
        """
        if self._labels_refresh.request():
            self.hub.submit(self._read_labels)

    def _read_labels(self) -> None:
        time.sleep(LABELS_DEBOUNCE_S)
        while True:
            started = time.monotonic()
            try:
                snapshot = self.session.label_snapshot()
            except Exception as exc:  # store closed at shutdown, or a transient error
                log.debug("label refresh failed: %s", exc)
                self._labels_refresh.done()
                return
            # The snapshot is the session's, shared with every tab: read once per revision.
            frame = snapshot.labels[["object_id", "label", "split", "annotator", "source", "row"]].reset_index(
                drop=True)
            self.schedule(partial(self._apply_labels, frame, snapshot.by_row, snapshot.counts,
                                  int(snapshot.revision)))
            if not self._labels_refresh.done():
                return
            time.sleep(max(0.0, LABELS_INTERVAL_S - (time.monotonic() - started)))

    def _apply_labels(self, frame, index: dict, counts, revision: int) -> None:
        self._label_index = index
        self.param.update(labelled=frame, label_counts=counts, labels_revision=revision)

    # ---------------------------------------------------------------- the queue
    def _fetch(self, n: int, test: bool, filters: tuple) -> list[QueryItem]:
        if not test:
            return self.session.query(n, annotator=self._leased_as)
        within = filter_mask(self.session.pool.frame, list(filters)) if filters else None
        label = f"within {' and '.join(map(str, filters))}" if filters else ""
        return self.session.query(n, split="test", annotator=self._leased_as, within=within, within_label=label)

    def _refill(self, replace: bool = False) -> None:
        """Fetch the next batch in the worker pool (unless one is on its way)."""
        if self._closed or (not replace and not self.queue.needs_refill()):
            return
        generation = self.queue.begin_fetch()
        test, filters = self.test_mode, tuple(self.filters) if self.test_within_filters else ()
        n = self.session.config.loop.batch_size
        future = self.hub.submit(self._fetch, n, test, filters)
        future.add_done_callback(lambda f: self.schedule(
            partial(self._fetched, f, generation, "test" if test else "train", replace)))

    def _fetched(self, future, generation: int, split: str, replace: bool) -> None:
        with self._lock:
            self._fetched_locked(future, generation, split, replace)
            self._grid_top_up()

    def _fetched_locked(self, future, generation: int, split: str, replace: bool) -> None:
        try:
            items = future.result()
        except EmptyPoolError as exc:
            self.queue.fetch_failed(generation)
            if self.current is None:
                self._say(str(exc), "warning")
            return
        except AlabelError as exc:
            self.queue.fetch_failed(generation)
            self._say(str(exc), "error")
            return
        except Exception as exc:  # report, keep the tab alive
            log.exception("query failed")
            self.queue.fetch_failed(generation)
            self._say(f"query failed: {type(exc).__name__}: {exc}", "error")
            return
        newest = self.session.model
        if (split == "train" and items and newest is not None and items[0].model_version == newest.version
                and newest.version != self.model_version):
            # The tab is behind the session (its model event is still on its way): take the model
            # now instead of refusing, again and again, the batches it chooses.
            self._apply_model_locked(newest, refill=False)
        stale = (split == "train" and items and self.model_version is not None
                 and items[0].model_version != self.model_version)
        if stale:  # chosen by a model older than the newest one: ask the newest instead
            self.queue.fetch_failed(generation)
            self._release([i.object_id for i in items if i.object_id not in self.queue.known_ids()])
            self._refill(replace=True)
            return
        release = self.queue.offer(items, generation, split=split, replace=replace)
        self._release(release)
        if self.current is None:
            self._show(self.queue.advance())
        else:
            self.queued = len(self.queue.ahead())

    def _advance(self) -> None:
        shown = self.queue.advance()
        if shown is None:  # the prefetch fell behind: ask now, in this thread
            generation = self.queue.begin_fetch()
            test = self.test_mode
            try:
                items = self._fetch(self.session.config.loop.batch_size, test,
                                    tuple(self.filters) if self.test_within_filters else ())
            except AlabelError as exc:
                self.queue.fetch_failed(generation)
                self._show(None)
                self._say(str(exc), "warning" if isinstance(exc, EmptyPoolError) else "error")
                return
            self._release(self.queue.offer(items, generation, split="test" if test else "train"))
            shown = self.queue.advance()
        self._show(shown)
        self._refill()

    def _show(self, shown: Shown | None) -> None:
        self.param.update(
            current=shown, position=self.queue.position, queued=len(self.queue.ahead()),
            focus_row=shown.row if shown is not None else None, focus_source="query",
            **self._prediction_params(shown),
        )

    def _prediction_params(self, shown: Shown | None) -> dict:
        prediction = self.session.prediction(shown.row) if shown is not None else None
        if prediction is None:
            return dict(current_prediction="", current_confidence=None, current_prediction_version=None)
        return dict(current_prediction=prediction.label, current_confidence=prediction.confidence,
                    current_prediction_version=prediction.model_version)

    def _update_prediction(self) -> None:
        if self.current is not None:
            self.param.update(**self._prediction_params(self.current))

    def _release(self, object_ids: list[str]) -> None:
        # A query answer can land after the tab or the hub closed: their close already gave the
        # leases back (or the server is going down), and the worker pool takes no new work.
        if not object_ids or self._closed or self.hub.closed:
            return
        try:
            self.hub.submit(self.session.release, object_ids, self._leased_as)
        except RuntimeError:  # the pool shut down between the check and the submit
            log.debug("hub closed: leases of %s not released by this tab", self._leased_as)

    # ---------------------------------------------------------------- labelling actions
    def focus_object(self) -> str | None:
        """The id of the object the labelling actions apply to (picked by hand, else the query)."""
        if self.focus_source == "selection" and self.focus_row is not None:
            return str(self.session.pool.ids[int(self.focus_row)])
        return self.current.object_id if self.current is not None else None

    def label(self, name: str, *, model_version: int | None = None) -> None:
        """Label the object in focus with class ``name`` and move on.

        The current query moves to the next one; an object picked by hand
        (relabel) is labelled and the focus returns to the query.
        ``model_version``: the model whose prediction this accepts (see :meth:`accept`).
        """
        with self._lock:
            if name not in self.session.classes:
                self._say(f"unknown class {name!r}", "error")
                return
            if self.focus_source == "selection" and self.focus_row is not None:
                self._label_row(self.focus_row, name, split="test" if self.test_mode else "train",
                                model_version=model_version)
                self.focus_query()
                return
            shown = self.current
            if shown is None:
                self._say("nothing to label: no query (waiting for the engine)", "warning")
                return
            try:
                self.session.teach(shown.object_id, name, annotator=self.annotator, split=shown.split,
                                   model_version=model_version)
            except LabelStoreError as exc:
                self._say(str(exc), "error")
                return
            shown.outcome = name
            self._advance()
            self._say(f"{shown.object_id} → {name}" + (" (test set)" if shown.split == "test" else ""))

    def accept(self, shown: dict | None = None) -> None:
        """Label the object in focus with the prediction that is on screen.

        Never a prediction the person did not see: the current query's shown
        prediction (``current_prediction``, which a newer model replaces only
        through a param update the page shows), or, for a key press, the one the
        page showed when the key went down (``shown``: object, prediction,
        version, read from the banner by the browser).
        """
        with self._lock:
            if shown is not None:
                prediction = str(shown.get("prediction") or "")
                version = _int_or_none(shown.get("version"))
            elif self.focus_source == "selection" and self.focus_row is not None:
                seen = self.session.prediction(self.focus_row)
                prediction, version = (seen.label, seen.model_version) if seen else ("", None)
            else:
                prediction, version = self.current_prediction, self.current_prediction_version
            if not prediction:
                self._say("no prediction yet: the first model trains once two classes are labelled",
                          "warning")
                return
            self.label(prediction, model_version=version)

    def skip(self, unsure: bool = False) -> None:
        """Pass on the current object (``unsure`` records that it was hard) and move on."""
        with self._lock:
            shown = self.current
            if shown is None:
                self._say("nothing to skip", "warning")
                return
            self.session.skip(shown.object_id, annotator=self.annotator, unsure=unsure)
            shown.outcome = "unsure" if unsure else "skip"
            self._advance()
            self._say(f"{shown.object_id} {'marked unsure' if unsure else 'skipped'}")

    def undo(self) -> None:
        """Retract this annotator's last label or skip and show that object again."""
        with self._lock:
            event = self.session.undo(annotator=self.annotator)
            if event is None:
                self._say("nothing to undo", "warning")
                return
            self._forget_grid_event(event)
            row = int(self.session.pool.index_of([event.object_id])[0])
            item = QueryItem(object_id=event.object_id, row=row, score=math.nan, strategy="undo",
                             reason="label undone: label it again", model_version=self.model_version)
            shown = self.queue.show_again(Shown(item, split=event.split))
            self._show(shown)
            what = event.label if event.kind == "label" else event.kind
            self._say(f"undid {event.object_id} → {what}")

    def next(self) -> None:
        """Move to the next object without labelling this one."""
        with self._lock:
            if self.focus_source == "selection":
                self.focus_query()
                return
            self._advance()

    def previous(self) -> None:
        """Go back to the previous object (labelling it again relabels it)."""
        with self._lock:
            if self.focus_source == "selection":
                self.focus_query()
                return
            shown = self.queue.back()
            if shown is None:
                self._say("this is the first object of the session", "warning")
                return
            self._show(shown)

    def press(self, key: str, shown: dict | None = None) -> bool:
        """Run the action bound to ``key``; returns whether one was.

        ``shown``: what the page showed when the key went down (``object``,
        ``prediction``, ``version``). A key that records something is refused
        when its object is no longer the one in focus here: the screen was
        behind the server, and the person has not seen the object the key
        would label.
        """
        action = self.keymap.resolve(key)
        if action is None:
            return False
        if shown is not None and action.action in _RECORDING_ACTIONS:
            with self._lock:
                seen, focus = str(shown.get("object") or ""), self.focus_object()
                if seen != (focus or ""):
                    self._say(f"key {key!r} not applied: the page showed {seen or 'nothing'} but the object "
                              f"in focus is now {focus or 'none'}; look and press again", "warning")
                    return True
        if action.action == "label":
            self.label(action.label)
        elif action.action == "accept":
            self.accept(shown)
        elif action.action in ("skip", "unsure"):
            self.skip(unsure=action.action == "unsure")
        elif action.action == "undo":
            self.undo()
        elif action.action == "next":
            self.next()
        elif action.action == "previous":
            self.previous()
        return True

    def _label_row(self, row: int, name: str, split: str = "train", model_version: int | None = None) -> None:
        object_id = str(self.session.pool.ids[int(row)])
        try:
            self.session.teach(object_id, name, annotator=self.annotator, split=split,
                               model_version=model_version)
        except LabelStoreError as exc:
            self._say(str(exc), "error")
            return
        self._say(f"{object_id} labelled {name} (picked by hand)")

    # ---------------------------------------------------------------- selection
    def select(self, rows, source: str = "") -> None:
        """Select pool rows (scatter tap/box/lasso, finder); one row also takes the focus."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        with self._lock:
            self.param.update(selection=rows, selection_source=source, bulk_pending=None)
            if len(rows) == 1:
                self.param.update(focus_row=int(rows[0]), focus_source="selection")
            elif not len(rows) and self.focus_source == "selection":
                self.focus_query()

    def focus(self, row: int) -> None:
        """Show one object in the detail view (labelling it then relabels it)."""
        self.param.update(focus_row=int(row), focus_source="selection")

    def focus_query(self) -> None:
        """Put the current query back in focus."""
        self.param.update(focus_row=self.current.row if self.current is not None else None,
                          focus_source="query")

    def clear_selection(self) -> None:
        self.select([])

    def request_bulk(self, name: str) -> None:
        """Ask to label the whole selection ``name``: it waits for :meth:`confirm_bulk`."""
        if name not in self.session.classes:
            self._say(f"unknown class {name!r}", "error")
            return
        if not len(self.selection):
            self._say("select objects first (lasso or box in the scatter, or the finder)", "warning")
            return
        self.bulk_pending = {"label": name, "n": int(len(self.selection)),
                             "split": "test" if self.test_mode else "train"}

    def confirm_bulk(self) -> int:
        """Label every selected object as requested; returns how many were labelled."""
        with self._lock:
            pending = self.bulk_pending
            if not pending:
                return 0
            rows = np.asarray(self.selection, dtype=np.int64)
            ids = [str(i) for i in self.session.pool.ids[rows]]
            try:
                self.session.teach_many(ids, pending["label"], annotator=self.annotator,
                                        split=pending["split"])
            except LabelStoreError as exc:
                self._say(str(exc), "error")
                return 0
            self.param.update(bulk_pending=None, selection=np.zeros(0, dtype=np.int64), selection_source="")
            if self.focus_source == "selection":
                self.focus_query()
            self._say(f"labelled {len(ids)} objects {pending['label']}")
            return len(ids)

    def cancel_bulk(self) -> None:
        self.bulk_pending = None

    def more_like(self, row: int | None = None, k: int = 20) -> None:
        """Select the ``k`` nearest neighbours (feature space) of ``row`` (default: the focus)."""
        row = self.focus_row if row is None else row
        if row is None:
            self._say("pick an object first", "warning")
            return
        object_id = self.session.pool.ids[int(row)]
        future = self.hub.submit(self.hub.features.nearest, int(row), k)

        def done(f):
            try:
                rows = f.result()
            except Exception as exc:
                self.schedule(partial(self._say, f"neighbours failed: {exc}", "error"))
                return
            self.schedule(partial(self._select_neighbours, rows, object_id))
        future.add_done_callback(done)

    def _select_neighbours(self, rows, object_id) -> None:
        self.param.update(selection=np.asarray(rows, dtype=np.int64),
                          selection_source=f"{len(rows)} nearest to {object_id}", bulk_pending=None)

    def find_id(self, object_id: str) -> bool:
        """Focus the object with this id; False (and a message) when there is none."""
        try:
            row = int(self.session.pool.index_of([str(object_id).strip()])[0])
        except AlabelError as exc:
            self._say(str(exc), "warning")
            return False
        self.select([row], source=f"id {object_id}")
        return True

    def matching_rows(self) -> np.ndarray:
        """Rows matching the filters."""
        return np.flatnonzero(filter_mask(self.session.pool.frame, self.filters))

    # ---------------------------------------------------------------- the grid
    def load_grid(self, size: int, *, source: str | None = None, start: int = 0) -> None:
        """Put a page of up to ``size`` objects on the labelling grid.

        ``source="query"``: the query batch this tab is working through (the
        object in focus and those queued after it), topped up from the
        engine in the worker pool when it holds fewer than ``size``.
        ``source="selection"``: the selected rows from ``start`` on. The page
        stays as it is until the next call, so a new model does not move
        objects under the person's selection.
        """
        source = source or self.grid_source
        with self._lock:
            if source == "selection":
                rows = np.asarray(self.selection, dtype=np.int64)
                start = max(0, min(int(start), max(len(rows) - 1, 0)))
                split = "test" if self.test_mode else "train"
                ids = self.session.pool.ids
                page = [{"row": int(r), "object_id": str(ids[r]), "split": split} for r in rows[start:start + size]]
                self.param.update(grid_source=source, grid_start=start, grid_page=page)
                if not page:
                    self._say("select objects first (lasso or box in the scatter, or the finder)", "warning")
                return
            self._grid_wanted = size
            self.grid_source = "query"
            self._grid_top_up()

    def _grid_top_up(self, final: bool = False) -> None:
        """Fill the query page once the batch holds enough objects (or no more are coming)."""
        wanted = self._grid_wanted
        if not wanted:
            return
        have = self._unanswered()
        if len(have) >= wanted or final:
            self._grid_wanted = 0
            self.param.update(grid_source="query", grid_start=0, grid_page=have[:wanted])
        elif not self.queue.fetching:  # else the fetch in flight calls back here when it lands
            generation = self.queue.begin_fetch()
            test, filters = self.test_mode, tuple(self.filters) if self.test_within_filters else ()
            future = self.hub.submit(self._fetch, wanted - len(have), test, filters)
            future.add_done_callback(lambda f: self.schedule(
                partial(self._grid_fetched, f, generation, "test" if test else "train")))

    def _grid_fetched(self, future, generation: int, split: str) -> None:
        with self._lock:
            self._fetched_locked(future, generation, split, replace=False)
            self._grid_top_up(final=not self.queue.fetching)

    def _unanswered(self) -> list[dict]:
        """The query batch not yet answered: the object in focus, then those queued after it."""
        shown = [self.current, *self.queue.ahead()]
        return [{"row": s.row, "object_id": s.object_id, "split": s.split}
                for s in shown if s is not None and s.outcome is None]

    def label_grid(self, object_ids, name: str) -> int:
        """Label the grid's objects ``object_ids`` (all on its page) ``name``; returns how many.

        The ids are those the page showed selected: ids no longer on the page
        (it changed meanwhile) are refused whole, never guessed. One grid
        action is one store transaction per split, undone as a whole by
        :meth:`undo_grid`.
        """
        object_ids = list(dict.fromkeys(str(o) for o in object_ids))
        with self._lock:
            if name not in self.session.classes:
                self._say(f"unknown class {name!r}", "error")
                return 0
            if not object_ids:
                self._say("select objects on the grid first (click, shift-click, or the keyboard)", "warning")
                return 0
            page = {entry["object_id"]: entry for entry in self.grid_page}
            missing = [o for o in object_ids if o not in page]
            if missing:
                self._say(f"not labelled: {missing[0]} is no longer on the grid page; look and choose again",
                          "warning")
                return 0
            splits: dict[str, list[str]] = {}
            for object_id in object_ids:
                splits.setdefault(page[object_id]["split"], []).append(object_id)
            events = []
            try:
                for split, ids in splits.items():
                    events += self.session.teach_many(ids, name, annotator=self.annotator, split=split)
            except LabelStoreError as exc:
                self._say(str(exc), "error")
                if not events:
                    return 0
            done = [e.object_id for e in events]
            self._grid_actions.append(_GridAction(list(events), self.queue.settle(done, name)))
            self.param.update(grid_labels={**self.grid_labels, **{o: name for o in done}},
                              grid_undo_depth=len(self._grid_actions))
            self._skip_answered()
            self._refill()
            self._say(f"labelled {len(done)} objects {name} on the grid")
            return len(done)

    def undo_grid(self) -> int:
        """Take back the last grid action whole; its objects wait for a label again. Returns how many."""
        with self._lock:
            if not self._grid_actions:
                self._say("nothing to undo on the grid", "warning")
                return 0
            action = self._grid_actions.pop()
            try:
                self.session.retract(action.events, annotator=self.annotator)
            except LabelStoreError as exc:
                self._say(str(exc), "error")
                self.grid_undo_depth = len(self._grid_actions)
                return 0
            self.queue.unsettle(action.settled)
            undone = [e.object_id for e in action.events]
            labels = {o: lab for o, lab in self.grid_labels.items() if o not in set(undone)}
            on_page = {entry["object_id"] for entry in self.grid_page}
            update = dict(grid_labels=labels, grid_undo_depth=len(self._grid_actions))
            if not set(undone) <= on_page:  # the page moved on: show the undone objects again
                pool = self.session.pool
                rows = pool.index_of(undone)
                update["grid_page"] = [{"row": int(r), "object_id": e.object_id, "split": e.split}
                                       for r, e in zip(rows, action.events)]
            self.param.update(**update)
            if self.current is None:
                self._show(self.queue.advance())
            self._say(f"undid {len(undone)} grid labels")
            return len(undone)

    def _skip_answered(self) -> None:
        """Move past the object in focus when the grid answered it."""
        for _ in range(len(self.queue.trail) + 1):
            shown = self.current
            if shown is None or shown.outcome is None:
                return
            self._advance()

    def _forget_grid_event(self, event) -> None:
        """A single undo took back one of a grid action's labels: the grid's undo must not retract it again."""
        for action in self._grid_actions:
            action.events = [e for e in action.events if e.event_id != event.event_id]
        self._grid_actions = [a for a in self._grid_actions if a.events]
        self.grid_labels = {o: lab for o, lab in self.grid_labels.items() if o != event.object_id}
        self.grid_undo_depth = len(self._grid_actions)

    # ---------------------------------------------------------------- classes, modes
    def add_class(self, name: str, color: str | None = None) -> bool:
        """Add a class for every tab of this session (kept in exported configs)."""
        name = str(name or "").strip()
        if not name:
            self._say("type a class name", "warning")
            return False
        try:
            self.session.add_class(name, color=color or None)
        except AlabelError as exc:
            self._say(str(exc), "error")
            return False
        self._apply_classes()
        self._say(f"added class {name!r}")
        return True

    @param.depends("test_mode", "test_within_filters", watch=True)
    def _mode_changed(self) -> None:
        with self._lock:
            released = self.queue.reset()
            if self.current is not None and self.current.outcome is None:
                released.append(self.current.object_id)  # it belongs to the other mode
            self._release(released)
            self._advance()  # the first object of the new mode, fetched now (a rare action)
            self._say("test-set mode: random objects, labelled into the held-out test split"
                      if self.test_mode else "training mode: the strategy chooses the objects")

    @param.depends("annotator", watch=True)
    def _annotator_changed(self) -> None:
        with self._lock:
            old = self._leased_as
            if self.annotator_locked or not self.annotator.strip():
                self.annotator = old
                return
            released = self.queue.reset()
            if self.current is not None and self.current.outcome is None:
                released.append(self.current.object_id)
            if released:
                self.hub.submit(self.session.release, released, old)
            self._leased_as = self.annotator
            self.queue = QueryQueue(low_water=3)
            self._show(None)
            self._refill()

    def set_head(self, head_type: str) -> None:
        try:
            self.hub.set_head(head_type)
        except AlabelError as exc:
            self._say(str(exc), "error")
            self.head_type = self.session.config.head["type"]
            return
        self._say(f"head {head_type}: retraining")

    def set_strategy(self, strategy_type: str) -> None:
        try:
            self.hub.set_strategy(strategy_type)
        except AlabelError as exc:
            self._say(str(exc), "error")
            self.strategy_type = self.session.config.strategy["type"]
            return
        self._say(f"strategy {strategy_type}: the next batch comes from it")

    # ---------------------------------------------------------------- helpers
    def lookup_label(self, row: int) -> dict | None:
        """The current label of a pool row (label, split, annotator, source), or None."""
        return self._label_index.get(int(row))

    def _say(self, text: str, level: str = "info") -> None:
        self.param.update(message=text, message_level=level)

    def close(self) -> None:
        """The tab closed: stop listening and give back its leases."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        leased = self.queue.outstanding_ids()
        if leased and not self.hub.closed:
            try:
                self.session.release(leased, self._leased_as)
            except AlabelError:
                log.debug("could not release leases of %s", self._leased_as)


@dataclass
class _GridAction:
    """One grid label action: the events it recorded and the queued objects it answered."""

    events: list
    settled: list


class _Coalescer:
    """At most one refresh running; a request during it makes it run once more."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running = False
        self._again = False

    def request(self) -> bool:
        """True when the caller should start a refresh (none is running)."""
        with self._lock:
            if self._running:
                self._again = True
                return False
            self._running = True
            return True

    def done(self) -> bool:
        """True when the refresh should run again (requests arrived meanwhile)."""
        with self._lock:
            if self._again:
                self._again = False
                return True
            self._running = False
            return False


def _default_axis(pool, i: int) -> str:
    names = plottable_columns(pool)
    return names[i] if len(names) > i else EMBEDDING_AXES[i]
