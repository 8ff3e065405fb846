"""A pool whose model predictions a test scripts row by row.

``idx`` (the row number) is a feature, so :class:`ScriptedHead` can answer
``predict_proba`` from the module-level :data:`SCRIPT` array, which a test
rewrites between rounds to make the model "change its mind".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from alabel.core.heads.base import Head

CLASSES = ["a", "b", "c"]
#: (N, 3) probabilities the scripted head returns for pool rows; tests assign it.
SCRIPT: dict[str, np.ndarray] = {}
#: Every fit's (n_rows, labels) is appended here.
FITS: list[tuple[int, list[str]]] = []


class ScriptedHead(Head):
    """Returns ``SCRIPT["proba"][idx]`` whatever it was trained on."""

    type_name = "test_scripted"

    def __init__(self, classes=None, random_state=None):
        self.classes = classes
        self.random_state = random_state

    def _fit(self, X, y, sample_weight):
        FITS.append((len(y), [str(self.classes_[i]) for i in y]))

    def _predict_proba(self, X):
        rows = np.asarray(X[:, 0], dtype=np.int64)
        return SCRIPT["proba"][rows]


def write_scripted(folder: Path, n: int = 60, **overrides) -> Path:
    """A pool of ``n`` rows (truth cycles a, b, c) and a config using ScriptedHead."""
    truth = np.array(CLASSES)[np.arange(n) % 3]
    frame = pd.DataFrame({"obj": [f"o{i}" for i in range(n)], "idx": np.arange(n, dtype="float32"),
                          "x": np.arange(n) % 3, "truth": truth})
    frame.to_parquet(folder / "scripted.parquet", index=False)
    cfg = {
        "name": "scripted", "seed": 0,
        "data": {"sources": [{"path": "scripted.parquet"}], "id_column": "obj",
                 "features": {"numeric": ["idx", "x"]}, "ground_truth": "truth"},
        "classes": list(CLASSES),
        "head": {"type": "loop_fixtures.ScriptedHead"},
        "strategy": {"type": "margin"},
        "loop": {"type": "self_training", "batch_size": 5, "initial_labels": 6,
                 "params": {"tau": 0.9, "max_ratio": None}},
        "training": {"coalesce_s": 0.0, "min_labels": 1},
        "labels": {"store": "labels.sqlite", "models": "models"},
    }
    cfg.update(overrides)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def confident(n: int, labels, p: float = 0.97) -> np.ndarray:
    """Probabilities that put ``p`` on each row's class in ``labels`` (a class name per row)."""
    out = np.full((n, 3), (1 - p) / 2)
    out[np.arange(n), [CLASSES.index(c) for c in labels]] = p
    return out
