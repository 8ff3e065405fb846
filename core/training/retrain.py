"""One retrain, as a pure function of a job: fit, evaluate, score the pool.

``fit_and_evaluate`` runs in the trainer's worker thread or in a worker
process (``training.backend: process``); it touches no session state, so a
crash or an out-of-memory error in it cannot corrupt labels, and the job can
be cancelled by killing the process.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from .. import threads
from ..errors import AlabelError
from ..evaluation.metrics import classification_metrics

#: Rows scored per chunk when predicting the whole pool (bounds peak memory).
SCORE_CHUNK_ROWS = 65_536


class TrainingCancelled(AlabelError):
    """The retrain was cancelled before it finished."""


@dataclass
class TrainingJob:
    """Everything one retrain needs, and nothing that refers back to the session.

    ``X_pool`` is the pool's feature matrix or the path of a ``.npy`` file
    holding it (memory-mapped by a worker process instead of being copied
    through a pipe).
    """

    version: int
    head_spec: dict
    classes: list[str]
    seed: int
    X_train: np.ndarray
    y_train: np.ndarray
    label_revision: int
    sample_weight: np.ndarray | None = None
    #: Rows [0, n_human_labels) of the training set are labels people gave; the rest are
    #: pseudo-labels (None: all are human). Learning curves count, and out-of-fold
    #: estimates judge, the human ones only.
    n_human_labels: int | None = None
    X_eval: np.ndarray | None = None
    y_eval: np.ndarray | None = None
    evaluation: str = "out-of-fold"
    folds: int = 5
    X_pool: np.ndarray | str | None = None
    previous_head: object | None = None
    where: str = "config.yaml"


@dataclass
class TrainingResult:
    """A fitted head with its metrics and its probabilities over the pool."""

    version: int
    head: object
    classes: list[str]
    label_revision: int
    n_labels: int  # human labels (see TrainingJob.n_human_labels)
    metrics: dict
    proba: np.ndarray | None
    train_seconds: float
    finished_at: float = field(default_factory=time.time)
    n_pseudo_labels: int = 0


ProgressFn = Callable[[float, str], None]


def fit_and_evaluate(job: TrainingJob, progress: ProgressFn | None = None,
                     cancel: threading.Event | None = None) -> TrainingResult:
    """Both phases of a retrain: :func:`fit_and_score`, then :func:`evaluate_fitted`."""
    result = fit_and_score(job, progress, cancel)
    result.metrics = evaluate_fitted(job, result.head, cancel)
    return result


def fit_and_score(job: TrainingJob, progress: ProgressFn | None = None,
                  cancel: threading.Event | None = None) -> TrainingResult:
    """Phase 1: fit a fresh head on the job's labels and score the pool.

    The result can be published at once (queries use it); its metrics are
    pending until :func:`evaluate_fitted` (phase 2) has run, so an
    out-of-fold estimate never delays the model that has seen a label.
    """
    from ..heads import build_head

    progress = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    check_cancel = _cancel_check(job, cancel)
    with _thread_limits(len(job.y_train)):
        head = build_head(job.head_spec, classes=job.classes, random_state=job.seed, where=job.where)
        if job.previous_head is not None and getattr(head, "supports_warm_start", False):
            head.warm_start_from(job.previous_head)
        _attach_hooks(head, progress, cancel)
        progress(0.05, f"fitting on {len(job.y_train)} labels")
        head.fit(job.X_train, job.y_train, **_weight_kwargs(job.sample_weight))
    check_cancel()
    proba = None
    if job.X_pool is not None:  # scoring a large pool does profit from threads
        progress(0.6, "scoring the pool")
        X_pool = np.load(job.X_pool, mmap_mode="r") if isinstance(job.X_pool, str) else job.X_pool
        proba = pool_proba(head, X_pool, check_cancel)
    _strip_hooks(head)
    progress(0.9, "evaluating")
    n_human = _n_human(job)
    return TrainingResult(
        version=job.version, head=head, classes=list(job.classes),
        label_revision=job.label_revision, n_labels=n_human,
        metrics={"evaluation": job.evaluation, "pending": True},
        proba=proba, train_seconds=time.perf_counter() - started,
        n_pseudo_labels=int(len(job.y_train)) - n_human,
    )


def evaluate_fitted(job: TrainingJob, head, cancel: threading.Event | None = None) -> dict:
    """Phase 2: the metrics of a head fitted by :func:`fit_and_score`.

    In a training process without ``cancel``, the trainer's shared flag
    (:func:`worker_initializer`) cancels it.
    """
    if cancel is None:
        cancel = _WORKER_STOP
    with _thread_limits(len(job.y_train)):
        return evaluate(head, job, _cancel_check(job, cancel))


def _cancel_check(job: TrainingJob, cancel: threading.Event | None) -> Callable[[], None]:
    def check_cancel():
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled(f"retrain of model version {job.version} cancelled")
    return check_cancel


#: Below this many labels, BLAS/OpenMP thread pools cost more than they save
#: (an HGB fit on 60 rows: 1.3 s with OpenMP start-up on a busy 2-core machine, 0.07 s without).
SMALL_FIT_ROWS = 2_000


@contextlib.contextmanager
def _thread_limits(n_rows: int):
    if n_rows >= SMALL_FIT_ROWS:
        yield
        return
    with threads.limited(1):
        yield


def _n_human(job: TrainingJob) -> int:
    return int(len(job.y_train) if job.n_human_labels is None else job.n_human_labels)


def evaluate(head, job: TrainingJob, check_cancel: Callable[[], None]) -> dict:
    """Metrics on the held-out labels when the job has them, else out of fold."""
    if job.X_eval is not None and len(job.y_eval):
        y_pred = head.predict(job.X_eval)
        return classification_metrics(job.y_eval, y_pred, job.classes, evaluation=job.evaluation)
    return out_of_fold_metrics(head, job, check_cancel)


def out_of_fold_metrics(head, job: TrainingJob, check_cancel: Callable[[], None]) -> dict:
    """Stratified k-fold predictions on the human labels (k ≤ largest class size).

    Pseudo-labels are left out on both sides: they were made by a model that
    saw every human label, so training on them would leak the held-out fold.
    """
    n_human = _n_human(job)
    X_train = job.X_train[:n_human]
    y = np.asarray(job.y_train[:n_human]).astype(str)
    _, counts = np.unique(y, return_counts=True)
    # StratifiedKFold needs at least one class with n_splits members.
    n_splits = int(min(job.folds, len(y) // 2, counts.max())) if len(counts) else 0
    if len(counts) < 2 or n_splits < 2:
        return {"evaluation": "out-of-fold", "n_evaluated": 0,
                "note": "too few labels for an out-of-fold estimate"}
    y_pred = np.empty(len(y), dtype=object)
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=job.seed)
    with warnings.catch_warnings():
        # Rare classes with fewer members than folds are expected early in a session.
        warnings.filterwarnings("ignore", message="The least populated class")
        for train_idx, test_idx in splitter.split(X_train, y):
            check_cancel()
            # The auto head refits its chosen candidate, not its whole choice, in each fold.
            fold_head = clone(head.evaluation_template())
            _strip_hooks(fold_head)
            weights = None if job.sample_weight is None else job.sample_weight[train_idx]
            fit_cancellable(fold_head, X_train[train_idx], y[train_idx], weights, check_cancel)
            y_pred[test_idx] = fold_head.predict(X_train[test_idx])
    return classification_metrics(y, y_pred.astype(str), job.classes, evaluation="out-of-fold")


def pool_scorer(head) -> Callable[[np.ndarray], np.ndarray]:
    """What scores a chunk of the pool: the head's fast scorer when it has one, else ``predict_proba``.

    Linear heads fold imputation and scaling into their weights
    (:meth:`.heads.sklearn_heads.SklearnHead.pool_scorer`): one float32 pass
    without scikit-learn's checks at every chunk.
    """
    fast = getattr(head, "pool_scorer", None)
    scorer = fast() if fast is not None else None
    if scorer is not None:
        return scorer
    return getattr(head, "predict_proba_pool", None) or head.predict_proba


#: Trees (forests) or boosting rounds grown per step of a cancellable fit.
FIT_STEP = 10


def _growing_parameter(head) -> str | None:
    """The parameter that grows an ensemble head step by step under ``warm_start`` (None: not one)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    growing = {RandomForestClassifier: "n_estimators", HistGradientBoostingClassifier: "max_iter"}
    estimator = getattr(head, "estimator_class", None)
    if estimator not in growing or not getattr(head, "supports_warm_start", False) or not hasattr(head, "params"):
        return None
    return growing[estimator]


