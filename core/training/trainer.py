"""The background trainer: labelling never waits for training.

One trainer serves one label store. ``request()`` returns at once; a worker
thread wakes up, waits ``coalesce_s`` so a burst of labels becomes one
retrain, snapshots the labels, and runs :func:`core.training.fit_and_score`
then :func:`core.training.evaluate_fitted` either in that thread (``backend="thread"``) or in a separate process
(``backend="process"``: a crash or out-of-memory there cannot take the server
down, and cancelling kills it). Labels that arrive during a retrain trigger
exactly one more retrain afterwards. The fitted model is published as soon as
it has scored the pool; its metrics follow when the evaluation (often k fits
for an out-of-fold estimate) is done. The evaluation waits for a pause in the
labels (``evaluation_delay_s``) and stops within a fit step when a label
arrives (:func:`core.training.retrain.fit_cancellable`): a label never waits
for the evaluation of a model it has already made worthless. Results and status changes are
published to listeners; the dashboard turns them into param updates.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace

from .retrain import (
    TrainingCancelled,
    TrainingJob,
    TrainingResult,
    evaluate_fitted,
    fit_and_score,
    worker_initializer,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainerStatus:
    """What the trainer is doing, for progress bars and the CLI."""

    state: str = "idle"  # idle | waiting | training | evaluating | failed | cancelled | stopped
    progress: float = 0.0
    message: str = ""
    version: int | None = None  # version being trained (or last trained)
    error: str = ""


Listener = Callable[[str, object], None]


class BackgroundTrainer:
    """Coalescing, cancellable retrains in a worker thread or process.

    Parameters
    ----------
    make_job
        Called in the worker thread to snapshot the current labels into a
        :class:`TrainingJob`; returns None when there is nothing to train on.
    on_result
        Called in the worker thread with each fitted :class:`TrainingResult`
        (metrics still pending) before listeners hear of it: the session
        publishes the model there.
    on_metrics
        Called with the same result once its ``metrics`` are filled in.
    backend
        ``"thread"`` or ``"process"``.
    coalesce_s
        How long to wait after the first request for more labels to arrive.
    evaluation_delay_s
        How long labels must pause before a published model is evaluated:
        while labels keep arriving each would make the evaluation worthless,
        so the trainer retrains instead (metrics stay pending meanwhile).
    """

    def __init__(self, make_job: Callable[[], TrainingJob | None],
                 on_result: Callable[[TrainingResult], None],
                 on_metrics: Callable[[TrainingResult], None] | None = None, *,
                 backend: str = "thread", coalesce_s: float = 0.1, evaluation_delay_s: float = 1.0,
                 name: str = "alabel-trainer"):
        self._make_job = make_job
        self._on_result = on_result
        self._on_metrics = on_metrics or (lambda result: None)
        self.backend = backend
        self.coalesce_s = coalesce_s
        self.evaluation_delay_s = evaluation_delay_s
        self._cond = threading.Condition()
        self._requested = 0  # requests received
        self._served = 0  # requests covered by a started retrain
        self._completed = 0  # requests covered by a finished (or failed) retrain
        self._stop = False
        self._cancel = threading.Event()
        self._stop_evaluation = threading.Event()  # set by cancel() and by new labels
        self._listeners: list[Listener] = []
        self._status = TrainerStatus()
        self._executor: cf.ProcessPoolExecutor | None = None
        self._remote_stop = None  # the worker process's view of _stop_evaluation
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- public API ------------------------------------------------------------
    @property
    def status(self) -> TrainerStatus:
        return self._status

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(kind, payload)`` on ``"status"`` and ``"result"`` events.

        Listeners run in the trainer's thread: they must hand work over to
        their own event loop and return quickly. Returns an unsubscribe function.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def request(self) -> int:
        """Ask for a retrain that includes every label recorded so far; returns its ticket."""
        with self._cond:
            self._requested += 1
            ticket = self._requested
            self._cond.notify_all()
        # New labels make the evaluation in progress (if any) worthless: stop it and retrain.
        self._stop_evaluation.set()
        return ticket

    def cancel(self) -> None:
        """Abandon the retrain in progress (the next request starts a new one)."""
        self._cancel.set()
        self._stop_evaluation.set()
        if self.backend == "process":
            self._kill_worker_process()

    def wait(self, ticket: int | None = None, timeout: float | None = None) -> bool:
        """Block until the retrain covering ``ticket`` (default: all requests) has finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._requested if ticket is None else ticket
            while self._completed < target and not self._stop:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._completed >= target

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._completed < self._requested

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker (cancelling a retrain in progress)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self.cancel()
        self._thread.join(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._set_status(state="stopped", message="trainer stopped")

    # -- worker ------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while self._served >= self._requested and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
            self._set_status(state="waiting", progress=0.0, message="collecting labels")
            time.sleep(self.coalesce_s)  # let a burst of labels become one retrain
            with self._cond:
                covered = self._requested
                self._served = covered
            self._cancel.clear()
            self._train_once()
            with self._cond:
                self._completed = max(self._completed, covered)
                self._cond.notify_all()

    def _train_once(self) -> None:
        try:
            job = self._make_job()
        except Exception as exc:  # a bad snapshot must not kill the worker thread
            log.exception("could not prepare a retrain")
            self._set_status(state="failed", message="could not prepare a retrain", error=str(exc))
            return
        if job is None:
            self._set_status(state="idle", progress=0.0, message="waiting for labels of two classes")
            return
        self._set_status(state="training", progress=0.0, version=job.version,
                         message=f"training model version {job.version}", error="")
        try:
            result = self._execute(fit_and_score, job)
            if self._cancel.is_set():
                raise TrainingCancelled(f"retrain of version {job.version} cancelled")
            self._on_result(result)
            self._emit("result", result)
            self._stop_evaluation.clear()  # before the check: a label from now on stops the evaluation
            if not self._labels_pause():
                # Labels arrived while fitting: retrain at once and evaluate the newer model
                # instead (during a burst only the newest model's metrics are worth k fits).
                result.metrics = {**result.metrics, "pending": False,
                                  "note": "not evaluated: newer labels arrived first"}
                self._emit("superseded", result)
                self._set_status(state="waiting", version=result.version,
                                 message=f"model version {result.version} in use; newer labels waiting")
                return
            self._set_status(state="evaluating", progress=0.9, version=result.version,
                             message=f"model version {result.version} in use; evaluating it")
            try:
                metrics = self._execute(evaluate_fitted, job, result.head)
            except TrainingCancelled:
                if self._cancel.is_set():
                    raise
                self._emit("superseded", result)  # labels arrived mid-evaluation: retrain now
                self._set_status(state="waiting", version=result.version,
                                 message=f"model version {result.version} in use; newer labels waiting")
                return
            result.metrics = {**result.metrics, **metrics}
            result.metrics.pop("pending", None)
        except TrainingCancelled as exc:
            self._set_status(state="cancelled", message=str(exc))
            return
        except Exception as exc:  # report, keep serving: the last good model stays in use
            log.error("retrain of version %s failed:\n%s", job.version, traceback.format_exc())
            self._set_status(state="failed", message=f"model version {job.version} failed",
                             error=f"{type(exc).__name__}: {exc}")
            return
        self._on_metrics(result)
        self._emit("metrics", result)
        self._set_status(state="idle", progress=1.0, version=result.version,
                         message=f"model version {result.version} ready")

    def _labels_pause(self) -> bool:
        """Wait up to ``evaluation_delay_s`` for a pause in the labels: False as soon as one arrives.

        Labels that arrived during the fit count too (the model is superseded already).
        """
        deadline = time.monotonic() + self.evaluation_delay_s
        with self._cond:
            while self._requested <= self._served and not self._stop:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                self._cond.wait(remaining)
            return False

    def _execute(self, phase, job: TrainingJob, *args):
        if self.backend == "thread":
            if phase is fit_and_score:
                return phase(job, *args, progress=self._progress, cancel=self._cancel)
            return phase(job, *args, cancel=self._stop_evaluation)
        worker = self._worker()
        evaluating = phase is evaluate_fitted
        if evaluating:
            self._remote_stop.clear()
        future = worker.submit(phase, job, *args)
        while True:
            try:
                return future.result(timeout=0.05)
            except cf.TimeoutError:
                if self._cancel.is_set():
                    raise TrainingCancelled(f"retrain of model version {job.version} cancelled") from None
                if evaluating and self._stop_evaluation.is_set():
                    self._remote_stop.set()  # the worker stops within a fit step and raises TrainingCancelled
            except cf.process.BrokenProcessPool:
                self._executor = None
                if self._cancel.is_set():
                    raise TrainingCancelled(f"retrain of model version {job.version} cancelled") from None
                raise RuntimeError("the training process died (out of memory or a crash); "
                                   "the server keeps the last model") from None

    def _worker(self) -> cf.ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: forking a process that runs threads (Tornado, BLAS) can deadlock.
            context = multiprocessing.get_context("spawn")
            self._remote_stop = context.Event()
            self._executor = cf.ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=worker_initializer,
                initargs=(None, self._remote_stop))
        return self._executor

    def _kill_worker_process(self) -> None:
        executor = self._executor
        if executor is None:
            return
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()

    def _progress(self, fraction: float, message: str) -> None:
        self._set_status(progress=float(fraction), message=message)

    def _set_status(self, **changes) -> None:
        self._status = replace(self._status, **changes)
        self._emit("status", self._status)

    def _emit(self, kind: str, payload: object) -> None:
        for listener in list(self._listeners):
            try:
                listener(kind, payload)
            except Exception:  # a broken listener must not stop training for everyone
                log.exception("trainer listener failed")
