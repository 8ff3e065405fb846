"""Apache Parquet files."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .base import DataFormat


class ParquetFormat(DataFormat):
    """Parquet through pyarrow; list columns arrive as object columns of arrays."""

    type_name = "parquet"
    extensions = (".parquet", ".pq")
    # pyarrow's ArrowInvalid is a ValueError and ArrowIOError an OSError.
    read_errors = (OSError, ValueError)

    def read(self, path: Path, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
        return pd.read_parquet(path)
