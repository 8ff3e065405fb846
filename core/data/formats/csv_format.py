"""Comma-separated text files."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .base import DataFormat


class CsvFormat(DataFormat):
    """CSV with a header row; compressed files are decompressed by pandas."""

    type_name = "csv"
    extensions = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")
    # UnicodeDecodeError and pandas' ParserError/EmptyDataError are ValueErrors.
    read_errors = (OSError, ValueError)

    def read(self, path: Path) -> pd.DataFrame:
        return pd.read_csv(path)
