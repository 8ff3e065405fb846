"""Small sessions for the dashboard's unit tests (no server, no browser)."""
from __future__ import annotations

from waiting import wait_for  # noqa: F401  (re-exported for the dashboard tests)

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CLASSES = ["a", "b", "c"]


def write_table(folder: Path, n: int = 300, seed: int = 0) -> Path:
    """Three separated blobs in (x, y), a noisy feature, a text column and ground truth."""
    rng = np.random.default_rng(seed)
    truth = np.array(CLASSES)[np.arange(n) % 3]
    centres = {"a": (0.0, 0.0), "b": (5.0, 0.0), "c": (0.0, 5.0)}
    xy = np.array([centres[c] for c in truth]) + rng.normal(scale=0.6, size=(n, 2))
    frame = pd.DataFrame({
        "obj": np.arange(1000, 1000 + n), "x": xy[:, 0].astype("float32"), "y": xy[:, 1].astype("float32"),
        "noise": rng.normal(size=n).astype("float32"),
        "name": [f"star-{i:04d}" for i in range(n)], "truth": truth,
    })
    path = folder / "blobs.parquet"
    frame.to_parquet(path, index=False)
    return path


def config_dict(**overrides) -> dict:
    cfg = {
        "name": "blobs",
        "seed": 0,
        "data": {"sources": [{"path": "blobs.parquet"}], "id_column": "obj",
                 "features": {"numeric": ["x", "y", "noise"]}, "ground_truth": "truth",
                 "detail": [{"column": "name", "kind": "text"}]},
        "classes": list(CLASSES),
        "head": {"type": "logistic_regression", "scale": True},
        "strategy": {"type": "margin"},
        "loop": {"batch_size": 5, "initial_labels": 4},
        "training": {"coalesce_s": 0.0, "evaluation_folds": 2},
        "labels": {"store": "labels.sqlite", "models": "models"},
        "ui": {"scatter": {"x": "x", "y": "y"}},
    }
    cfg.update(overrides)
    return cfg


def write_config(folder: Path, n: int = 300, **overrides) -> Path:
    write_table(folder, n=n)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config_dict(**overrides), sort_keys=False))
    return path


def truth_of(session, object_id: str) -> str:
    return str(session.pool.ground_truth[session.pool.index_of([object_id])[0]])
