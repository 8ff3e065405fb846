"""The pool: every object to label, with its id, features and ground truth.

``load_pool`` reads and joins the sources of a :class:`DataSpec`, validates
them (each problem a one-line :class:`DataError` naming the file and the
column), and builds the feature matrix once. Row ``i`` of ``frame``, ``ids``,
``X`` and ``ground_truth`` is the same object everywhere: these global
indices are what the label store, the strategies and the dashboard share.
"""
from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..ids import id_text
from ..memory import release_freed_memory
from .features import FeatureBuilder
from .paths import confine
from .sources import JoinedSources, join_sources
from .spec import DataSpec


class DataWarning(UserWarning):
    """Something in the data is legal but probably not what the user wants."""


class Pool:
    """The loaded data set.

    Attributes
    ----------
    frame : pandas.DataFrame
        All columns of all sources, joined; ``RangeIndex`` 0..N-1 in the
        first source's row order.
    ids : numpy.ndarray
        Object ids as ``str`` (object dtype), unique.
    X : numpy.ndarray
        ``(N, D)`` float32 model features; NaN marks a missing value.
    feature_names : list of str
        ``D`` names: the column, ``column=category`` for one-hot,
        ``column[i]`` for arrays, ``column:featurizer[i]`` for embeddings.
    ground_truth : numpy.ndarray or None
        Known class per object as ``str`` (None where missing), or None when
        the spec names no ground-truth column.
    spec : DataSpec
        The spec the pool was loaded from.
    data_hash : str
        sha256 of the source file (one source) or of the sources' hashes.
    source_hashes : tuple of str
        sha256 of each source file, in spec order.
    root : pathlib.Path
        Folder confining paths found in data columns (see ``resolve_path``).
    """

    #: The whole table is in this process (``core.data.dask_session_pool.DaskSessionPool``: False).
    in_memory = True

    def __init__(
        self,
        *,
        frame: pd.DataFrame,
        ids: np.ndarray,
        X: np.ndarray,
        feature_names: list[str],
        ground_truth: np.ndarray | None,
        spec: DataSpec,
        source_hashes: tuple[str, ...],
    ):
        self.frame = frame
        self.ids = ids
        self.X = X
        self.feature_names = feature_names
        self.ground_truth = ground_truth
        self.spec = spec
        self.source_hashes = source_hashes
        self.data_hash = (
            source_hashes[0]
            if len(source_hashes) == 1
            else hashlib.sha256("\n".join(source_hashes).encode()).hexdigest()
        )
        self.root = spec.root_dir
        self._index = pd.Index(ids)

    @property
    def n(self) -> int:
        """Number of objects."""
        return len(self.ids)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"Pool(n={self.n}, features={self.X.shape[1]}, source={self.spec.sources[0].path.name!r})"

    @property
    def classes(self) -> list[str]:
        """Sorted distinct ground-truth classes (empty without ground truth)."""
        if self.ground_truth is None:
            return []
        return sorted({c for c in self.ground_truth if c is not None})

    def rows_of(self, object_ids: Iterable[Any]) -> np.ndarray:
        """The row of each object id (compared as text), -1 for ids the pool does not have.

        The one id → row index of a session: the session and its planner look
        rows up here instead of keeping copies of it.
        """
        return rows_in_index(self._index, object_ids)

    def index_of(self, object_ids: Iterable[Any] | str) -> np.ndarray:
        """Row indices of the given object ids (compared as text, see :mod:`core.ids`).

        Raises
        ------
        DataError
            Naming the first id that is not in the pool.
        """
        if isinstance(object_ids, (str, bytes)) or np.ndim(object_ids) == 0:
            object_ids = [object_ids]
        wanted = np.asarray([id_text(i) for i in object_ids], dtype=object)
        rows = self._index.get_indexer(wanted)
        unknown = rows < 0
        if unknown.any():
            raise DataError(
                f"{self.spec.sources[0].path}: unknown object id {wanted[unknown][0]!r} "
                f"({int(unknown.sum())} of {len(wanted)} ids not in column {self.spec.id_column!r})"
            )
        return rows.astype(np.intp)

    def detail(self, row: int) -> dict[str, Any]:
        """Column → value of one object for the detail view.

        The columns are those of ``spec.detail`` (all columns when none are
        declared); numpy scalars become Python values and missing ones None.
        """
        if not 0 <= int(row) < self.n:
            raise DataError(f"{self.spec.sources[0].path}: row {row} out of range (the pool has {self.n} rows)")
        columns = [d.column for d in self.spec.detail] or list(self.frame.columns)
        return {c: _plain(self.frame.at[int(row), c]) for c in columns}

    def resolve_path(self, value: Any) -> Path:
        """The file a path found in the data points to, confined to ``root``.

        Raises
        ------
        DataError
            When the path escapes ``root`` (``..``, absolute, symlink) or does
            not name an existing file.
        """
        return confine(value, self.root)


