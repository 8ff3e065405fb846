"""Plain records handed between the engine's parts and to its users (no behaviour beyond reading them).

A finished model version, the prediction of one row, a queried object and an
oracle's evaluation rows are produced by one part (the trainer, the planner,
the simulator) and read by others (the session, loops, the dashboard, the
CLI); keeping them here lets those parts depend on the records without
depending on each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
    data: str = ""  # fingerprint of the data it was trained on (Session.data_fingerprint)

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
                "finished_at": self.finished_at, "metrics": self.metrics, "data": self.data}


@dataclass(frozen=True)
class Prediction:
    """The newest model's class for one pool row, and which model said so."""

    label: str
    confidence: float
    model_version: int


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
