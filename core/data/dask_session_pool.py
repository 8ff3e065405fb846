"""A labelling session's pool on Dask: what ``Session`` needs, without the features in memory.

``Session``, the planner and the strategies read a pool through a few
attributes (``ids``, ``X[rows]``, ``n``, ``feature_names``, ``detail``...).
:class:`DaskSessionPool` gives them over a :class:`DaskPool`, holding in this
process only what is one value per row and small:

* the ids (one column, read once: the label store and the planner map ids to
  rows through :meth:`DaskSessionPool.rows_of`; an integer id column stays
  int64, see :mod:`core.data.integer_ids`) and the ground truth when the spec
  names one (one shared ``str`` per class);
* nothing of the features: ``X[rows]`` reads the rows' partitions
  (labelled rows for a retrain, a test split), and scoring the whole pool
  for a new model (:meth:`LazyFeatures.predict_proba`) runs on the cluster
  as one ``map_partitions`` pass. The ``(n, classes)`` probabilities that
  pass returns are what the strategies rank, so a session on Dask picks what
  the in-memory session picks on the same data.

What needs every feature of every row in this process (density and coverage
strategies, the dashboard's feature projection, filters over the whole
table) meets :class:`WholePoolError`, a one-line error naming the key.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..ids import id_text, ids_as_text
from .dask_pool import DaskPool, dask_client
from .integer_ids import IntegerIds
from .paths import confine
from .pool import _plain, rows_in_index

#: Most feature rows read into this process at once (labelled rows, a test split): past it the
#: request is for most of the pool, which stays on disk by design.
ROWS_AT_ONCE = 1_000_000
#: From this many rows at once, the cluster selects them (each worker from its partitions).
CLUSTER_ROWS = 5_000


class WholePoolError(DataError):
    """Something asked for every row of a pool that stays on disk (data.backend: dask)."""


def whole_pool_error(spec, what: str) -> WholePoolError:
    return WholePoolError(f"{spec.sources[0].path}: data.backend dask: {what} needs the whole pool in memory "
                          "(use data.backend: memory for pools that fit, see the README)")


class LazyFeatures:
    """``pool.X`` of a Dask pool: rows by index from their partitions, the whole pool only on the cluster."""

    def __init__(self, dask_pool: DaskPool):
        self.dask_pool = dask_pool
        self.shape = (dask_pool.n, len(dask_pool.feature_names))
        self.dtype = np.dtype(np.float32)
        self.ndim = 2
        self._kept: tuple[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        index = np.asarray(rows)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        if isinstance(rows, (slice, tuple)) or index.dtype.kind not in "iu":
            raise whole_pool_error(self.dask_pool.spec, "a slice of the feature matrix")
        if index.size > ROWS_AT_ONCE:  # e.g. a committee strategy scoring every candidate here
            raise whole_pool_error(self.dask_pool.spec, f"reading {index.size:,} rows' features at once "
                                                        f"(more than {ROWS_AT_ONCE:,})")
        flat = index.reshape(-1)
        if len(flat) < CLUSTER_ROWS or self.dask_pool.client is None:
            X, _ = self.dask_pool.rows(flat)  # a few rows: read their files here
        else:
            X = self._many_rows(flat)
        return X[0] if index.ndim == 0 else X

    def _many_rows(self, rows: np.ndarray) -> np.ndarray:
        """Many rows (a reference curve's evaluation sample): selected on the cluster, kept for the next ask.

        Spread over every partition, they would make this process read the whole pool; the
        workers read and encode their partitions and send back only the rows asked for.
        """
        key = hashlib.sha256(np.ascontiguousarray(rows, dtype=np.int64).tobytes()).hexdigest()
        kept = self._kept
        if kept is not None and kept[0] == key:
            return kept[1]
        X = self.dask_pool.rows_on_cluster(rows)
        self._kept = (key, X)
        return X

    def __array__(self, dtype=None, copy=None):
        raise whole_pool_error(self.dask_pool.spec, "the whole feature matrix (nearest neighbours, the PCA "
                                                    "embedding, density or coverage strategies)")

    def predict_proba(self, head, check_cancel=None) -> np.ndarray:
        """The head's probabilities for every row: one pass over the partitions on the cluster."""
        if check_cancel is not None:
            check_cancel()
        return self.dask_pool.predict_proba(head)


class PartitionFrame:
    """``pool.frame`` of a Dask pool: the columns, and rows by index (``.iloc``, ``.at``), read from their files."""

    def __init__(self, dask_pool: DaskPool):
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(dask_pool.files[0])
        self.dask_pool = dask_pool
        self.columns = pd.Index(schema.names)
        self.dtypes = schema.empty_table().to_pandas().dtypes
        #: Array-valued columns, known from the schema (no row is read to find them).
        self.array_columns = frozenset(f.name for f in schema
                                       if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)
                                       or pa.types.is_fixed_size_list(f.type))
        self.iloc = _Rows(self)
        self.at = _Cell(self)

    def __len__(self) -> int:
        return self.dask_pool.n

    def rows(self, rows, columns=None) -> pd.DataFrame:
        """The given rows (global indices, in that order) with ``columns`` (all by default)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        columns = list(self.columns) if columns is None else list(columns)
        pool = self.dask_pool
        if len(rows) and (rows.min() < 0 or rows.max() >= pool.n):
            raise DataError(f"{pool.spec.sources[0].path}: row out of range (the pool has {pool.n} rows)")
        part = np.searchsorted(pool.offsets, rows, side="right") - 1
        pieces = []
        for p in np.unique(part):
            hit = np.flatnonzero(part == p)
            frame = pd.read_parquet(pool.files[p], columns=columns).iloc[rows[hit] - pool.offsets[p]]
            pieces.append(frame.set_axis(hit))
        if not pieces:
            return pd.DataFrame(columns=columns)
        return pd.concat(pieces).sort_index().set_axis(rows)

    def __getitem__(self, column) -> pd.Series:
        """One column of every row, computed on the cluster partition by partition (filters, scatter axes).

        One column at a time: a list of columns (a whole table) is refused.
        """
        if not isinstance(column, str) or column not in self.columns:
            raise whole_pool_error(self.dask_pool.spec, f"columns {column!r} of every row")
        pool = self.dask_pool
        series = pool.frame([column])[column]
        if pool.client is None:
            return pool._compute(series).reset_index(drop=True)
        # Partition by partition (50M rows of one float column and its row numbers held on two
        # 1 GB workers until the end passed their limit).
        pieces: list = [None] * len(pool.files)
        pool.each_partition(series, pieces.__setitem__)
        return pd.concat(pieces).reset_index(drop=True)


class _Rows:
    def __init__(self, frame: PartitionFrame):
        self.frame = frame

    def __getitem__(self, rows) -> pd.DataFrame:
        if isinstance(rows, slice):
            rows = np.arange(len(self.frame))[rows]
        return self.frame.rows(rows)


class _Cell:
    """``frame.at[row, column]``: the detail view reads a row cell by cell, so the last row read is kept."""

    def __init__(self, frame: PartitionFrame):
        self.frame = frame
        self._last: tuple[int, pd.Series] | None = None

    def __getitem__(self, key) -> Any:
        row, column = int(key[0]), key[1]
        last = self._last
        if last is None or last[0] != row:
            last = self._last = (row, self.frame.rows([row]).iloc[0])
        return last[1][column]


class DaskSessionPool:
    """The pool of a labelling session with ``data.backend: dask`` (see the module docstring).

    Parameters
    ----------
    dask_pool : DaskPool
        The partitions (with the client the whole-pool passes run on).
    """

    in_memory = False

    def __init__(self, dask_pool: DaskPool):
        self.dask = dask_pool
        self.spec = spec = dask_pool.spec
        self.feature_names = dask_pool.feature_names
        self.X = LazyFeatures(dask_pool)
        self.frame = PartitionFrame(dask_pool)
        wanted = [spec.id_column] + ([spec.ground_truth] if spec.ground_truth else [])
        columns = [pd.read_parquet(f, columns=wanted) for f in dask_pool.files]
        table = pd.concat(columns, ignore_index=True)
        del columns
        id_column = table[spec.id_column]
        self._index = None
        if (pd.api.types.is_integer_dtype(id_column) and not pd.api.types.is_bool_dtype(id_column)
                and not id_column.isna().any()):
            self.ids = IntegerIds(id_column.to_numpy(np.int64))
            duplicated = self.ids.duplicate()
        else:
            self.ids = ids_as_text(id_column)
            self._index = pd.Index(self.ids)
            duplicated = None if self._index.is_unique else self._index[self._index.duplicated()][0]
        if duplicated is not None:
            raise DataError(f"{spec.sources[0].path}: data.id_column: id {duplicated!r} appears more than once "
                            f"in column {spec.id_column!r}")
        self.ground_truth = None
        if spec.ground_truth:
            # One str per class, shared by its rows (a str per row is ~50 bytes more a row).
            codes, classes = pd.factorize(table[spec.ground_truth])
            names = np.array([str(c) for c in classes] + [None], dtype=object)
            self.ground_truth = names[codes]  # code -1 (missing) picks the None at the end
        del table, id_column
        # The files' names, sizes and times stand for their contents (hashing a catalogue
        # beyond memory at every start would read it all).
        stamp = "\n".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in dask_pool.files)
        self.source_hashes = (hashlib.sha256(stamp.encode()).hexdigest(),)
        self.data_hash = self.source_hashes[0]
        self.root = spec.root_dir

    @property
    def n(self) -> int:
        return self.dask.n

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"DaskSessionPool(n={self.n}, partitions={len(self.dask.files)})"

    @property
    def classes(self) -> list[str]:
        if self.ground_truth is None:
            return []
        return sorted({c for c in self.ground_truth if c is not None})

    def rows_of(self, object_ids) -> np.ndarray:
        """The row of each object id (compared as text), -1 for ids the pool does not have."""
        if isinstance(self.ids, IntegerIds):
            return self.ids.rows_of(object_ids)
        return rows_in_index(self._index, object_ids)

    def index_of(self, object_ids) -> np.ndarray:
        """Row indices of the given object ids (DataError naming the first unknown one)."""
        if isinstance(object_ids, (str, bytes)) or np.ndim(object_ids) == 0:
            object_ids = [object_ids]
        wanted = np.asarray([id_text(i) for i in object_ids], dtype=object)
        rows = self.rows_of(wanted)
        if (rows < 0).any():
            raise DataError(f"{self.spec.sources[0].path}: unknown object id {wanted[rows < 0][0]!r} "
                            f"(not in column {self.spec.id_column!r})")
        return rows.astype(np.intp)

    def detail(self, row: int) -> dict[str, Any]:
        """Column → value of one object, read from its partition."""
        columns = [d.column for d in self.spec.detail] or list(self.frame.columns)
        values = self.frame.rows([int(row)], columns).iloc[0]
        return {c: _plain(values[c]) for c in columns}

    def resolve_path(self, value: Any):
        return confine(value, self.root)

    def close(self) -> None:
        """Close the Dask client this pool opened (a LocalCluster stops with it)."""
        client = self.dask.client
        if client is not None and getattr(self, "_owns_client", False):
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()


def open_dask_pool(config, client=None) -> DaskSessionPool:
    """The session pool of a ``data.backend: dask`` config, on ``client`` or one the config describes.

    Without ``client``: ``training.scheduler`` (a running cluster) or a
    LocalCluster of ``training.dask_workers`` workers, closed with the pool.
    """
    if config.training.backend == "process":
        raise ConfigError(f"{config.source}: training.backend: 'process' does not combine with data.backend "
                          "dask (the pool is scored on the Dask cluster already); use 'thread'")
    if config.data.missing == "drop":
        raise ConfigError(f"{config.source}: data.missing: 'drop' does not combine with data.backend dask "
                          "(rows keep their place in their partition); use 'impute'")
    required = config.strategy.cls.requires
    if required:  # committee strategies score every candidate with the members, in this process
        raise ConfigError(f"{config.source}: strategy.type: {config.strategy['type']!r} does not combine with "
                          f"data.backend dask (it needs the features of every candidate for {required}()); "
                          "use margin, entropy, least_confidence or random")
    t = config.training
    owns = client is None
    if owns:
        client = dask_client(t.scheduler, n_workers=t.dask_workers, memory_limit=t.dask_memory_limit)
    try:
        pool = DaskSessionPool(DaskPool(config.data, client))
    except Exception:
        if owns:
            client.close()
        raise
    pool._owns_client = owns
    return pool
