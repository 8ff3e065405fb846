"""Object ids as text: one rule for the data reader and the label store.

An object id is text. Ids that a file stores as numbers become text by one
rule everywhere, so the id the data reader gives an object and the id a label
file (or a caller) names it with are the same string:

* integers, and floats with an integral value (a Parquet int column with a gap
  turns into float64), become their decimal digits: ``7``, ``7.0`` -> ``'7'``;
* other floats become their shortest round-trip text: ``0.1`` -> ``'0.1'``;
* text stays exactly as written (``'025'`` keeps its zero: CSV id columns are
  read as text, never parsed as numbers).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["id_text", "ids_as_text"]

# Floats above 2**53 are not exact integers any more: keep their float text.
_EXACT = 2.0 ** 53


def id_text(value) -> str:
    """One id (or label) as text: ``7``, ``np.int64(7)`` and ``7.0`` all give ``'7'``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if number.is_integer() and abs(number) < _EXACT:
            return str(int(number))
        return repr(number)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def ids_as_text(column: pd.Series) -> np.ndarray:
    """A column of ids as an object array of ``str`` by :func:`id_text`'s rule (vectorised)."""
    if pd.api.types.is_integer_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=np.float64)
        integral = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < _EXACT)
        out = np.empty(len(values), dtype=object)
        out[integral] = values[integral].astype(np.int64).astype(str)
        out[~integral] = [repr(float(v)) for v in values[~integral]]
        return out
    if pd.api.types.infer_dtype(column, skipna=False) == "string":
        return column.astype(str).to_numpy(dtype=object)
    # Mixed cells (numbers beside text in one object column): one by one.
    return np.fromiter((id_text(v) for v in column.to_numpy(dtype=object)), dtype=object, count=len(column))
