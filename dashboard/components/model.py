"""The model panel: version, background-training status with progress, newest metrics."""
from __future__ import annotations

import html

import panel as pn

from ..redact import redact_paths
from .base import Component


class ModelPanel(Component):
    """Which model answers the queries, what the trainer is doing, how good the model is."""

    type_name = "model"
    title = "Model"

    def __init__(self, state, **options):
        super().__init__(state, **options)
        self.version = pn.pane.HTML("", css_classes=["model-version-pane"])
        self.status = pn.pane.HTML("", css_classes=["model-status"])
        self.progress = pn.indicators.Progress(value=0, max=100, width=220, bar_color="info", active=False,
                                               css_classes=["model-progress"])
        self.scores = pn.pane.HTML("", css_classes=["model-metrics"], sizing_mode="stretch_width")
        self.retrain = pn.widgets.Button(label="Retrain now", css_classes=["model-retrain"], width=110)
        self.retrain.on_click(self._retrain)
        self.cancel = pn.widgets.Button(label="Cancel retrain", css_classes=["model-cancel"], width=120)
        self.cancel.on_click(self._cancel)
        self.watch(self._on_model, "model_version", "metrics", "head_type")
        self.watch(self._on_status, "trainer_state", "trainer_message", "progress", "trainer_error")
        self._on_model()
        self._on_status()

    def __panel__(self):
        return self.card(self.version, self.status, self.progress, pn.Row(self.retrain, self.cancel), self.scores)

    def _retrain(self, _) -> None:
        self.state.session.retrain_in_background()

    def _cancel(self, _) -> None:
        if not self.state.session.cancel_training():
            self.state._say("nothing to cancel: no retrain is running", "warning")

    def _on_model(self, *_) -> None:
        state = self.state
        version = state.model_version
        shown = "none yet" if version is None else f"v{version}"
        data_version = "" if version is None else version
        data_labels = "" if version is None else state.model_n_labels
        self.version.object = (f"<div>Model <b class='model-version' data-version='{data_version}' "
                               f"data-labels='{data_labels}'>"
                               f"{shown}</b> · head {html.escape(state.head_type)}"
                               + (f" · {state.model_n_labels} labels" if version is not None else "") + "</div>")
        self.scores.object = metrics_html(state.metrics)

    def _on_status(self, *_) -> None:
        state = self.state
        busy = state.trainer_state in ("waiting", "training", "evaluating")
        # Empty when idle: a full bar reads as "something finished just now" or "still busy".
        self.progress.value = int(round(state.progress * 100)) if busy else 0
        self.progress.active = busy and state.progress <= 0
        self.progress.bar_color = "danger" if state.trainer_state == "failed" else "info"
        folder = state.hub.config_path.parent  # a failed save quotes the models folder's absolute path
        error = f"<br><span style='color:#b00020'>{html.escape(redact_paths(state.trainer_error, folder))}</span>" \
            if state.trainer_error and state.trainer_state == "failed" else ""
        message = redact_paths(state.trainer_message, folder)
        self.status.object = (f"<div class='trainer' data-state='{state.trainer_state}'>trainer: "
                              f"<b>{html.escape(state.trainer_state)}</b> {html.escape(message)}"
                              f"{error}</div>")


def headline(metrics: dict) -> dict | None:
    """The one accuracy to read first: the session's chosen estimate (test, else audit, else out-of-fold).

    ``metrics["estimate"]`` is the engine's choice (core/evaluation/estimates.py); a
    model whose phase-2 metrics have not arrived has none yet, and the held-out
    or out-of-fold accuracy stands in.
    """
    estimate = metrics.get("estimate") or {}
    if estimate.get("accuracy") is not None:
        return estimate
    n = metrics.get("n_evaluated") or 0
    if not n or metrics.get("accuracy") is None:
        return None
    evaluation = metrics.get("evaluation", "?")
    low, high = (metrics.get("accuracy_interval") or [float("nan")] * 2)[:2]
    return {"accuracy": metrics["accuracy"], "interval": [low, high], "n": n, "source": evaluation,
            "biased": evaluation == "out-of-fold", "method": _WHERE.get(evaluation, "{evaluation} (n={n})")
            .format(n=n, evaluation=evaluation)}


_WHERE = {"test": "held-out test labels (n={n})",
          "out-of-fold": "out-of-fold on {n} labels (biased when a strategy chose them)",
          "oracle": "oracle set (n={n})"}


def headline_html(metrics: dict) -> str:
    """``Accuracy 0.912 (95 % 0.88–0.94)`` and, under it, how it was measured."""
    best = headline(metrics)
    if best is None:
        return ""
    low, high = best["interval"]
    label = "estimated accuracy" if best.get("source") == "audit" else "accuracy"
    method = str(best.get("method", ""))
    caution = " <span class='headline-biased'>(optimistic: the strategy chose these labels)</span>" \
        if best.get("biased") and "biased" not in method else ""
    return (f"<div class='accuracy-headline' data-source='{html.escape(str(best.get('source', '')))}' "
            f"data-accuracy='{best['accuracy']:.6f}' data-n='{int(best.get('n') or 0)}' "
            f"data-biased='{str(bool(best.get('biased'))).lower()}'>"
            f"{label.capitalize()} <b style='font-size:1.3em'>{best['accuracy']:.3f}</b> "
            f"<small>95 % [{low:.3f}, {high:.3f}]</small><br>"
            f"<small>measured on {html.escape(method)}{caution}</small></div>")


