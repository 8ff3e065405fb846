"""FITS binary/ASCII tables (astronomy), read with astropy."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .base import DataFormat


class FitsFormat(DataFormat):
    """The first table HDU of a FITS file.

    FITS stores numbers big-endian and strings as padded bytes; both are
    converted to what pandas and numpy expect (native byte order, ``str``).
    Columns with more than one value per row (a spectrum, an image) become
    object columns holding one numpy array per row.
    """

    type_name = "fits"
    extensions = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
    # astropy raises OSError for a non-FITS file, ValueError when no table HDU
    # exists, TypeError/KeyError for some malformed headers.
    read_errors = (OSError, ValueError, TypeError, KeyError)

    def read(self, path: Path, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
        from astropy.table import Table  # astropy is slow to import: only when needed
        from astropy.units import UnitsWarning

        with warnings.catch_warnings():
            # Non-standard unit strings are common in catalogues and irrelevant here.
            warnings.simplefilter("ignore", UnitsWarning)
            table = Table.read(path, format="fits")
        return pd.DataFrame({name: _column(table[name]) for name in table.colnames})


def _column(col) -> np.ndarray | list:
    """One astropy column as a native-endian 1-D array (or list of arrays)."""
    mask = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)))
    data = np.asarray(col)
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    if data.ndim > 1:
        return _array_column(data, mask)
    if data.dtype.kind == "S":
        values = np.char.rstrip(np.char.decode(data, "utf-8")).astype(object)
        if mask.any():
            values[mask] = None
        return values
    if data.dtype.kind == "U":
        values = data.astype(object)
        if mask.any():
            values[mask] = None
        return values
    if mask.any():
        # Masked integers/bools have no NaN: widen to float so they can be missing.
        data = data.astype(np.float64) if data.dtype.kind in "iub" else data.copy()
        data[mask] = np.nan
    return data


def _array_column(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rows of a multi-dimensional column as an object array of arrays."""
    out = np.empty(len(data), dtype=object)
    for i in range(len(data)):
        row = data[i]
        if mask.ndim > 1 and mask[i].any():
            row = row.astype(np.float64)
            row[mask[i]] = np.nan
        out[i] = row
    return out
