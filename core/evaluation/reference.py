"""Accuracy against the ground truth, and the random-sampling reference curve.

When the data carry a ground-truth column (a catalogue's classes, the oracle
of ``alabel simulate``), the metrics panel can show what the labeller cannot
measure alone: how the session's models do on objects nobody labelled, and how
the same head would do had the labels been drawn at random. Both are scored on
one fixed, seeded sample of objects with ground truth (the *evaluation
sample*); the reference trains the session's head on growing random prefixes
of the other objects, labelled by the ground truth.

The reference fits run in a process of their own (a spawned single-worker
pool, one BLAS/OpenMP thread, lowest CPU priority), one grid point at a time and only after the
labels pause: a fit in the server's interpreter (HistGradientBoosting's
grower holds the GIL) was the largest share of a slow label click (issue 12).
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np

log = logging.getLogger(__name__)

#: Label counts the reference curve is computed at (as far as the session has gone).
REFERENCE_GRID = (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000)


def fit_reference_point(head_spec, classes: list[str], seed: int, X_train: np.ndarray, y_train: np.ndarray,
                        X_eval: np.ndarray) -> np.ndarray:
    """The head fitted on one random prefix: its predictions on the evaluation sample (as text).

    Module-level so that the reference process can run it.
    """
    from alabel.core.heads import build_head

    head = build_head(head_spec, classes=classes, random_state=seed, where="reference curve")
    head.fit(X_train, y_train)
    return np.asarray(head.predict(X_eval)).astype(str)


def _reference_worker_init() -> None:
    """Lowest CPU priority, one BLAS/OpenMP thread, exit with the server.

    Out of the server's interpreter a fit no longer holds its GIL, but on a
    small machine it still takes a core from the clicks and the trainer
    (profile of a 1M-row browser run: as many samples as the retrains): a
    nicety runs on what they leave.
    """
    from alabel.core.training.retrain import worker_initializer

    os.nice(19 - os.nice(0))
    worker_initializer(1)


def reference_process() -> cf.ProcessPoolExecutor:
    """One spawned worker at the lowest priority (a nicety must not crowd out the clicks or the trainer)."""
    # spawn, not fork: forking a process that runs threads (Tornado, BLAS) can deadlock.
    return cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_reference_worker_init)


class TruthTracker:
    """Scores model versions and a random reference against the ground truth.

    Parameters
    ----------
    session
        The engine session (its pool has a ground-truth column).
    executor
        Where scoring runs and the reference waits for its fits (never the event loop).
    emit
        Called as ``emit("reference", snapshot)`` when a curve grew.
    eval_rows
        Size of the evaluation sample.
    fits
        Where the reference fits run; a process of their own by default
        (:func:`reference_process`, started on the first fit).
    pause_s
        How long labels must pause before the next reference fit starts: while
        a person labels, the CPU goes to the trainer and the clicks.
    """

    def __init__(self, session, executor: Executor, emit: Callable[[str, object], None], *,
                 eval_rows: int = 20_000, fits: Executor | None = None, pause_s: float = 1.0):
        self.session = session
        self.executor = executor
        self.emit = emit
        self.pause_s = pause_s
        self._fits = fits
        self._owns_fits = fits is None
        self._quiet = threading.Condition()
        self._last_label = float("-inf")
        self._closed = False
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
        self._reach_labels = 0  # the most labels a published model had: how far the reference goes

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

    # -- pauses and lifetime ------------------------------------------------------------
    def labels_arrived(self) -> None:
        """A label was recorded: the next reference fit waits for a pause of ``pause_s``."""
        with self._quiet:
            self._last_label = time.monotonic()

    def _wait_for_pause(self) -> bool:
        """Block until no label arrived for ``pause_s``; False when the tracker closed meanwhile."""
        with self._quiet:
            while not self._closed:
                remaining = self._last_label + self.pause_s - time.monotonic()
                if remaining <= 0:
                    return True
                self._quiet.wait(remaining)
            return False

    def _fit_executor(self) -> Executor | None:
        """Where the next fit runs (the reference process starts here); None once closed."""
        with self._quiet:
            if self._fits is None and not self._closed:
                self._fits = reference_process()
            return self._fits

    def close(self) -> None:
        """Stop waiting and drop the reference process (a fit in flight is abandoned)."""
        with self._quiet:
            self._closed = True
            self._quiet.notify_all()
            fits, self._fits = self._fits, None
        if fits is not None and self._owns_fits:
            fits.shutdown(wait=False, cancel_futures=True)

    # -- the random reference ------------------------------------------------------------
    def _extend_reference(self, n_labels: int) -> None:
        """Fit the grid points up to the one at or beyond ``n_labels`` (one caller at a time).

        A call while another extends only raises how far that one goes: fits wait
        for pauses in the labels, so later models must not be dropped meanwhile.
        """
        with self._lock:
            self._reach_labels = max(self._reach_labels, n_labels)
            if self._busy:
                return
            self._busy = True
        try:
            while True:
                with self._lock:
                    head_spec = dict(self.session.config.head)
                    if head_spec != self._reference_head:  # another head: the old curve does not compare
                        self._reference_head = head_spec
                        self.random_points = []
                    k = self._next_point()
                    if k is None:  # done: free the extension under the lock a later call checks
                        self._busy = False
                        return
                fits = self._fit_executor() if self._wait_for_pause() else None
                if fits is None:
                    return
                rows = self.draw_order[:k]
                predicted = fits.submit(
                    fit_reference_point, head_spec, list(self.session.classes), self.session.config.seed,
                    self.session.pool.X[rows], self.truth[rows].astype(str),
                    self.session.pool.X[self.eval_rows]).result()
                accuracy = float(np.mean(predicted == self.truth[self.eval_rows].astype(str)))
                with self._lock:
                    if dict(self.session.config.head) != head_spec:
                        continue  # the head changed during the fit: start the new head's curve
                    self.random_points.append({"n_labels": k, "accuracy": accuracy})
                    self.random_points.sort(key=lambda p: p["n_labels"])
                self.emit("reference", self.snapshot())
        finally:
            with self._lock:
                self._busy = False

    def _next_point(self) -> int | None:
        """The smallest grid point not fitted yet within reach of the session's labels (lock held)."""
        wanted = [k for k in REFERENCE_GRID if k <= len(self.draw_order)]
        reach = next((k for k in wanted if k >= self._reach_labels), wanted[-1] if wanted else 0)
        done = {p["n_labels"] for p in self.random_points}
        return next((k for k in wanted if k <= reach and k not in done), None)