def load_pool(spec: DataSpec, *, require_ground_truth: bool = False, cache_dir: Path | None = None) -> Pool:
    """Read, validate and join the sources of ``spec`` into a :class:`Pool`.

    Parameters
    ----------
    spec
        A validated data spec.
    require_ground_truth
        Demand a ground-truth column with at least two classes (simulation
        needs an oracle; labelling from scratch does not).
    cache_dir
        Folder for cached featurizer results (None: no cache).

    Raises
    ------
    DataError
        On the first problem found, naming the file and the column.
    """
    if spec.backend != "memory":  # e.g. simulate or a bundle: they need every row in this process
        raise DataError(f"{spec.sources[0].path}: data.backend {spec.backend}: this command reads the whole "
                        "pool into memory; run it on a config with data.backend: memory (a sample of the catalogue)")
    joined = join_sources(spec)
    first = spec.sources[0].path
    for i, d in enumerate(spec.detail):
        joined.require(d.column, f"data.detail[{i}].column")
        for role, column in d.columns.items():
            joined.require(column, f"data.detail[{i}].columns.{role}")
    for i, column in enumerate(spec.hidden):
        joined.require(column, f"data.hidden[{i}]")
    if spec.root is not None and not spec.root.is_dir():
        raise DataError(f"{spec.root}: data.root: folder not found")
    ground_truth = _ground_truth(spec, joined)
    builder = FeatureBuilder(spec, joined)

    keep = None
    if spec.missing == "drop":
        missing = builder.missing_rows()
        if missing.all():
            raise DataError(f"{first}: data.missing: drop would remove every row (each has a missing feature)")
        if missing.any():
            keep = ~missing
            _warn_lost_classes(spec, ground_truth, keep, first)

    X, names = builder.build(keep, cache_dir=cache_dir)
    frame, ids = joined.frame, joined.ids
    if keep is not None:
        frame = frame.loc[keep].reset_index(drop=True)
        ids = ids[keep]
        ground_truth = None if ground_truth is None else ground_truth[keep]
    if require_ground_truth:
        _check_classes(spec, joined, ground_truth)
    if ground_truth is not None:
        _warn_leaks(spec, frame, ground_truth, first)
    pool = Pool(
        frame=frame,
        ids=ids,
        X=X,
        feature_names=names,
        ground_truth=ground_truth,
        spec=spec,
        source_hashes=joined.hashes,
    )
    del joined
    release_freed_memory()  # the reading's temporaries: give them back (core/memory.py)
    return pool


def _ground_truth(spec: DataSpec, joined: JoinedSources) -> np.ndarray | None:
    """The ground-truth column as str (None where missing), or None if undeclared."""
    if spec.ground_truth is None:
        return None
    joined.require(spec.ground_truth, "data.ground_truth")
    col = joined.frame[spec.ground_truth]
    present = col.notna().to_numpy()
    out = np.full(len(col), None, dtype=object)
    # One str object per class, shared by its rows (8 bytes a row, not a ~60-byte string each).
    codes, classes = pd.factorize(col[present].astype(str))
    out[present] = np.asarray(classes, dtype=object)[codes]
    return out


def _check_classes(spec: DataSpec, joined: JoinedSources, ground_truth: np.ndarray | None) -> None:
    files = ", ".join(str(p) for p in joined.paths)
    if ground_truth is None:
        raise DataError(f"{files}: data.ground_truth: a ground-truth column is required here (e.g. for simulate)")
    classes = pd.unique(ground_truth[ground_truth != None])  # noqa: E711 (elementwise)
    if len(classes) < 2:
        path = joined.origin[spec.ground_truth]
        raise DataError(
            f"{path}: data.ground_truth: column {spec.ground_truth!r} has {len(classes)} class(es) "
            f"({', '.join(map(repr, classes)) or 'none'}); at least 2 are needed"
        )


def _warn_leaks(spec: DataSpec, frame: pd.DataFrame, ground_truth: np.ndarray, path: Path) -> None:
    """Warn for every plain feature that predicts the ground truth on its own (it gives the class away)."""
    from ..checks import leaky_columns

    features = spec.features
    for leak in leaky_columns(frame, features.numeric + features.categorical, ground_truth):
        kind = "numeric" if leak.column in features.numeric else "categorical"
        warnings.warn(leak.message(str(path), f"data.features.{kind}", f"data.ground_truth {spec.ground_truth!r}"),
                      DataWarning, stacklevel=3)


def _warn_lost_classes(spec: DataSpec, ground_truth: np.ndarray | None, keep: np.ndarray, path: Path) -> None:
    """Warn for every ground-truth class that ``missing: drop`` removes entirely."""
    if ground_truth is None:
        return
    before = set(ground_truth[ground_truth != None])  # noqa: E711
    after = set(ground_truth[keep & (ground_truth != None)])  # noqa: E711
    for cls in sorted(before - after):
        warnings.warn(
            f"{path}: data.missing: drop removes every row of class {cls!r} of ground-truth column "
            f"{spec.ground_truth!r} (all of them have a missing feature); use missing: impute to keep them",
            DataWarning,
            stacklevel=3,
        )


def rows_in_index(index: pd.Index, object_ids: Iterable[Any]) -> np.ndarray:
    """The row of each object id in ``index`` (an index of id texts), -1 for the ids it lacks."""
    return index.get_indexer(np.asarray([id_text(i) for i in object_ids], dtype=object))


def _plain(value: Any) -> Any:
    """A cell as a plain Python value for display (arrays stay arrays)."""
    if isinstance(value, (np.ndarray, list, tuple)):
        return value
    if pd.isna(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
