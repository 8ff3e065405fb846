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

    def read(self, path: Path, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
        # Ids as written: parsed as numbers, "025" would become 25 and one "10.5"
        # would turn every id of the column into a float ("3" -> "3.0").
        return pd.read_csv(path, dtype={column: str for column in text_columns})
