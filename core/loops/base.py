"""The loop base class, its parameters and its registry lookup.

A loop decides what the model trains on (``prepare_training`` /
``training_set``) and what happens after each retrain (``after_model``). Every
loop, the plain active one included, also watches the models for stopping
guidance (``model_metrics``) and keeps the suspicious-labels queue of the
label-noise check (``check_labels`` / ``suspicious_labels``).

Loop settings are declared once in ``params_spec`` (:mod:`core.params`:
type, default, bounds, label, doc), validated completely at config load, and
may be changed live through :meth:`Loop.update_settings` (the dashboard's
review panel does this); a change takes effect at the next model version.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from ..errors import LabelStoreError
from ..params import Configurable, Param, fraction, integer
from ..records import ModelVersion
from .context import LoopContext

#: Label sources that count as given by people (the "human labels" of the learning curves).
HUMAN_SOURCES = ("human", "catalogue", "import")


@dataclass
class TrainingSet:
    """What the next retrain learns from.

    Rows ``[0, n_human)`` hold labels given by people (human, catalogue or
    import); the rest are pseudo-labels. Out-of-fold estimates use the human
    rows only, and learning curves count them only.

    Attributes
    ----------
    rows : ndarray of int
        Pool rows.
    y : ndarray of str
        Their labels.
    sample_weight : ndarray or None
        Per-row weights (None: all 1).
    n_human : int
        Number of leading rows that are human labels.
    info : dict
        Loop bookkeeping carried to the model version (``ModelVersion.loop_info``).
    """

    rows: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None = None
    n_human: int | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.n_human is None:
            self.n_human = len(self.y)

    @property
    def n_pseudo(self) -> int:
        return len(self.y) - int(self.n_human)

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        return self.rows, self.y, self.sample_weight


class Loop(Configurable):
    """What happens around each retrain and each query.

    The plain active loop only asks the human. Other loops (self-training,
    self-paced) add pseudo-labels after each retrain through ``after_model``
    and train on them through ``prepare_training``.

    Parameters
    ----------
    **params
        Values for the entries of ``params_spec``; missing ones take the default.
    """

    type_name: ClassVar[str] = ""
    family: ClassVar[str] = "loop"
    #: Whether the loop writes pseudo-labels (the review panel shows them when True).
    pseudo_labelling: ClassVar[bool] = False
    params_spec: ClassVar[dict[str, Param]] = {
        "stop_set_size": integer(1000, "pool rows (drawn once, seeded) on which successive models' "
                                 "predictions are compared for the stabilising-predictions criterion",
                                 low=10, label="Stability sample (rows)"),
        "stop_window": integer(3, "number of successive model comparisons averaged by the criterion", low=1,
                               label="Stability window (models)"),
        "stop_kappa": fraction(0.99, "mean Cohen's kappa between successive models above which predictions "
                               "count as stable (Bloodgood & Vijay-Shanker 2009 use 0.99)",
                               label="Stable above kappa"),
        "noise_check_every": integer(0, "run the label-noise check after every N-th new set of human labels "
                                     "(0: only when asked, e.g. from the review panel)", low=0,
                                     label="Check labels every N rounds"),
        "noise_folds": integer(5, "cross-validation folds of the label-noise check's out-of-fold "
                               "probabilities", low=2, label="Label-check folds"),
    }

    def __init__(self, **params):
        super().__init__(**params)
        self._settings_lock = threading.RLock()
        self._monitors: dict = {}  # pseudo round -> core.stopping.StabilisingPredictions
        self._last_stopping = None
        self._noise_lock = threading.Lock()
        self.noise_check = None  # latest core.noise.NoiseCheck
        self._human_key: object = None
        self._human_rounds = 0

    # -- settings ------------------------------------------------------------------
    def settings(self) -> dict:
        """The loop's current settings (a copy; ``params_spec`` says what each means)."""
        with self._settings_lock:
            return dict(self.params)

    def update_settings(self, **changes) -> dict:
        """Change settings live; validated like the config, applied at the next model version.

        Returns the new settings. Raises ConfigError (and changes nothing) on a bad value.
        """
        with self._settings_lock:
            merged = {**self.params, **changes}
            unknown = [k for k in changes if k not in self.params_spec]
            if unknown:
                self.validate_params({unknown[0]: changes[unknown[0]]}, where="settings", key="loop")
            self.params = self.validate_params(merged, where="settings", key="loop")
            return dict(self.params)

    # -- training set ---------------------------------------------------------------
    def training_set(self, context: LoopContext) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Pool rows, labels and sample weights the next retrain learns from.

        Called in the trainer's thread when a retrain is prepared. The active
        loop trains on the current human/catalogue/import train labels; loops
        that add pseudo-labels (self-training, self-paced) override
        :meth:`prepare_training` and this returns its rows, labels and weights.
        """
        train: pd.DataFrame = context.labels("train")
        return train["row"].to_numpy(), train["label"].astype(str).to_numpy(), None

    def prepare_training(self, context: LoopContext) -> TrainingSet:
        """The next retrain's :class:`TrainingSet` (the session calls this).

        The default wraps :meth:`training_set` and counts every row as a human
        label, so loops written against ``training_set`` alone keep working.
        """
        rows, y, weights = self.training_set(context)
        return TrainingSet(rows=np.asarray(rows), y=np.asarray(y), sample_weight=weights,
                           info={"human_key": human_key(context)})

    # -- after each model ---------------------------------------------------------------
    def model_metrics(self, context: LoopContext, model: ModelVersion) -> dict:
        """Extra metrics of a new model version, merged into ``model.metrics`` before it is published.

        Adds ``stopping``: the fraction of pool predictions that changed since
        the previous version and the stabilising-predictions criterion (see
        :mod:`core.stopping`). Guidance only: nothing ever stops by force.
        Models are compared with the previous model of the same kind (loops
        that alternate a teacher and a student compare teachers with teachers
        and students with students, not one with the other).
        """
        from ..evaluation.stopping import StabilisingPredictions

        if model.proba is None:
            return {}
        params = self.settings()
        kind = int((getattr(model, "loop_info", None) or {}).get("pseudo_round", 0))
        monitor = self._monitors.get(kind)
        if monitor is None or monitor.n_rows != len(model.proba):
            monitor = self._monitors[kind] = StabilisingPredictions.for_pool(
                len(model.proba), size=params["stop_set_size"], seed=context.seed,
                exclude=context.held_out_rows)
        monitor.window = params["stop_window"]
        monitor.threshold = params["stop_kappa"]
        report = monitor.update_proba(model.proba, version=model.version, n_labels=model.n_labels)
        self._last_stopping = report
        return {"stopping": report.as_dict()}

    @property
    def stopping(self):
        """The newest :class:`core.stopping.StoppingReport` (None before the first model)."""
        return self._last_stopping

    def after_model(self, context: LoopContext, model: ModelVersion) -> None:
        """Called in the trainer's thread when a new model version is published.

        The base loop counts rounds of new human labels and runs the
        label-noise check every ``noise_check_every`` such rounds.
        """
        key = model.loop_info.get("human_key") if getattr(model, "loop_info", None) else None
        new_round = key is not None and key != self._human_key
        if new_round:
            self._human_key = key
            self._human_rounds += 1
        every = self.settings()["noise_check_every"]
        if new_round and every and self._human_rounds % every == 0:
            self.check_labels(context)

    @property
    def human_rounds(self) -> int:
        """How many distinct sets of human labels the loop has seen models for (its round counter)."""
        return self._human_rounds

    # -- label-noise check (suspicious-labels queue) ----------------------------------
    def check_labels(self, context: LoopContext):
        """Run the label-noise check now and refresh the suspicious-labels queue.

        Fits ``noise_folds`` copies of the head (out-of-fold probabilities),
        so run it off the UI's event loop. Returns the :class:`core.noise.NoiseCheck`.
        """
        from ..evaluation.noise import check_session_labels

        with self._noise_lock:
            result = check_session_labels(context, folds=self.settings()["noise_folds"])
            self.noise_check = result
        return result

    def suspicious_labels(self, context: LoopContext) -> pd.DataFrame:
        """The suspicious-labels queue: flagged labels still waiting to be re-checked.

        Columns: ``object_id``, ``row``, ``label`` (given), ``suggested``
        (the class the out-of-fold model prefers), ``self_confidence``
        (out-of-fold probability of the given label), ``suggested_confidence``,
        ``rank`` (1 = most suspicious), ``event_id``, ``annotator``. A label
        leaves the queue once someone re-labels the object (with the same or
        another class) or calls :meth:`confirm_label`.
        """
        from ..evaluation.noise import SUSPICIOUS_COLUMNS

        check = self.noise_check
        if check is None or check.suspicious.empty:
            return pd.DataFrame(columns=list(SUSPICIOUS_COLUMNS))
        current = context.labels(split=None, sources=HUMAN_SOURCES).set_index("object_id")["event_id"]
        flagged = check.suspicious
        still = flagged["object_id"].map(current).to_numpy() == flagged["event_id"].to_numpy()
        confirmed = flagged["object_id"].map(self.confirmed_labels(context)).to_numpy() \
            == flagged["event_id"].to_numpy()
        return flagged[still & ~confirmed].reset_index(drop=True)

    def confirm_label(self, context: LoopContext, object_id, label: str | None = None, *,
                      annotator: str | None = None):
        """Resolve one suspicious label: keep it (``label=None``) or correct it.

        Keeping it records a ``confirm`` event in the store: the object leaves
        the queue and later checks do not flag the same label again, also
        after a restart. Correcting it records a human label (and schedules a
        retrain). Returns the event recorded.
        """
        object_id = str(object_id)
        if label is not None:
            return context.teach(object_id, label, annotator=annotator)
        current = context.labels(split=None, sources=HUMAN_SOURCES)
        match = current[current["object_id"] == object_id]
        if match.empty:
            raise LabelStoreError(f"confirm_label: object {object_id!r} has no human label to confirm")
        return context.confirm(str(match["event_id"].iloc[0]), annotator=annotator or context.annotator)

    def confirmed_labels(self, context: LoopContext) -> dict[str, str]:
        """Labels a person re-checked and kept (object id -> event id), read from the store."""
        return context.confirmed()


def human_key(context: LoopContext, labels: pd.DataFrame | None = None) -> int:
    """A fingerprint of the human train labels (which objects, which classes).

    Equal keys mean the same human training labels; pseudo-label loops use it
    to tell a retrain on new human labels from one on new pseudo-labels.
    """
    if labels is None:
        labels = context.labels("train")
    if labels.empty:
        return 0
    hashed = pd.util.hash_pandas_object(labels[["object_id", "label"]].astype(str), index=False)
    # A sum is independent of row order; the count guards against cancelling collisions.
    return hash((int(hashed.to_numpy().sum(dtype=np.uint64)), len(labels)))
