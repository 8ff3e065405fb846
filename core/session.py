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

Why one module of this size: ``Session`` is the facade the CLI, the dashboard,
notebooks and the simulator share, so its public methods (labels, queries,
training, review decisions, exports) sit together; each delegates to a part
with one job: the label store (``labels/``), the query planner
(``strategies/planner.py``), the trainer (``training/``), the loop
(``loops/``), the models folder (``models_folder.py``).
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import checks
from .bundle import export_bundle
from .config import SessionConfig, assign_class_defaults
from .data.opening import open_pool
from .errors import ConfigError, LabelStoreError, NotReadyError, StaleModelError
from .evaluation import estimates
from .heads import parse_head, skops_payload
from .labels import anonymous_annotator
from .labels.watch import RevisionWatcher
from .loops import LoopContext
from .models_folder import ModelsFolder
from .records import EvaluationSet, ModelVersion, Prediction, QueryItem
from .strategies import parse_strategy
from .strategies.planner import QueryPlanner
from .training.retrain import TrainingJob, TrainingResult, fit_and_evaluate, pool_proba
from .training.trainer import BackgroundTrainer, TrainerStatus

log = logging.getLogger(__name__)

#: Sources whose labels train the model by default (pseudo-labels join through loops).
TRAINING_SOURCES = ("human", "catalogue", "import")

__all__ = ["EvaluationSet", "LabelSnapshot", "ModelVersion", "Prediction", "QueryItem", "Session"]


