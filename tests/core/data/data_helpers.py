"""Small tables and specs shared by the data tests (imported by name: unique module)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def small_frame() -> pd.DataFrame:
    """Six objects: numeric (with a NaN), categorical (with a NaN), arrays, label."""
    return pd.DataFrame(
        {
            "id": [10, 11, 12, 13, 14, 15],
            "a": np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=np.float32),
            "b": [0.5, np.nan, 1.5, 2.5, np.nan, 3.5],
            "region": ["LMC", "SMC", None, "LMC", "BLG", "SMC"],
            "arr": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0], [11.0, 12.0]],
            "label": ["x", "y", "x", "y", "z", "x"],
        }
    )


BASE_SPEC = {
    "sources": [{"path": "table.parquet"}],
    "id_column": "id",
    "features": {"numeric": ["a", "b"], "categorical": ["region"]},
    "ground_truth": "label",
}
