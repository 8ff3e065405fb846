"""Accuracy against the ground truth, and the random-sampling reference curve.

When the data carry a ground-truth column (a catalogue's classes, the oracle
of ``alabel simulate``), the metrics panel can show what the labeller cannot
measure alone: how the session's models do on objects nobody labelled, and how
the same head would do had the labels been drawn at random. Both are scored on
one fixed, seeded sample of objects with ground truth (the *evaluation
sample*); the reference trains the session's head on growing random prefixes
of the other objects, labelled by the ground truth, in the hub's worker pool.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np

log = logging.getLogger(__name__)

#: Label counts the reference curve is computed at (as far as the session has gone).
REFERENCE_GRID = (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000)


class TruthTracker:
    """Scores model versions and a random reference against the ground truth.

    Parameters
    ----------
    session
        The engine session (its pool has a ground-truth column).
    executor
        Where scoring and reference fits run (never the event loop).
    emit
        Called as ``emit("reference", snapshot)`` when a curve grew.
    eval_rows
        Size of the evaluation sample.
    """

    def __init__(self, session, executor: Executor, emit: Callable[[str, object], None], *,
                 eval_rows: int = 20_000):
        self.session = session
        self.executor = executor
        self.emit = emit
        truth = session.pool.ground_truth
        known = np.flatnonzero(np.isin(truth.astype(str), np.asarray(session.classes, dtype=str))
                               & (truth != None))  # noqa: E711 (elementwise)
        rng = np.random.default_rng(session.config.seed)
        order = rng.permutation(known)
        self.eval_rows = np.sort(order[:min(eval_rows, len(order) // 2)])
        #: Rows the random reference draws its labels from, in draw order.
        self.draw_order = order[len(self.eval_rows):]
        self.truth = truth
        self.column = session.config.data.ground_truth
        self._lock = threading.Lock()
        self._busy = False
        self.session_points: list[dict] = []
        self.random_points: list[dict] = []
        self._reference_head: dict | None = None

    @classmethod
    def for_session(cls, session, executor: Executor, emit) -> TruthTracker | None:
        """A tracker when the pool has a ground-truth column with two classes, else None."""
        truth = session.pool.ground_truth
        if truth is None or len({t for t in truth if t is not None}) < 2:
            return None
        return cls(session, executor, emit)

    @property
    def description(self) -> str:
        return (f"ground truth (column {self.column!r}) of {len(self.eval_rows):,} random objects "
                "nobody labelled")

    def snapshot(self) -> dict:
        with self._lock:
            return {"session": list(self.session_points), "random": list(self.random_points),
                    "evaluation": self.description}

    # -- the session's models ---------------------------------------------------------
    def model_published(self, model) -> None:
        """Score a new model version in the background (called from the trainer's thread)."""
        self.executor.submit(self._score_model, model)

    def _score_model(self, model) -> None:
        try:
            if model.proba is None:
                return
            labelled = self.session.labels(split=None, sources=None)["row"].to_numpy()
            rows = np.setdiff1d(self.eval_rows, labelled, assume_unique=False)
            if not len(rows):
                return
            predicted = np.asarray(model.classes, dtype=object)[model.proba[rows].argmax(axis=1)]
            accuracy = float(np.mean(predicted.astype(str) == self.truth[rows].astype(str)))
            with self._lock:
                self.session_points.append({"n_labels": int(model.n_labels), "version": int(model.version),
                                            "accuracy": accuracy, "n_evaluated": int(len(rows))})
                self.session_points.sort(key=lambda p: p["version"])
            self._extend_reference(int(model.n_labels))
            self.emit("reference", self.snapshot())
        except Exception:  # a reference is a nicety: never break the session over it
            log.exception("scoring model version %s against the ground truth failed",
                          getattr(model, "version", "?"))

    # -- the random reference ------------------------------------------------------------
    def _extend_reference(self, n_labels: int) -> None:
        from alabel.core.heads import build_head

        head_spec = dict(self.session.config.head)
        with self._lock:
            if self._busy:
                return
            self._busy = True
            if head_spec != self._reference_head:  # another head: the old curve does not compare
                self._reference_head = head_spec
                self.random_points = []
            done = {p["n_labels"] for p in self.random_points}
        try:
            wanted = [k for k in REFERENCE_GRID if k <= len(self.draw_order)]
            reach = next((k for k in wanted if k >= n_labels), wanted[-1] if wanted else 0)
            for k in wanted:
                if k > reach or k in done:
                    continue
                rows = self.draw_order[:k]
                head = build_head(head_spec, classes=self.session.classes,
                                  random_state=self.session.config.seed, where="reference curve")
                head.fit(self.session.pool.X[rows], self.truth[rows].astype(str))
                predicted = head.predict(self.session.pool.X[self.eval_rows]).astype(str)
                accuracy = float(np.mean(predicted == self.truth[self.eval_rows].astype(str)))
                with self._lock:
                    if self._reference_head != head_spec:
                        return
                    self.random_points.append({"n_labels": k, "accuracy": accuracy})
                    self.random_points.sort(key=lambda p: p["n_labels"])
        finally:
            with self._lock:
                self._busy = False
