"""Filters on column values: find objects by hand, and draw test objects within them.

A filter is ``(column, op, value)``. Values typed in the browser are parsed
against the column's type here, with one-line errors naming the column, and
applied with vectorised pandas comparisons: no expression is ever evaluated,
so nothing typed in a browser runs as code on the server.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alabel.core.errors import DataError, did_you_mean

#: Operators a filter may use, with what they mean in the UI.
OPERATORS = {
    "==": "equals",
    "!=": "differs from",
    "<": "less than",
    "<=": "at most",
    ">": "greater than",
    ">=": "at least",
    "contains": "contains (text, case-insensitive)",
    "is missing": "has no value",
    "is present": "has a value",
}
_UNARY = ("is missing", "is present")


@dataclass(frozen=True)
class Filter:
    """One condition on one column."""

    column: str
    op: str
    value: object = None

    def __str__(self) -> str:
        if self.op in _UNARY:
            return f"{self.column} {self.op}"
        return f"{self.column} {self.op} {self.value!r}"


def filterable_columns(frame: pd.DataFrame) -> list[str]:
    """Columns whose cells are scalars (array-valued columns cannot be compared)."""
    arrays = getattr(frame, "array_columns", None)
    if arrays is not None:  # a pool on disk (data.backend: dask) knows them from its schema
        return [str(c) for c in frame.columns if c not in arrays]
    out = []
    for column in frame.columns:
        series = frame[column]
        if series.dtype == object and len(series):
            first = series.dropna().head(1)
            if len(first) and isinstance(first.iloc[0], (list, tuple, np.ndarray, dict)):
                continue
        out.append(str(column))
    return out


def parse_filter(frame: pd.DataFrame, column: str, op: str, text: str | None = None) -> Filter:
    """Validate a filter typed in the UI against the pool's columns.

    Raises
    ------
    DataError
        Naming the column (with a close match) or the value that does not fit it.
    """
    columns = filterable_columns(frame)
    if column not in columns:
        raise DataError(f"filter: column {column!r} is not in the data{did_you_mean(column, columns)}")
    if op not in OPERATORS:
        raise DataError(f"filter: operator {op!r} is not one of {', '.join(OPERATORS)}")
    if op in _UNARY:
        return Filter(column, op)
    text = "" if text is None else str(text).strip()
    if not text:
        raise DataError(f"filter: {column} {op}: type a value")
    series = frame[column]
    if op == "contains":
        return Filter(column, op, text)
    if pd.api.types.is_bool_dtype(series):
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise DataError(f"filter: {column} {op}: {text!r} is not true or false")
        return Filter(column, op, lowered in ("true", "1"))
    if pd.api.types.is_numeric_dtype(series):
        try:
            value = float(text)
        except ValueError:
            raise DataError(f"filter: {column} {op}: {text!r} is not a number (column {column!r} is numeric)") \
                from None
        return Filter(column, op, value)
    if op not in ("==", "!="):
        raise DataError(f"filter: {column} {op}: column {column!r} holds text; use ==, != or contains")
    return Filter(column, op, text)


def filter_mask(frame: pd.DataFrame, filters: list[Filter] | tuple[Filter, ...]) -> np.ndarray:
    """Rows matching every filter (all rows when there is none)."""
    mask = np.ones(len(frame), dtype=bool)
    for f in filters:
        mask &= _one(frame[f.column], f)
    return mask


def _one(series: pd.Series, f: Filter) -> np.ndarray:
    if f.op == "is missing":
        return series.isna().to_numpy()
    if f.op == "is present":
        return series.notna().to_numpy()
    if f.op == "contains":
        return series.astype("string").str.contains(str(f.value), case=False, regex=False,
                                                    na=False).to_numpy(dtype=bool)
    values = series
    if isinstance(f.value, str) and not pd.api.types.is_string_dtype(series):
        values = series.astype("string")  # categorical or mixed columns compare as text
    compare = {"==": values.__eq__, "!=": values.__ne__, "<": values.__lt__, "<=": values.__le__,
               ">": values.__gt__, ">=": values.__ge__}[f.op]
    result = compare(f.value)
    return np.asarray(result.fillna(False) if hasattr(result, "fillna") else result, dtype=bool)
