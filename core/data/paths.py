"""Confine file paths found in data columns to one folder.

An image path in a data column is read by the dashboard's server; without a
fence, ``../../home/user/.ssh/id_rsa`` or a symlink in the data folder would
let a table read any file the server can. Every path is resolved (``..`` and
symlinks included) and must stay under the root.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError


def confine(value: Any, root: Path) -> Path:
    """Resolve ``value`` (relative to ``root`` or absolute) inside ``root``.

    Parameters
    ----------
    value
        A path as found in a data column.
    root
        The folder every data path must stay in.

    Returns
    -------
    pathlib.Path
        The resolved path of an existing file under ``root``.

    Raises
    ------
    DataError
        When the value is empty or missing, escapes ``root`` (through ``..``,
        an absolute path or a symlink), or names no existing file.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)) or not str(value).strip():
        raise DataError(f"data.root ({root}): empty path {value!r}")
    if not isinstance(value, (str, os.PathLike)):
        raise DataError(f"data.root ({root}): expected a path, got {value!r}")
    real_root = Path(os.path.realpath(root))
    # realpath follows every symlink and collapses "..", so what is checked is
    # the file that would really be opened.
    target = Path(os.path.realpath(real_root / Path(value).expanduser()))
    if not target.is_relative_to(real_root):
        raise DataError(f"data.root ({root}): path {str(value)!r} points outside the data root")
    if not target.is_file():
        raise DataError(f"data.root ({root}): path {str(value)!r} is not an existing file")
    return target
