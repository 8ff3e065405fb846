"""Small, fast sessions on synthetic data for engine tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CLASSES = ["a", "b", "c"]
REPO_ROOT = Path(__file__).resolve().parents[2]


def write_table(folder: Path, n: int = 300, seed: int = 0) -> Path:
    """Three well-separated Gaussian blobs with a NaN-bearing feature and a categorical."""
    rng = np.random.default_rng(seed)
    y = np.array(CLASSES)[np.arange(n) % 3]
    centres = {"a": (0, 0), "b": (4, 0), "c": (0, 4)}
    xy = np.array([centres[c] for c in y]) + rng.normal(scale=0.7, size=(n, 2))
    extra = rng.normal(size=n)
    extra[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({
        "obj": np.arange(1000, 1000 + n), "x": xy[:, 0].astype("float32"),
        "y": xy[:, 1].astype("float32"), "noise": extra.astype("float32"),
        "colour": np.where(rng.random(n) < 0.5, "red", "blue"), "truth": y,
    })
    path = folder / "blobs.parquet"
    frame.to_parquet(path, index=False)
    return path


def config_dict(**overrides) -> dict:
    cfg = {
        "name": "blobs",
        "seed": 0,
        "data": {"sources": [{"path": "blobs.parquet"}], "id_column": "obj",
                 "features": {"numeric": ["x", "y", "noise"], "categorical": ["colour"]},
                 "ground_truth": "truth"},
        "classes": list(CLASSES),
        "head": {"type": "logistic_regression", "scale": True},
        "strategy": {"type": "margin"},
        "loop": {"batch_size": 5, "initial_labels": 6},
        "training": {"coalesce_s": 0.0},
        "labels": {"store": "labels.sqlite", "models": "models"},
    }
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


def write_config(folder: Path, n: int = 300, **overrides) -> Path:
    write_table(folder, n=n)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config_dict(**overrides), sort_keys=False))
    return path


# ---------------------------------------------------------------------------
# heads that let a test control training from outside
# ---------------------------------------------------------------------------
import os  # noqa: E402
import threading  # noqa: E402

from sklearn.linear_model import LogisticRegression  # noqa: E402

from alabel.core.heads.base import Head  # noqa: E402

#: Set by tests; GatedHead.fit blocks until it is set.
GATE = threading.Event()
#: Set by GatedHead.fit when a fit has started (thread backend only).
FIT_STARTED = threading.Event()
FAIL = threading.Event()


class GatedHead(Head):
    """Logistic regression whose fit waits for ``GATE`` (a retrain the test can hold open)."""

    # No registered type name: these test heads are named by dotted path only, so they never
    # join the registry-wide head contract tests.
    type_name = ""

    def __init__(self, classes=None, random_state=None):
        self.classes = classes
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        FIT_STARTED.set()
        if not GATE.wait(timeout=30):
            raise TimeoutError("test gate never opened")
        if FAIL.is_set():
            raise RuntimeError("training failed on purpose")
        X = np.nan_to_num(np.asarray(X, dtype=float))
        self.model_ = LogisticRegression(max_iter=500).fit(X, y)
        self.classes_ = np.array(self.classes if self.classes is not None else self.model_.classes_)
        self.n_fit_labels_ = len(y)
        self.fit_pid_ = os.getpid()
        return self

    def predict_proba(self, X):
        X = np.nan_to_num(np.asarray(X, dtype=float))
        inner = self.model_.predict_proba(X)
        out = np.zeros((len(X), len(self.classes_)))
        for j, c in enumerate(self.model_.classes_):
            out[:, list(self.classes_).index(c)] = inner[:, j]
        return out


class PidHead(GatedHead):
    """Records the process it was fitted in, never blocks (process-backend tests)."""


    def fit(self, X, y, sample_weight=None):
        GATE.set()
        return super().fit(X, y, sample_weight)


class SpinHead(GatedHead):
    """Burns CPU in fit until killed (cancellation of the process backend)."""


    def fit(self, X, y, sample_weight=None):
        x = 0
        while True:  # CPU-bound, never sleeps: only killing the process stops it
            x += 1