def fit_cancellable(head, X, y, sample_weight, check_cancel: Callable[[], None]) -> None:
    """Fit ``head``, checking ``check_cancel`` every :data:`FIT_STEP` trees or boosting rounds.

    Forests and boosted trees are grown with ``warm_start`` in steps (a forest
    grown so has the trees of one fit with the same seed); other heads fit in
    one go. An out-of-fold evaluation that a new label makes worthless then
    stops within a step, not after its fold's whole fit.
    """
    key = _growing_parameter(head)
    if key is None:
        check_cancel()
        head.fit(X, y, **_weight_kwargs(sample_weight))
        return
    params = dict(head.params or {})
    total = int(params.get(key, head.estimator_class().get_params()[key]))
    for size in range(min(FIT_STEP, total), total + FIT_STEP, FIT_STEP):
        check_cancel()
        head.set_params(params={**params, key: min(size, total), "warm_start": True})
        head.fit(X, y, **_weight_kwargs(sample_weight))
        if size >= total:
            break
    head.set_params(params=params or None)


def pool_proba(head, X_pool, check_cancel: Callable[[], None] | None = None) -> np.ndarray:
    """The head's probabilities over the whole pool.

    A pool that stays on disk (``core.data.dask_session_pool.LazyFeatures``)
    scores itself on its cluster; an array is scored here, chunk by chunk.
    """
    on_cluster = getattr(X_pool, "predict_proba", None)
    if on_cluster is not None:
        return on_cluster(head, check_cancel)
    return predict_proba_chunked(head, X_pool, check_cancel)