def metrics_html(metrics: dict) -> str:
    """The newest model's headline accuracy, saying how it was measured, and the other scores folded away."""
    if not metrics:
        return "<i>no metrics yet</i>"
    evaluation = metrics.get("evaluation", "?")
    n = metrics.get("n_evaluated", 0)
    if not n:
        note = "evaluating…" if metrics.get("pending") else metrics.get("note", "not evaluated yet")
        return f"<i>{html.escape(str(note))}</i>"
    low, high = (metrics.get("accuracy_interval") or [float("nan")] * 2)[:2]
    where = _WHERE.get(evaluation, "{evaluation} (n={n})").format(n=n, evaluation=evaluation)
    rows = (f"<tr><th align='left'>accuracy</th><td>{metrics['accuracy']:.3f} "
            f"<small>[{low:.3f}, {high:.3f}]</small></td></tr>"
            f"<tr><th align='left'>balanced accuracy</th>"
            f"<td>{metrics.get('balanced_accuracy', float('nan')):.3f}</td></tr>"
            f"<tr><th align='left'>macro F1</th><td>{metrics.get('macro_f1', float('nan')):.3f}</td></tr>"
            f"<tr><th align='left'>scored on</th><td>{html.escape(where)}</td></tr>")
    estimate = metrics.get("estimate") or {}
    if estimate.get("accuracy") is not None and estimate.get("source") == "audit":
        # Audit labels are a uniform sample: their accuracy is the number to trust, the
        # out-of-fold one below is measured on the rows the strategy found hard.
        e_low, e_high = estimate["interval"]
        rows = (f"<tr class='estimate-row' data-source='audit' data-n='{int(estimate['n'])}'>"
                f"<th align='left'>estimated accuracy</th><td>{estimate['accuracy']:.3f} "
                f"<small>95 % [{e_low:.3f}, {e_high:.3f}]; {html.escape(str(estimate['method']))}</small>"
                f"</td></tr>") + rows
    # One number to trust on top; the others (the model's own evaluation, per-class
    # averages) are one click away instead of competing with it.
    return (headline_html(metrics)
            + f"<details class='metrics-details'><summary>all scores</summary>"
            f"<table class='metrics-table' data-evaluation='{html.escape(evaluation)}' "
            f"data-accuracy='{metrics['accuracy']:.6f}'>{rows}</table></details>" + head_choice_html(metrics)
            + self_training_html(metrics))


def self_training_html(metrics: dict) -> str:
    """Whether pseudo-labels are in use and the check's verdict ('' when the loop writes none)."""
    entry = metrics.get("self_training")
    if not entry:
        return ""
    return (f"<div class='self-training' data-on='{str(bool(entry.get('on'))).lower()}'>"
            f"<small>self-training: {html.escape(str(entry.get('note', '')))}</small></div>")


def head_choice_html(metrics: dict) -> str:
    """Which candidate the ``auto`` head chose and the out-of-fold evidence ('' for other heads)."""
    choice = metrics.get("head_choice")
    if not choice or not choice.get("chosen"):
        return ""
    scores = choice.get("scores") or {}
    criterion = choice.get("criterion", "log_loss")
    # Candidates too big for the labels so far have no scores: a row of blanks says nothing, a name does.
    scored = {name: s for name, s in scores.items() if s is not None}
    waiting = [name for name, s in scores.items() if s is None and name != choice["chosen"]]
    cells = "".join(
        f"<tr{' class=chosen' if name == choice['chosen'] else ''}><td>{html.escape(name)}</td>"
        f"<td>{format(s.get(criterion, float('nan')), '.3f')}</td>"
        f"<td>{format(s.get('accuracy', float('nan')), '.3f')}</td></tr>"
        for name, s in scored.items())
    later = (f"<br><small class='head-waiting'>compared once there are enough labels: "
             f"{html.escape(', '.join(waiting))}</small>") if waiting else ""
    return (f"<div class='head-choice' data-chosen='{html.escape(str(choice['chosen']))}' "
            f"data-labels='{int(choice.get('n_selected', 0))}' "
            f"data-few-labels='{str(bool(choice.get('few_labels'))).lower()}'>"
            f"auto head: <b>{html.escape(str(choice['chosen']))}</b>"
            f"<br><small>{html.escape(str(choice.get('note', '')))}</small>"
            + (f"<br><small class='head-choice-caution'><b>caution:</b> {html.escape(str(choice['caution']))}"
               "</small>" if choice.get("caution") else "")
            + (f"<table><tr><th>candidate</th><th>{html.escape(criterion.replace('_', '-'))}</th>"
               f"<th>accuracy</th></tr>{cells}</table>" if cells else "")
            + later
            + "<div><small>out of fold on the labels; set head.type to override</small></div></div>")