@dataclass(frozen=True)
class LabelSnapshot:
    """Every current label (with its pool row) and the per-class counts, read at one store revision.

    Shared by every caller that asks at the same revision (one per browser tab): read-only.
    """

    revision: int
    labels: pd.DataFrame
    counts: pd.DataFrame
    #: Pool row -> {label, split, annotator, source}: the lookups a UI makes at every click.
    by_row: dict = field(default_factory=dict)


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
    create_store
        Create the label store when it does not exist (commands that only read
        labels pass False, so a typo in ``labels.store`` is an error).
    process_leases
        The leases of the store the session opens end with this process (a
        server: a restart after a crash frees them at once).
    watch_store_s
        Poll the store's revision this often and treat labels written by other
        processes (a second server, ``alabel label``) as this session's own:
        listeners hear of them, the model retrains (None: no polling).
    """

    def __init__(self, config: SessionConfig, *, pool=None, store=None, annotator: str | None = None,
                 evaluation_set: EvaluationSet | None = None, background: bool = True,
                 persist_models: bool = False, create_store: bool = True, process_leases: bool = False,
                 watch_store_s: float | None = None):
        self.config = config
        self.pool = pool if pool is not None else open_pool(config)
        if not config.classes:
            config = config.with_classes(self._classes_from_ground_truth())
            self.config = config
        # Before the first label: ground-truth values that no class lists (or that 'other' collects).
        self.pool.ground_truth = checks.check_truth_classes(
            self.pool.ground_truth, self.classes, where=config.source, column=config.data.ground_truth)
        self.store = store if store is not None else config.open_store(create=create_store,
                                                                          process_leases=process_leases)
        # The store must be this session's (core/labels/identity.py); it gives back classes
        # added while labelling.
        classes = self.store.claim(id_column=config.data.id_column, ids=self.pool.ids,
                                   classes=config.class_names, foreign=config.labels.foreign_store,
                                   where=config.source)
        if classes != config.class_names:
            config = self.config = config.with_classes(classes)
        self.annotator = annotator or config.labels.annotator or "anonymous"
        self.evaluation_set = evaluation_set
        # Built from the specs the config validated at load: no second validation.
        self.strategy = config.strategy.build()
        self.loop = config.loop.build()
        self.persist_models = persist_models
        excluded = np.zeros(self.pool.n, dtype=bool)
        if evaluation_set is not None:
            excluded[evaluation_set.rows] = True
        self._lock = threading.RLock()
        self._snapshot: LabelSnapshot | None = None
        self._snapshot_lock = threading.Lock()  # one read per revision, however many tabs ask
        self._model_published = threading.Condition()
        self._listeners: list[Callable[[str, object], None]] = []
        self.models = ModelsFolder(config.models_dir, keep=persist_models)
        if persist_models:  # the first save would otherwise import skops mid-session
            skops_payload.preload()
        self.history: list[dict] = self.models.history  # per-version summaries: the learning curve
        self.model: ModelVersion | None = None
        self._loop_info: dict[int, dict] = {}  # version -> TrainingSet.info of a job in flight
        self._retrain_pending = False  # a retrain asked for while no background trainer runs
        self._loop_ticket: int | None = None  # trainer ticket of the newest retrain the loop asked for
        self._pool_file: str | None = None
        # Random picks that measure accuracy without the strategy's bias (core/evaluation/estimates.py).
        self.planner = QueryPlanner(
            self.pool, self.store, excluded=excluded, audit_fraction=estimates.audit_fraction_for(config),
            test_fraction=config.labels.test_fraction, lease_s=config.labels.lease_s, seed=config.seed,
            where=config.source)
        self._audit_jobs: dict[int, tuple] = {}  # version -> (X, y, weights, audit flags) in flight
        self.store_classes()
        self.loop_context = LoopContext(
            pool=self.pool, seed=config.seed, where=config.source, annotator=self.annotator,
            labels=self.labels, labelled_rows=self.labelled_rows, teach=self.teach, teach_many=self.teach_many,
            write_pseudo=self.store.replace_pseudo, record_events=self.store.record_many,
            events=self.store.events, confirm=self.store.confirm, confirmed=self.store.confirmed,
            request_retrain=self.request_retrain,
            _classes=lambda: self.classes, _head_spec=lambda: self.config.head,
            _held_out_rows=lambda: self.evaluation_set.rows if self.evaluation_set is not None else None)
        if self.pool.ground_truth is None:
            self._warn_leaks_from_labels()
        self.trainer: BackgroundTrainer | None = None
        if background:
            self.trainer = BackgroundTrainer(self._make_job, self._publish, self._publish_metrics,
                                             backend=config.training.backend,
                                             coalesce_s=config.training.coalesce_s)
            self.trainer.subscribe(self._emit)
        # Labels written by other processes (a second server on the store, `alabel label`):
        # heard of and trained on like this session's own (core/labels/watch.py).
        self._watcher = None if watch_store_s is None else RevisionWatcher(
            self.store.revision_written_elsewhere, self._labels_written_elsewhere, interval_s=watch_store_s)

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
        features = self.config.data.features
        columns = features.numeric + features.categorical
        if getattr(self.pool, "in_memory", True):
            frame = self.pool.frame
            target = np.full(self.pool.n, None, dtype=object)
            target[current["row"].to_numpy()] = current["label"].astype(str).to_numpy()
        else:  # a pool on disk: only the labelled rows count (unlabelled ones are ignored anyway)
            frame = self.pool.frame.rows(current["row"].to_numpy(), columns).reset_index(drop=True)
            target = current["label"].astype(str).to_numpy(dtype=object)
        for leak in checks.leaky_columns(frame, columns, target,
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
              source: str = "human", event_id: str | None = None, model_version: int | None = None):
        """Record a label (committed before this returns) and schedule a retrain.

        ``model_version``: the model whose prediction the person saw and accepted (default: the
        newest model), recorded with the label.
        """
        object_id = str(object_id)
        self._check_object(object_id)
        if model_version is None and self.model is not None:
            model_version = self.model.version
        checks.check_label(label, self.classes, where=self.config.source)
        event = self.store.record(object_id, str(label), annotator=annotator or self.annotator,
                                  source=source, split=split, model_version=model_version,
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

    def retract(self, events: Sequence, *, annotator: str | None = None) -> list:
        """Take back these events in one transaction (a grid's bulk label undone).

        Nothing is deleted: a retract event cancels each one, and the label an
        object had before (if any) is in force again. Raises LabelStoreError,
        writing nothing, when one of them is already retracted.
        """
        rows = [dict(object_id=e.object_id, kind="retract", target_event_id=e.event_id, source=e.source,
                     split=e.split, annotator=annotator or self.annotator) for e in events]
        if not rows:
            return []
        retracts = self.store.record_many(rows)
        self._labels_changed()
        return retracts

    def add_class(self, name: str, *, color: str | None = None, key: str | None = None) -> None:
        """Add a class in the middle of a session (kept in exports of the config)."""
        if name in self.classes:
            raise LabelStoreError(f"{self.config.source}: classes: {name!r} already exists")
        entries = [(c.name, c.color, c.key) for c in self.config.classes] + [(name, color, key)]
        with self._lock:
            self.config.classes = assign_class_defaults(entries, self.config.source,
                                                        set(self.config.ui.keys.values()))
        self.store_classes()
        self.store.note_added_class(name)
        self._emit("classes", list(self.classes))

    def _labels_written_elsewhere(self, revision: int) -> None:
        log.info("labels written by another process (store revision %d)", revision)
        self._labels_changed()

    def _labels_changed(self) -> None:
        self._emit("labels", self.store.revision)
        if self.trainer is not None:
            self.trainer.request()

    def _check_object(self, object_id: str) -> None:
        if self.pool.rows_of([object_id])[0] < 0:
            raise LabelStoreError(f"{self.config.source}: object id {object_id!r} is not in the data "
                                  f"(id column {self.config.data.id_column!r})")

    def labels(self, split: str | None = "train", sources: Iterable[str] | None = TRAINING_SOURCES
               ) -> pd.DataFrame:
        """Current labels with their pool row (``row``); objects unknown to the pool are dropped."""
        current = self.store.current(split=split, sources=tuple(sources) if sources else None)
        current = current.copy()
        current["row"] = self.pool.rows_of(current["object_id"].astype(str))
        return current[current["row"] >= 0]

    # -- training ----------------------------------------------------------------------
    def _make_job(self) -> TrainingJob | None:
        with self._lock:
            revision = self.store.revision
            training = self.loop.prepare_training(self.loop_context)
            rows, y, weights = training.as_tuple()
            if len(y) < self.config.training.min_labels or len(set(y)) < 2:
                return None
            extra = [c for c in pd.unique(y) if c not in self.classes]
            for name in extra:  # labels of classes added elsewhere (another process): keep them
                self.add_class(str(name))
            classes = list(self.classes)
            X_eval, y_eval, evaluation = self._evaluation_data()
            version = self.models.allocate()
            self._loop_info[version] = training.info
            X_train = self.pool.X[rows]
            self._keep_audit_rows(version, rows, X_train, y, weights, training.n_human)
        return TrainingJob(
            version=version, head_spec=self.config.head, classes=classes, seed=self.config.seed,
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
        random_rows = self.planner.in_audit | self._chosen_at_random()
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
            n_pseudo_labels=result.n_pseudo_labels, data=self.data_fingerprint,
        )
        if model.proba is not None:
            # Rank the pool now, in the trainer's thread, with a generator of its own
            # (numpy generators are not thread-safe; the planner keeps its own for queries).
            self.strategy.warm(model.proba, np.random.default_rng([self.config.seed, model.version]))
        with self._lock:
            model.loop_info = self._loop_info.pop(result.version, {})
            for stale in [v for v in self._loop_info if v < result.version]:  # failed or cancelled jobs
                del self._loop_info[stale]
            # Versions can finish out of order only across processes; never go backwards.
            if self.model is not None and model.version < self.model.version:
                return
            model.metrics.update(self.loop.model_metrics(self.loop_context, model))  # e.g. stopping guidance
            if hasattr(model.head, "choice_summary"):  # the auto head: what it chose and why
                model.metrics["head_choice"] = model.head.choice_summary()
            self.model = model
        with self._model_published:
            self._model_published.notify_all()
        try:
            self.loop.after_model(self.loop_context, model)
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
            self.models.save(model.head, model.summary())
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
        """Pool rows labelled by people (either split), from one indexed store query, in pool order."""
        return self.planner.labelled_rows(sources)

    def candidate_mask(self, annotator: str | None = None, *,
                       labelled_rows: np.ndarray | None = None) -> np.ndarray:
        """Rows that may be queried: not labelled by people, not held out, not leased or skipped."""
        return self.planner.candidate_mask(annotator or self.annotator, labelled_rows=labelled_rows)

    def query(self, n: int | None = None, *, split: str = "train", annotator: str | None = None,
              lease: bool = True, within: np.ndarray | None = None, within_label: str = "") -> list[QueryItem]:
        """The next ``n`` objects to label, from the newest finished model.

        ``split="train"``: the strategy's picks; a share of them may be
        uniformly random picks (``labels.test_fraction``: for the test split,
        ``split="test"``; ``labels.audit_fraction``: audit labels that also
        train) whose labels measure accuracy without the strategy's bias (see
        :mod:`core.evaluation.estimates`). ``split="test"``: random objects for
        the held-out test split, within the boolean row mask ``within`` when
        given (``within_label`` says how it was chosen, for the reason shown).
        Served objects are leased to ``annotator`` unless ``lease=False``.
        """
        return self.planner.plan(n or self.config.loop.batch_size, annotator=annotator or self.annotator,
                                 strategy=self.strategy, model=self.model, split=split, within=within,
                                 within_label=within_label, lease=lease)

    def use_process_annotator(self) -> str:
        """Label and lease as a name unique to this process and host; returns it.

        For a command run without an annotator: two runs must not lease each
        other the same objects, so they may not share one name.
        """
        self.annotator = anonymous_annotator()
        return self.annotator

    def release(self, object_ids: Iterable, annotator: str | None = None) -> None:
        """Give back objects served to ``annotator`` that it will not label."""
        self.planner.release(object_ids, annotator or self.annotator)

    def prediction(self, row: int) -> Prediction | None:
        """The newest model's class for pool row ``row`` (None before the first model)."""
        model = self.model
        if model is None or model.proba is None:
            return None
        p = model.proba[int(row)]
        best = int(np.argmax(p))
        return Prediction(str(model.classes[best]), float(p[best]), model.version)

    # -- what a UI reads and changes ---------------------------------------------------------
    @property
    def labels_revision(self) -> int:
        """The label store's revision (grows with every recorded event)."""
        return self.store.revision

    def n_labels(self, split: str | None = "train") -> int:
        """How many objects carry a current label (``split=None``: both splits)."""
        return self.store.n_labels(split=split)

    def label_snapshot(self) -> LabelSnapshot:
        """Every current label and the counts per class and split, for views of the labelling.

        Read once per store revision and shared: every browser tab asks after
        every label, and N tabs re-reading the store each held the server's
        interpreter N times per click (issue 12).
        """
        with self._snapshot_lock:
            revision = int(self.store.revision)
            cached = self._snapshot
            if cached is not None and cached.revision == revision:
                return cached
            labels = self.labels(split=None, sources=None)
            by_row = {int(r): {"label": lab, "split": sp, "annotator": an, "source": so}
                      for r, lab, sp, an, so in zip(labels["row"], labels["label"], labels["split"],
                                                    labels["annotator"], labels["source"])}
            self._snapshot = LabelSnapshot(revision=revision, labels=labels, counts=self.store.counts(),
                                           by_row=by_row)
            return self._snapshot

    def export_labels(self, path) -> Path:
        """Write the current labels to ``path`` (CSV or Parquet by suffix); returns the path written."""
        return self.store.export(path)

    def export_bundle(self, folder, *, data: str = "copy") -> None:
        """Write config, labels and (``data="copy"``) the data to ``folder`` for a colleague."""
        export_bundle(self.config, folder, data=data, store=self.store, classes=list(self.classes))

    def set_head(self, spec) -> dict:
        """Train with another head from now on (every user of the session); returns the spec in force.

        Raises ConfigError, changing nothing, when the spec is invalid or the
        head cannot serve the strategy in force.
        """
        spec = parse_head(spec, where="dashboard", key="head")
        with self._lock:
            required = self.strategy.requires
            if required and not hasattr(spec.cls, required):
                raise ConfigError(f"dashboard: head.type: {spec['type']!r} cannot serve strategy "
                                  f"{self.config.strategy['type']!r} (it needs {required}); "
                                  "switch the strategy first")
            self.config.head = spec
        self._emit("config", {"head": spec})
        self.retrain_in_background()
        return spec

    def set_strategy(self, spec) -> dict:
        """Choose the next queries with another strategy; returns the spec in force.

        Raises ConfigError, changing nothing, when the spec is invalid or the
        strategy needs what the head in force lacks.
        """
        with self._lock:
            spec = parse_strategy(spec, where="dashboard", head=self.config.head)
            strategy = spec.build()
            model = self.model
            if model is not None and model.proba is not None:  # rank the pool once for this model
                strategy.warm(model.proba, np.random.default_rng([self.config.seed, model.version]))
            self.strategy = strategy
            self.config.strategy = spec
        self._emit("config", {"strategy": spec})
        return spec

    def retrain_in_background(self) -> None:
        """Ask the background trainer for a retrain (no-op without one: see :meth:`retrain`)."""
        if self.trainer is not None:
            self.trainer.request()

    def resume(self) -> None:
        """Train at once on labels from an earlier run (a UI opening on an existing store)."""
        if self.trainer is not None and self.labels("train")["label"].nunique() >= 2:
            self.trainer.request()

    def cancel_training(self) -> bool:
        """Cancel the retrain in progress; False when none was running (nothing to cancel)."""
        if self.trainer is None or self.status.state not in ("waiting", "training", "evaluating"):
            return False
        self.trainer.cancel()
        return True

    # -- review: what people decide about the loop's labels ---------------------------------
    def check_labels(self):
        """Run the label-noise check now (fits the head on folds: call it off a UI's event loop)."""
        return self.loop.check_labels(self.loop_context)

    def suspicious_labels(self) -> pd.DataFrame:
        """Labels the newest noise check flagged that nobody has re-checked yet."""
        return self.loop.suspicious_labels(self.loop_context)

    def confirm_label(self, object_id, label: str | None = None, *, annotator: str | None = None):
        """Resolve a suspicious label: keep it (``label=None``) or correct it to ``label``."""
        return self.loop.confirm_label(self.loop_context, object_id, label=label, annotator=annotator or self.annotator)

    def pseudo_labels(self, *, latest_only: bool = False) -> pd.DataFrame:
        """Pseudo-labels in force (``latest_only``: those of the newest round)."""
        return self._pseudo_loop().pseudo_labels(self.loop_context, latest_only=latest_only)

    def accept_pseudo(self, object_ids=None, *, annotator: str | None = None):
        """Make pseudo-labels human labels (all in force when ``object_ids`` is None)."""
        return self._pseudo_loop().accept(self.loop_context, object_ids, annotator=annotator or self.annotator)

    def reject_pseudo(self, object_ids, *, annotator: str | None = None) -> int:
        """Retract pseudo-labels; the loop never pseudo-labels those objects again."""
        return self._pseudo_loop().reject(self.loop_context, object_ids, annotator=annotator or self.annotator)

    def certification_batch(self) -> pd.DataFrame:
        """The next batch of pseudo-labels for a person to re-certify (self-paced loops)."""
        return self._certifying_loop().certification_batch(self.loop_context)

    def certify(self, object_ids, *, reject=(), annotator: str | None = None) -> dict:
        """Accept a certification batch except ``reject``, which is rejected."""
        return self._certifying_loop().certify(self.loop_context, object_ids, reject=reject,
                                               annotator=annotator or self.annotator)

    def update_loop_settings(self, **changes) -> dict:
        """Change the loop's settings live (validated like the config); returns those in force.

        Pseudo-labelling loops retrain at once with them; the others apply them
        from the next model.
        """
        settings = self.loop.update_settings(**changes)
        if self.loop.pseudo_labelling:
            self.request_retrain()
        return settings

    def _pseudo_loop(self):
        if not self.loop.pseudo_labelling:
            raise ConfigError(f"{self.config.source}: loop.type: {self.loop.type_name!r} writes no "
                              "pseudo-labels (choose self_training, self_paced or aspl)")
        return self.loop

    def _certifying_loop(self):
        if not hasattr(self.loop, "certify"):
            raise ConfigError(f"{self.config.source}: loop.type: {self.loop.type_name!r} has no "
                              "re-certification batches (choose aspl)")
        return self.loop

    # -- persistence ------------------------------------------------------------------
    def model_path(self, version: int) -> Path:
        return self.models.path(version)

    @property
    def data_fingerprint(self) -> str:
        """What a model was trained on: the data files' contents and the feature columns.

        Saved with every model, so a model of an edited data file (or of other
        feature columns) is never taken for a model of this data.
        """
        names = "\n".join(self.pool.feature_names)
        return hashlib.sha256(f"{self.pool.data_hash}\n{names}".encode()).hexdigest()[:16]

    def restore_latest_model(self) -> ModelVersion | None:
        """Load the newest saved model (``persist_models``) and score the pool with it.

        Raises :class:`StaleModelError` when that model was trained on other
        data (its record has another data fingerprint, or none: saved by an
        alabel that did not record it); the caller retrains.
        """
        record = self.models.newest_record()
        if record is None:
            return None
        if record.get("data") != self.data_fingerprint:
            what = ("records no data fingerprint (saved by an older alabel)" if not record.get("data")
                    else "was trained on other data (the data files or data.features changed since)")
            raise StaleModelError(f"{self.models.folder}: model version {record.get('version')} {what}")
        latest = self.models.latest()
        if latest is None:
            return None
        record, head = latest
        proba = pool_proba(head, self.pool.X)
        try:
            model = ModelVersion(
                version=record["version"], head=head, classes=[str(c) for c in head.classes_],
                n_labels=int(record["n_labels"]), label_revision=int(record["label_revision"]),
                metrics=dict(record["metrics"]), train_seconds=float(record["train_seconds"]),
                finished_at=float(record["finished_at"]), proba=proba,
                n_pseudo_labels=int(record.get("n_pseudo_labels", 0)), data=str(record["data"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise self.models.damaged(record, exc) from None
        self.strategy.warm(model.proba, np.random.default_rng([self.config.seed, model.version]))
        with self._lock:
            self.model = model
        return model

    def close(self) -> None:
        """Stop the trainer; the store stays consistent (every label is already committed)."""
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        if self.trainer is not None:
            self.trainer.close()
            self.trainer = None
        close_pool = getattr(self.pool, "close", None)  # a pool on Dask closes the cluster it opened
        if close_pool is not None:
            close_pool()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