def predict_proba_chunked(head, X, check_cancel: Callable[[], None] | None = None) -> np.ndarray:
    """The head's probabilities over a large matrix, as float32, chunk by chunk.

    BLAS runs on :func:`core.threads.scoring_threads` threads meanwhile (every
    CPU but one, which stays with the server's interpreter).
    """
    scorer = pool_scorer(head)
    out = None
    with threads.limited(threads.scoring_threads()):
        for start in range(0, len(X), SCORE_CHUNK_ROWS):
            if check_cancel is not None:
                check_cancel()
            part = np.asarray(scorer(np.asarray(X[start:start + SCORE_CHUNK_ROWS])), dtype=np.float32)
            if out is None:
                out = np.empty((len(X), part.shape[1]), dtype=np.float32)
            out[start:start + len(part)] = part
    if out is None:
        return np.zeros((0, len(head.classes_)), dtype=np.float32)
    return out


def _weight_kwargs(sample_weight) -> dict:
    return {} if sample_weight is None else {"sample_weight": sample_weight}


def _attach_hooks(head, progress: ProgressFn, cancel: threading.Event | None) -> None:
    """Give heads that report per-epoch progress (torch heads) our callbacks."""
    if hasattr(head, "progress_callback"):
        head.progress_callback = lambda epoch, total, loss: progress(
            0.05 + 0.45 * epoch / max(total, 1), f"epoch {epoch}/{total}, loss {loss:.4g}")
    if hasattr(head, "cancel_event"):
        head.cancel_event = cancel


def _strip_hooks(head) -> None:
    for name in ("progress_callback", "cancel_event"):
        if hasattr(head, name):
            setattr(head, name, None)


#: In a training process: the trainer's "stop the evaluation" flag (see worker_initializer).
_WORKER_STOP = None
#: How often a training process checks that the server that started it still runs.
PARENT_CHECK_S = 0.5


def worker_initializer(num_threads: int | None = None, stop_evaluation=None) -> None:
    """Run in each training process: cap BLAS/torch threads so the server stays responsive.

    ``stop_evaluation`` (a multiprocessing Event shared with the trainer) is
    set when labels arrive during an evaluation: :func:`evaluate_fitted`
    checks it, so the worker is free for the next retrain within a fit step.
    Also ends the process when its server is gone: after a ``kill -9`` of
    the server, a ``concurrent.futures`` worker would otherwise wait for work
    for ever (it holds its own queue's write end, so it never reads EOF),
    keeping its memory and the pool's memory map.
    """
    global _WORKER_STOP
    n = str(num_threads or max(1, (os.cpu_count() or 2) - 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)
    _WORKER_STOP = stop_evaluation
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="alabel-parent-watch",
                     daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    # Orphans are re-parented (to init or a subreaper): a new parent pid means the server died.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)
