"""Per-object predictions of a model version, as a table for ``alabel score``."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError


def score_table(session, model) -> pd.DataFrame:
    """Prediction, class probabilities and uncertainty measures for every pool row."""
    from .strategies import scores

    proba = model.proba
    table = pd.DataFrame({"id": session.pool.ids, "prediction": model.prediction})
    for j, name in enumerate(model.classes):
        table[f"proba_{name}"] = proba[:, j]
    table["uncertainty"] = scores.least_confidence(proba)
    # scores.margin is "higher = more uncertain" (negative margin); report the margin itself.
    table["margin"] = -scores.margin(proba)
    table["entropy"] = scores.entropy(proba)
    current = session.labels(split=None, sources=None)
    label = np.full(session.pool.n, None, dtype=object)
    source = np.full(session.pool.n, None, dtype=object)
    label[current["row"].to_numpy()] = current["label"].to_numpy()
    source[current["row"].to_numpy()] = current["source"].to_numpy()
    table["label"] = label
    table["label_source"] = source
    table["model_version"] = model.version
    return table


def check_output_path(path: str | Path) -> str:
    """The output format of ``path`` (``.csv`` or ``.parquet``), or a one-line ConfigError."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(f"{path}: unknown output format {suffix or '(none)'!r}; use .csv or .parquet")
    return suffix


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write CSV or Parquet by the file's extension."""
    path = Path(path)
    suffix = check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    return path
