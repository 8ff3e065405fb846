"""Read the source tables of a spec, check their ids, hash them and join them."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, did_you_mean
from ..ids import ids_as_text
from .formats import format_for
from .spec import DataSpec, SourceSpec


@dataclass
class JoinedSources:
    """The joined table and where each of its columns came from."""

    frame: pd.DataFrame
    #: Object ids as str, in the first source's row order.
    ids: np.ndarray
    #: column name → path of the source file that holds it.
    origin: dict[str, Path]
    #: sha256 of each source file, in spec order.
    hashes: tuple[str, ...]
    #: Path of each source file, in spec order.
    paths: tuple[Path, ...]

    def require(self, column: str, key: str) -> Path:
        """Path of the file holding ``column``; DataError naming the key if none does."""
        if column in self.origin:
            return self.origin[column]
        files = ", ".join(str(p) for p in self.paths)
        raise DataError(f"{files}: {key}: column {column!r} not found{did_you_mean(column, self.frame.columns)}")


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (large files stay off the heap)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_source(source: SourceSpec, index: int, id_column: str) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Read one source, checking its file, hash and id column.

    Returns
    -------
    frame, ids, sha256
        The table, its ids as str, and the file's content hash.
    """
    path = source.path
    if not path.is_file():
        what = "is not a file" if path.exists() else "not found"
        raise DataError(f"{path}: data file {what} (data.sources[{index}].path)")
    fmt = format_for(path, source.format)
    digest = file_sha256(path)
    if source.sha256 is not None and digest != source.sha256:
        raise DataError(
            f"{path}: sha256 mismatch (data.sources[{index}].sha256 is {source.sha256[:12]}..., "
            f"the file's is {digest[:12]}...): the file changed since the config was written"
        )
    frame = fmt.load(path, text_columns=(id_column,))
    if len(frame) == 0:
        raise DataError(f"{path}: the table has no rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame, _ids(frame, path, id_column, joined=index > 0), digest


def _ids(frame: pd.DataFrame, path: Path, id_column: str, *, joined: bool) -> np.ndarray:
    """The id column as an array of str; missing or duplicate ids are errors."""
    if id_column not in frame.columns:
        why = " (every joined source needs it)" if joined else ""
        raise DataError(
            f"{path}: data.id_column: column {id_column!r} not found{did_you_mean(id_column, frame.columns)}{why}"
        )
    raw = frame[id_column]
    missing = raw.isna().to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)
        raise DataError(
            f"{path}: data.id_column: column {id_column!r} has {len(rows)} missing value(s) (rows {_first(rows)})"
        )
    # One rule with the label store (core/ids.py): ids typed as numbers in the file
    # (Parquet, FITS) read 7 and 7.0 alike, so a column that became float keeps its labels.
    ids = ids_as_text(raw)
    # Integer ids map one-to-one onto their text, and hashing ints is much
    # faster than hashing a million strings; other dtypes are checked as text.
    exact = pd.api.types.is_integer_dtype(raw)
    dup = (raw.duplicated(keep="first") if exact else pd.Index(ids).duplicated(keep="first"))
    dup = np.asarray(dup)
    if dup.any():
        values = pd.unique(ids[dup])
        raise DataError(
            f"{path}: data.id_column: column {id_column!r} has {len(values)} duplicated id(s) "
            f"({_first(values, quote=True)})"
        )
    return ids


def join_sources(spec: DataSpec) -> JoinedSources:
    """Read every source and left-join the others onto the first on the id column."""
    first, ids, digest = read_source(spec.sources[0], 0, spec.id_column)
    first = first.reset_index(drop=True)
    origin = {c: spec.sources[0].path for c in first.columns}
    hashes = [digest]
    parts = [first]
    for i, source in enumerate(spec.sources[1:], start=1):
        other, other_ids, digest = read_source(source, i, spec.id_column)
        hashes.append(digest)
        other = other.drop(columns=[spec.id_column])
        clash = [c for c in other.columns if c in origin]
        if clash:
            raise DataError(
                f"{source.path}: column {clash[0]!r} is also in {origin[clash[0]]}; "
                f"rename it in one source (only {spec.id_column!r} may appear in several)"
            )
        # Reindex on str ids: vectorised, keeps the first source's row order,
        # and an int id in one file matches the same id read as text in another.
        other.index = pd.Index(other_ids)
        parts.append(other.reindex(ids).reset_index(drop=True))
        origin.update({c: source.path for c in other.columns})
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, axis=1)
    return JoinedSources(
        frame=frame, ids=ids, origin=origin, hashes=tuple(hashes), paths=tuple(s.path for s in spec.sources)
    )


def _first(values, n: int = 5, quote: bool = False) -> str:
    """'a, b, c, ...' — the first few values for an error message."""
    shown = [repr(str(v)) if quote else str(v) for v in list(values)[:n]]
    return ", ".join(shown) + (", ..." if len(values) > n else "")
