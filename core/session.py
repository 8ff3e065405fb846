"""The active-learning session: pool + label store + head + strategy + trainer.

``Session`` is the one object the CLI, the simulation harness and the
dashboard talk to. Its contract:

- ``teach`` commits a label to the store and returns at once; the background
  trainer retrains (coalescing bursts) and publishes a new
  :class:`ModelVersion`;
- ``query`` answers from the newest *finished* model, never waiting for one
  in training, and leases what it serves so two annotators are not served the
  same object;
- the label store is the single owner of labelling state: the session caches
  nothing about labels beyond what it reads from the store each time.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import checks, estimates
from .config import SessionConfig
from .errors import EmptyPoolError, LabelStoreError, NotReadyError
from .trainer import BackgroundTrainer, TrainerStatus
from .training import TrainingJob, TrainingResult, fit_and_evaluate

log = logging.getLogger(__name__)

#: Sources whose labels train the model by default (pseudo-labels join through loops).
TRAINING_SOURCES = ("human", "catalogue", "import")


@dataclass
class ModelVersion:
    """A finished model: the head, its evaluation and its view of the pool."""

    version: int
    head: object
    classes: list[str]
    n_labels: int  # human (human/catalogue/import) labels only: the learning curves' x axis
    label_revision: int
    metrics: dict
    train_seconds: float
    finished_at: float
    proba: np.ndarray | None = None  # (N, C) float32 over the whole pool
    n_pseudo_labels: int = 0  # pseudo-labels it was also trained on (loops that write them)
    loop_info: dict = field(default_factory=dict)  # the loop's bookkeeping (TrainingSet.info)

    @property
    def prediction(self) -> np.ndarray | None:
        if self.proba is None:
            return None
        return np.asarray(self.classes, dtype=object)[self.proba.argmax(axis=1)]

    def predict_row(self, row: int) -> str | None:
        """The predicted class of one pool row (cheap: no pass over the pool)."""
        if self.proba is None:
            return None
        return str(self.classes[int(self.proba[row].argmax())])

    @property
    def uncertainty(self) -> np.ndarray | None:
        """Least-confidence uncertainty (1 - max probability) of every pool row."""
        return None if self.proba is None else 1.0 - self.proba.max(axis=1)

    def summary(self) -> dict:
        """JSON-ready record of this version (used by history files and the UI)."""
        return {"version": self.version, "n_labels": self.n_labels,
                "n_pseudo_labels": self.n_pseudo_labels, "label_revision": self.label_revision, "train_seconds": round(self.train_seconds, 4),
                "finished_at": self.finished_at, "metrics": self.metrics}


@dataclass(frozen=True)
class QueryItem:
    """One object the strategy wants labelled, and why."""

    object_id: str
    row: int
    score: float
    strategy: str
    reason: str
    model_version: int | None
    prediction: str | None = None
    split: str = "train"  # "test": a random pick held out to measure accuracy (labels.test_fraction)


@dataclass
class EvaluationSet:
    """Rows with known labels that are never queried nor trained on (simulate's oracle split)."""

    rows: np.ndarray
    labels: np.ndarray
    name: str = "oracle"


@dataclass
class _Listeners:
    items: list = field(default_factory=list)


class Session:
    """An active-learning session over one config.

    Parameters
    ----------
    config
        A validated :class:`SessionConfig`.
    pool
        The loaded data (``core.data.load_pool(config.data, cache_dir=config.cache_dir)`` when omitted).
    store
        The label store (opened at ``config.store_path`` when omitted).
    annotator
        Default annotator name for labels recorded through this session.
    evaluation_set
        Held-out rows with known labels (simulation): metrics use them and
        they are never queried.
    background
        Start a background trainer (False: call :meth:`retrain` yourself).
    persist_models
        Save each model version and its metrics under ``config.models_dir``.
    """

    def __init__(self, config: SessionConfig, *, pool=None, store=None, annotator: str | None = None,
                 evaluation_set: EvaluationSet | None = None, background: bool = True,
                 persist_models: bool = False):
        from .data import load_pool
        from .loops import build_loop
        from .strategies import build_strategy

        self.config = config
        self.pool = pool if pool is not None else load_pool(config.data, cache_dir=config.cache_dir)
        if not config.classes:
            config = config.with_classes(self._classes_from_ground_truth())
            self.config = config
        # Before the first label: ground-truth values that no class lists (or that 'other' collects).
        self.pool.ground_truth = checks.check_truth_classes(
            self.pool.ground_truth, self.classes, where=config.source, column=config.data.ground_truth)
        self.store = store if store is not None else config.open_store()
        self.annotator = annotator or config.labels.annotator or "anonymous"
        self.evaluation_set = evaluation_set
        self.strategy = build_strategy(config.strategy, where=config.source)
        self.loop = build_loop(config.loop, where=config.source)
        self.persist_models = persist_models
        self._rng = np.random.default_rng(config.seed)
        self._row_index = pd.Index(self.pool.ids)
        self._excluded = np.zeros(self.pool.n, dtype=bool)
        if evaluation_set is not None:
            self._excluded[evaluation_set.rows] = True
        self._lock = threading.RLock()
        self._model_published = threading.Condition()
        self._listeners: list[Callable[[str, object], None]] = []
        self.history: list[dict] = self._load_history()
        self._next_version = (self.history[-1]["version"] + 1) if self.history else 1
        self.model: ModelVersion | None = None
        self._loop_info: dict[int, dict] = {}  # version -> TrainingSet.info of a job in flight
        self._retrain_pending = False  # a retrain asked for while no background trainer runs
        self._loop_ticket: int | None = None  # trainer ticket of the newest retrain the loop asked for
        self._pool_file: str | None = None
        # Random picks that measure accuracy without the strategy's bias (core/estimates.py).
        self._audit_fraction = estimates.audit_fraction_for(config)
        self._in_audit = estimates.audit_mask(self.pool.ids, self._audit_fraction)
        self._audit_jobs: dict[int, tuple] = {}  # version -> (X, y, weights, audit flags) in flight
        self.store_classes()
        if self.pool.ground_truth is None:
            self._warn_leaks_from_labels()
        self.trainer: BackgroundTrainer | None = None
        if background:
            self.trainer = BackgroundTrainer(self._make_job, self._publish, self._publish_metrics,
                                             backend=config.training.backend,
                                             coalesce_s=config.training.coalesce_s)
            self.trainer.subscribe(self._emit)

    # -- construction helpers ----------------------------------------------------
    @classmethod
    def from_config(cls, path, **kwargs) -> Session:
        """Load ``path`` and open its session."""
        return cls(SessionConfig.load(path), **kwargs)

    def _classes_from_ground_truth(self) -> list[str]:
        truth = self.pool.ground_truth
        if truth is None:
            raise NotReadyError(f"{self.config.source}: classes: missing, and data.ground_truth is not "
                                "set to take them from; list the classes in the config")
        values = pd.Series(truth).dropna().astype(str)
        return values.value_counts().index.tolist()

    def _warn_leaks_from_labels(self) -> None:
        """Warn when one feature column predicts the labels given so far almost perfectly.

        With a ground truth, :func:`core.data.load_pool` already checked the
        features against it; without one, the first labels are all there is.
        """
        import warnings

        from .data import DataWarning

        current = self.labels("train")
        if len(current) < checks.LEAK_MIN_ROWS:
            return
        target = np.full(self.pool.n, None, dtype=object)
        target[current["row"].to_numpy()] = current["label"].astype(str).to_numpy()
        features = self.config.data.features
        for leak in checks.leaky_columns(self.pool.frame, features.numeric + features.categorical, target,
                                         seed=self.config.seed):
            kind = "numeric" if leak.column in features.numeric else "categorical"
            warnings.warn(leak.message(self.config.source, f"data.features.{kind}",
                                       f"the {len(current)} labels given so far"), DataWarning, stacklevel=3)

    def store_classes(self) -> None:
        setter = getattr(self.store, "set_classes", None)
        if setter is not None:
            setter(self.classes)

    @property
    def classes(self) -> list[str]:
        return self.config.class_names

    # -- events --------------------------------------------------------------------
    def subscribe(self, listener: Callable[[str, object], None]) -> Callable[[], None]:
        """Call ``listener(kind, payload)`` on session events.

        Kinds: ``"model"`` (a new :class:`ModelVersion` is in use; its metrics
        may still be pending), ``"metrics"`` (that model's metrics are in),
        ``"status"`` (:class:`TrainerStatus`), ``"labels"`` (store revision)
        and ``"classes"``.

        Listeners are called from worker threads; a UI must schedule its own
        updates (Panel: ``doc.add_next_tick_callback``).
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, kind: str, payload: object) -> None:
        if kind in ("result", "metrics", "superseded") and isinstance(payload, TrainingResult):
            return  # the trainer's raw results: listeners get the ModelVersion instead
        for listener in list(self._listeners):
            try:
                listener(kind, payload)
            except Exception:
                log.exception("session listener failed")

    @property
    def status(self) -> TrainerStatus:
        return self.trainer.status if self.trainer else TrainerStatus()

    # -- labels ----------------------------------------------------------------------
    def teach(self, object_id, label: str, *, annotator: str | None = None, split: str = "train",
              source: str = "human", event_id: str | None = None):
        """Record a label (committed before this returns) and schedule a retrain."""
        object_id = str(object_id)
        self._check_object(object_id)
        checks.check_label(label, self.classes, where=self.config.source)
        event = self.store.record(object_id, str(label), annotator=annotator or self.annotator,
                                  source=source, split=split,
                                  model_version=self.model.version if self.model else None,
                                  event_id=event_id or str(uuid.uuid4()))
        self._labels_changed()
        return event

    def teach_many(self, object_ids: Sequence, labels: Sequence[str] | str, *,
                   annotator: str | None = None, split: str = "train", source: str = "human"):
        """Record many labels in one transaction (bulk labelling, imports)."""
        object_ids = [str(o) for o in object_ids]
        if isinstance(labels, str):
            labels = [labels] * len(object_ids)
        for object_id in object_ids:
            self._check_object(object_id)
        checks.check_labels(labels, self.classes, where=self.config.source, rows="label")
        version = self.model.version if self.model else None
        rows = [dict(object_id=o, label=str(lab), annotator=annotator or self.annotator, source=source,
                     split=split, model_version=version, event_id=str(uuid.uuid4()))
                for o, lab in zip(object_ids, labels, strict=True)]
        events = self.store.record_many(rows)
        self._labels_changed()
        return events

    def skip(self, object_id, *, annotator: str | None = None, unsure: bool = False):
        """Record that the annotator skipped (or was unsure about) an object."""
        object_id = str(object_id)
        self._check_object(object_id)
        event = self.store.record(object_id, None, kind="unsure" if unsure else "skip",
                                  annotator=annotator or self.annotator,
                                  event_id=str(uuid.uuid4()))
        self._emit("labels", self.store.revision)
        return event

    def undo(self, *, annotator: str | None = None):
        """Retract the annotator's own last event; returns it (None if nothing to undo)."""
        event = self.store.undo(annotator or self.annotator)
        if event is not None:
            self._labels_changed()
        return event

    def add_class(self, name: str, *, color: str | None = None, key: str | None = None) -> None:
        """Add a class in the middle of a session (kept in exports of the config)."""
        if name in self.classes:
            raise LabelStoreError(f"{self.config.source}: classes: {name!r} already exists")
        entries = [(c.name, c.color, c.key) for c in self.config.classes] + [(name, color, key)]
        from .config import assign_class_defaults

        with self._lock:
            self.config.classes = assign_class_defaults(entries, self.config.source,
                                                        set(self.config.ui.keys.values()))
        self.store_classes()
        self._emit("classes", list(self.classes))

    def _labels_changed(self) -> None:
        self._emit("labels", self.store.revision)
        if self.trainer is not None:
            self.trainer.request()

    def _check_object(self, object_id: str) -> None:
        if self._row_index.get_indexer([object_id])[0] < 0:
            raise LabelStoreError(f"{self.config.source}: object id {object_id!r} is not in the data "
                                  f"(id column {self.config.data.id_column!r})")

    def labels(self, split: str | None = "train", sources: Iterable[str] | None = TRAINING_SOURCES
               ) -> pd.DataFrame:
        """Current labels with their pool row (``row``); objects unknown to the pool are dropped."""
        current = self.store.current(split=split, sources=tuple(sources) if sources else None)
        current = current.copy()
        current["row"] = self._row_index.get_indexer(current["object_id"].astype(str))
        return current[current["row"] >= 0]

    # -- training ----------------------------------------------------------------------
    def _make_job(self) -> TrainingJob | None:
        with self._lock:
            revision = self.store.revision
            training = self.loop.prepare_training(self)
            rows, y, weights = training.as_tuple()
            if len(y) < self.config.training.min_labels or len(set(y)) < 2:
                return None
            extra = [c for c in pd.unique(y) if c not in self.classes]
            for name in extra:  # labels of classes added elsewhere (another process): keep them
                self.add_class(str(name))
            classes = list(self.classes)
            X_eval, y_eval, evaluation = self._evaluation_data()
            version = self._next_version
            self._next_version += 1
            self._loop_info[version] = training.info
            X_train = self.pool.X[rows]
            self._keep_audit_rows(version, rows, X_train, y, weights, training.n_human)
        return TrainingJob(
            version=version, head_spec=dict(self.config.head), classes=classes, seed=self.config.seed,
            X_train=X_train, y_train=y, sample_weight=weights, n_human_labels=training.n_human, label_revision=revision, X_eval=X_eval, y_eval=y_eval, evaluation=evaluation,
            folds=self.config.training.evaluation_folds, X_pool=self._pool_for_worker(),
            previous_head=self.model.head if self.model is not None else None,
            where=self.config.source,
        )

    def _pool_for_worker(self):
        """The pool's features as the worker wants them.

        A worker process memory-maps a ``.npy`` copy written once per data
        version instead of receiving the whole matrix through a pipe at every
        retrain; a worker thread shares the array itself.
        """
        if self.config.training.backend != "process":
            return self.pool.X
        if self._pool_file is None:
            folder = self.config.cache_dir
            folder.mkdir(parents=True, exist_ok=True)
            features = hashlib.sha256("\n".join(self.pool.feature_names).encode()).hexdigest()[:8]
            key = f"{self.pool.data_hash[:16]}-{features}-{self.pool.X.shape[0]}x{self.pool.X.shape[1]}"
            path = folder / f"pool-X-{key}.npy"
            if not path.exists():
                tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
                with open(tmp, "wb") as fh:
                    np.save(fh, self.pool.X)
                tmp.replace(path)
            self._pool_file = str(path)
        return self._pool_file

    def _evaluation_data(self):
        if self.evaluation_set is not None:
            return (self.pool.X[self.evaluation_set.rows], np.asarray(self.evaluation_set.labels, str),
                    self.evaluation_set.name)
        test = self.labels("test")
        if len(test):
            return self.pool.X[test["row"].to_numpy()], test["label"].astype(str).to_numpy(), "test"
        return None, None, "out-of-fold"

    def _keep_audit_rows(self, version: int, rows, X_train, y, weights, n_human: int) -> None:
        """Remember a job's audit labels (human rows of the audit set) for its estimate."""
        for stale in [v for v in self._audit_jobs if v < version - 8]:  # failed or superseded jobs
            del self._audit_jobs[stale]
        human = np.arange(len(rows)) < n_human
        random_rows = self._in_audit | self._chosen_at_random()
        flags = random_rows[np.asarray(rows, dtype=np.int64)] & human
        if flags.any():
            self._audit_jobs[version] = (X_train[:n_human], np.asarray(y)[:n_human],
                                         None if weights is None else np.asarray(weights)[:n_human],
                                         flags[:n_human])

    def _chosen_at_random(self) -> np.ndarray:
        """Pool rows whose current train label came from a uniform random sample (imports)."""
        current = self.labels("train")
        mask = np.zeros(self.pool.n, dtype=bool)
        mask[current["row"].to_numpy()[estimates.chosen_at_random(current["event_id"])]] = True
        return mask

    def _audit_estimate(self, result: TrainingResult) -> dict | None:
        """Accuracy on the audit labels of this model's job (None without any)."""
        kept = self._audit_jobs.pop(result.version, None)
        if kept is None:
            return None
        X, y, weights, flags = kept
        return estimates.audit_estimate(result.head, X, y, flags, sample_weight=weights)

    def _publish(self, result: TrainingResult) -> None:
        model = ModelVersion(
            version=result.version, head=result.head, classes=result.classes,
            n_labels=result.n_labels, label_revision=result.label_revision, metrics=result.metrics,
            train_seconds=result.train_seconds, finished_at=result.finished_at, proba=result.proba,
            n_pseudo_labels=result.n_pseudo_labels,
        )
        if model.proba is not None:
            # Rank the pool now, in the trainer's thread, with a generator of its own
            # (numpy generators are not thread-safe; the query thread owns self._rng).
            self.strategy.warm(model.proba, np.random.default_rng([self.config.seed, model.version]))
        with self._lock:
            model.loop_info = self._loop_info.pop(result.version, {})
            for stale in [v for v in self._loop_info if v < result.version]:  # failed or cancelled jobs
                del self._loop_info[stale]
            # Versions can finish out of order only across processes; never go backwards.
            if self.model is not None and model.version < self.model.version:
                return
            model.metrics.update(self.loop.model_metrics(self, model))  # e.g. stopping guidance
            if hasattr(model.head, "choice_summary"):  # the auto head: what it chose and why
                model.metrics["head_choice"] = model.head.choice_summary()
            self.model = model
        with self._model_published:
            self._model_published.notify_all()
        try:
            self.loop.after_model(self, model)
        finally:
            self._emit("model", model)

    def _publish_metrics(self, result: TrainingResult) -> None:
        """Phase 2 of a retrain: the published model's metrics are known."""
        if self.model is None or self.model.version != result.version:
            return  # a newer model is already in use; its own metrics will follow
        # The audit estimate may refit the model a few times: never under the session lock.
        audit = self._audit_estimate(result)
        with self._lock:
            model = self.model
            if model is None or model.version != result.version:
                return
            model.metrics.update(result.metrics)
            model.metrics.pop("pending", None)
            model.metrics["estimate"] = estimates.choose_estimate(model.metrics, audit)
            self.history.append(model.summary())
        if self.persist_models:
            self._save_version(model)
        self._emit("metrics", model)

    def retrain(self) -> ModelVersion | None:
        """Retrain now, in this thread, and publish the result (headless use).

        Retrains the loop asks for while publishing (pseudo-label rounds,
        :meth:`request_retrain`) run here too, before this returns.
        """
        self._retrain_pending = True
        while self._retrain_pending:
            self._retrain_pending = False
            job = self._make_job()
            if job is None:
                return self.model
            result = fit_and_evaluate(job)
            self._publish(result)
            self._publish_metrics(result)
        return self.model

    def request_retrain(self) -> None:
        """Ask for a retrain without a new human label (loops: new pseudo-labels, rejections).

        Listeners hear a ``"labels"`` event (pseudo-labels are labels too);
        without a background trainer the retrain runs in :meth:`retrain`.
        """
        self._emit("labels", self.store.revision)
        if self.trainer is not None:
            self._loop_ticket = self.trainer.request()
        else:
            self._retrain_pending = True

    def wait_for_model(self, timeout: float | None = None) -> ModelVersion | None:
        """Block until the model has seen every label recorded so far.

        Retrains the loop asked for on the way (pseudo-label rounds) are
        waited for too; loops bound them, so this returns.
        """
        if self.trainer is None:
            return self.retrain()
        deadline = None if timeout is None else time.monotonic() + timeout

        def remaining():
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        done = self.trainer.wait(timeout=remaining())
        while done:
            ticket = self._loop_ticket
            if ticket is None or self.trainer.wait(ticket, timeout=0):
                break
            done = self.trainer.wait(ticket, timeout=remaining())
        if not done:
            raise NotReadyError(f"no model within {timeout} s (trainer: {self.status.message})")
        return self.model

    def wait_for_revision(self, revision: int, timeout: float | None = None) -> ModelVersion:
        """Block until a model that has seen store ``revision`` is in use (metrics may be pending).

        ``wait_for_model`` also waits for the evaluation; this is what a
        labeller waits for: the next query to come from a model that has
        seen their label.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._model_published:
            while self.model is None or self.model.label_revision < revision:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise NotReadyError(f"no model of label revision {revision} within {timeout} s "
                                        f"(trainer: {self.status.message})")
                self._model_published.wait(remaining)
            return self.model

    # -- queries -----------------------------------------------------------------------
    def labelled_rows(self, sources: Iterable[str] = TRAINING_SOURCES) -> np.ndarray:
        """Pool rows labelled by people (either split), from one indexed store query, in pool order.

        Sorted because the store answers with a set, whose order follows Python's
        per-process string hashing: strategies that cluster the labelled rows with
        the candidates (k-means initialisation depends on row order) would otherwise
        pick differently in two runs with the same seed.
        """
        rows = self._row_index.get_indexer(list(self.store.labelled_ids(sources)))
        return np.sort(rows[rows >= 0])

    def candidate_mask(self, annotator: str | None = None, *,
                       labelled_rows: np.ndarray | None = None) -> np.ndarray:
        """Rows that may be queried: not labelled by people, not held out, not leased or skipped.

        Pseudo-labelled rows stay candidates: a person's label overrides a pseudo-label.
        ``labelled_rows`` (from :meth:`labelled_rows`) lets a caller use one snapshot
        of the store for the mask and for what it does next.
        """
        annotator = annotator or self.annotator
        mask = ~self._excluded.copy()
        mask[self.labelled_rows() if labelled_rows is None else labelled_rows] = False
        blocked = set(self.store.leased_by_others(annotator)) | set(self.store.skipped(annotator))
        if blocked:
            rows = self._row_index.get_indexer(list(blocked))
            mask[rows[rows >= 0]] = False
        return mask

    def query(self, n: int | None = None, *, annotator: str | None = None,
              lease: bool = True) -> list[QueryItem]:
        """The next ``n`` objects to label, from the newest finished model.

        A share of them may be uniformly random picks (``labels.test_fraction``:
        for the test split, ``split="test"``; ``labels.audit_fraction``: audit
        labels that also train): their labels measure accuracy without the
        strategy's bias (see :mod:`core.estimates`).
        """
        from .strategies import PoolContext

        annotator = annotator or self.annotator
        n = n or self.config.loop.batch_size
        model = self.model
        # One snapshot of the labelled rows: a label committed by another tab between two
        # reads would otherwise be both a candidate and labelled.
        labelled_rows = self.labelled_rows()
        candidates = np.flatnonzero(self.candidate_mask(annotator, labelled_rows=labelled_rows))
        if len(candidates) == 0:
            raise EmptyPoolError(f"{self.config.source}: every object is labelled, held out or leased")
        picks = estimates.plan_random_picks(
            candidates, self._in_audit, min(n, len(candidates)), n_labelled=len(labelled_rows),
            n_audit_labelled=int(self._in_audit[labelled_rows].sum()),
            n_test_labelled=len(self.labels("test")) if self.config.labels.test_fraction else 0,
            audit_fraction=self._audit_fraction, test_fraction=self.config.labels.test_fraction,
            rng=self._rng, audit_start=self.strategy.audit_start())
        # (row, score, strategy, reason, split), best first; random picks go last.
        offers = []
        if picks.n_strategy:
            context = PoolContext(X=self.pool.X, candidates=picks.candidates, labelled=labelled_rows,
                                  model=model.head if model else None,
                                  proba=model.proba if model else None, rng=self._rng)
            # Ask for a few more than needed: another annotator may lease some first.
            wanted = picks.n_strategy + 8 if lease else picks.n_strategy
            selection = self.strategy.select(context, min(len(picks.candidates), wanted))
            offers += [(row, score, selection.strategy,
                        selection.reason if rank == 0 else f"rank {rank + 1} by {selection.strategy}", "train")
                       for rank, (row, score) in enumerate(zip(selection.indices, selection.scores))]
        offers += [(row, 0.0, "audit", "random audit pick: its label also measures accuracy without the "
                    "strategy's bias", "train") for row in picks.audit]
        offers += [(row, 0.0, "test", "random pick for the test split (never trained on)", "test")
                   for row in picks.test]
        ids = [str(self.pool.ids[offer[0]]) for offer in offers]
        granted = set(self.store.lease(ids, annotator, ttl_s=self.config.labels.lease_s)) if lease \
            else set(ids)
        quota = {"train": picks.n_strategy, "audit": len(picks.audit), "test": len(picks.test)}
        items = []
        for (row, score, strategy, reason, split), object_id in zip(offers, ids):
            kind = strategy if strategy in estimates.RANDOM_PICK_STRATEGIES else "train"
            if object_id not in granted or quota[kind] == 0:
                continue
            quota[kind] -= 1
            items.append(QueryItem(
                object_id=object_id, row=int(row), score=float(score), strategy=strategy, reason=reason,
                model_version=model.version if model else None,
                prediction=model.predict_row(int(row)) if model is not None else None, split=split,
            ))
        surplus = [o for o in ids if o in granted and o not in {i.object_id for i in items}]
        if lease and surplus:
            self.store.release(surplus, annotator)
        return items

    # -- persistence ------------------------------------------------------------------
    def model_path(self, version: int) -> Path:
        return self.config.models_dir / f"model-v{version:05d}.skops"

    def restore_latest_model(self) -> ModelVersion | None:
        """Load the newest saved model (``persist_models``) and score the pool with it."""
        from .heads.persist import load_head
        from .training import predict_proba_chunked

        if not self.history:
            return None
        record = self.history[-1]
        path = self.model_path(record["version"])
        if not path.exists():
            return None
        head = load_head(path)
        model = ModelVersion(
            version=record["version"], head=head, classes=[str(c) for c in head.classes_],
            n_labels=record["n_labels"], label_revision=record["label_revision"],
            metrics=record["metrics"], train_seconds=record["train_seconds"],
            finished_at=record["finished_at"], proba=predict_proba_chunked(head, self.pool.X),
            n_pseudo_labels=record.get("n_pseudo_labels", 0))
        with self._lock:
            self.model = model
        return model

    def _load_history(self) -> list[dict]:
        path = self.config.models_dir / "history.jsonl"
        if not self.persist_models or not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def _save_version(self, model: ModelVersion) -> None:
        from .heads.persist import save_head

        folder = self.config.models_dir
        folder.mkdir(parents=True, exist_ok=True)
        save_head(model.head, self.model_path(model.version))
        with open(folder / "history.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(model.summary()) + "\n")

    def close(self) -> None:
        """Stop the trainer; the store stays consistent (every label is already committed)."""
        if self.trainer is not None:
            self.trainer.close()
            self.trainer = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (tests and the CLI)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
