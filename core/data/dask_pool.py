"""Pools beyond memory: a folder of Parquet files read lazily, one Dask partition per file.

With ``data.backend: dask`` the pool is never loaded whole. Each Parquet file
is one partition; row ``i`` of the pool is row ``i - offset[p]`` of file
``p`` (offsets from the files' metadata, so global indices are stable and
known without reading any data). What needs every row runs partition by
partition on a ``distributed`` cluster and returns something small:

* the feature encoding (the categories of each categorical column: one pass),
* scoring with a head (one output file per partition, see ``score_partitions``),
* the query ranking: each partition keeps its own top ``k`` by the strategy's
  score, and the merge keeps the top ``k`` of those (a query needs no more).

Rows a person labels are read back by index (only the files that hold them).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, did_you_mean
from .encoding import FeatureEncoding, required_columns
from .spec import DataSpec

#: Hidden column carrying each row's global index through the Dask graph.
ROW = "_alabel_row"


def dask_client(scheduler: str | None = None, *, n_workers: int = 2, memory_limit: str = "2GB",
                processes: bool = True):
    """A ``distributed`` client: on ``scheduler`` (``tcp://host:8786``), else a LocalCluster.

    The LocalCluster's ``memory_limit`` is per worker: a worker past it spills
    and is restarted by distributed, instead of the machine swapping.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s")
        except OSError as exc:
            raise DataError(f"training.scheduler: cannot reach the Dask scheduler {scheduler!r} ({exc})") from None
    # A worker in this process (processes=False) would measure the whole process against its
    # limit: once the host grows past it, distributed pauses the worker and every compute waits
    # forever. Only worker processes get a limit.
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, memory_limit=memory_limit if processes else 0,
                           processes=processes, dashboard_address=None)
    return Client(cluster)


def partition_files(spec: DataSpec) -> list[Path]:
    """The Parquet files of the pool's first source (a folder of files, or one file)."""
    path = spec.sources[0].path
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".parquet", ".pq")
                       and not p.name.startswith("."))
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"{path}: data file not found (data.sources[0].path)")
    if not files:
        raise DataError(f"{path}: data.backend dask: the folder holds no .parquet file")
    if len(spec.sources) > 1:
        raise DataError(f"{spec.sources[1].path}: data.backend dask reads one source (a folder of Parquet "
                        "files); join the tables beforehand")
    return files


def _read_partition(args: tuple[str, int], columns: list[str]) -> pd.DataFrame:
    path, offset = args
    frame = pd.read_parquet(path, columns=columns)
    frame[ROW] = np.arange(offset, offset + len(frame), dtype=np.int64)
    return frame


@dataclass
class _Ranked:
    rows: np.ndarray
    scores: np.ndarray


class DaskPool:
    """A pool whose rows stay on disk; see the module docstring.

    Attributes
    ----------
    spec : DataSpec
    files : list of Path
        One partition per file, in name order.
    offsets : numpy.ndarray
        Global index of each file's first row; ``offsets[-1]`` is ``n``.
    encoding : FeatureEncoding
        The feature layout (categories from one pass over the pool).
    """

    def __init__(self, spec: DataSpec, client=None):
        import pyarrow.parquet as pq

        self.spec = spec
        self.client = client
        self.files = partition_files(spec)
        counts = []
        for f in self.files:
            try:
                schema = pq.read_schema(f)
                counts.append(pq.ParquetFile(f).metadata.num_rows)
            except (OSError, ValueError) as exc:
                raise DataError(f"{f}: cannot read as parquet ({type(exc).__name__}: {exc})") from None
            for column, key in required_columns(spec):
                if column not in schema.names:
                    raise DataError(f"{f}: {key}: column {column!r} not found{did_you_mean(column, schema.names)}")
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.encoding = self._encoding()

    @property
    def n(self) -> int:
        return int(self.offsets[-1])

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"DaskPool(n={self.n}, partitions={len(self.files)}, source={self.spec.sources[0].path.name!r})"

    @property
    def feature_names(self) -> list[str]:
        return list(self.encoding.feature_names)

    def frame(self, columns: list[str] | None = None):
        """The pool as a lazy Dask DataFrame (one partition per file) with the global row in ``ROW``."""
        import dask.dataframe as dd

        columns = list(dict.fromkeys(columns or self.encoding.columns))
        meta = _read_partition((str(self.files[0]), 0), columns).iloc[:0]
        parts = [(str(f), int(o)) for f, o in zip(self.files, self.offsets[:-1])]
        return dd.from_map(_read_partition, parts, columns=columns, meta=meta, enforce_metadata=False)

    def _compute(self, collection):
        """Compute a Dask collection (or a list of them) on the client's cluster, or locally without one."""
        import dask

        many = isinstance(collection, list)
        items = collection if many else [collection]
        if self.client is not None:
            out = self.client.gather(self.client.compute(items))
        else:
            out = list(dask.compute(*items))
        return out if many else out[0]

    def _encoding(self) -> FeatureEncoding:
        """The pool's categories (sorted, as the in-memory pool's) and array widths, from one pass."""
        f = self.spec.features
        if f.embeddings:
            raise DataError(f"{self.spec.sources[0].path}: data.backend dask: embedding columns are not supported "
                            "yet (embed them into an array column first)")
        categories = {}
        if f.categorical:
            frame = self.frame(list(f.categorical))
            uniques = self._compute([frame[c].dropna().astype(str).unique() for c in f.categorical])
            categories = {c: tuple(sorted(u)) for c, u in zip(f.categorical, uniques)}
        widths = {}
        if f.arrays:
            from .featurizers import stack_arrays

            head = pd.read_parquet(self.files[0], columns=list(f.arrays)).head(1000)
            for c in f.arrays:
                widths[c] = stack_arrays(head[c], column=c).shape[1]
        names = list(f.numeric)
        for c in f.categorical:
            names += [f"{c}={v}" for v in categories[c]]
        for c in f.arrays:
            names += [f"{c}[{i}]" for i in range(widths[c])]
        return FeatureEncoding(spec=self.spec, categories=categories, widths=widths, feature_names=tuple(names))

    # ------------------------------------------------------------------ rows by index
    def rows(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """``(X, ids)`` of the given global rows, in that order (reads only their files)."""
        from ..ids import ids_as_text

        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.n):
            raise DataError(f"{self.spec.sources[0].path}: row out of range (the pool has {self.n} rows)")
        part = np.searchsorted(self.offsets, rows, side="right") - 1
        X = np.zeros((len(rows), len(self.encoding.feature_names)), dtype=np.float32)
        ids = np.empty(len(rows), dtype=object)
        for p in np.unique(part):
            hit = np.flatnonzero(part == p)
            frame = pd.read_parquet(self.files[p], columns=list(self.encoding.columns))
            frame = frame.iloc[rows[hit] - self.offsets[p]].reset_index(drop=True)
            X[hit], _ = self.encoding.encode(frame, self.files[p])
            ids[hit] = ids_as_text(frame[self.spec.id_column])
        return X, ids

    def rows_on_cluster(self, rows) -> np.ndarray:
        """``X`` of the given global rows, in that order, each partition selecting and encoding its own."""
        rows = np.asarray(rows, dtype=np.int64)
        wanted = np.unique(rows)
        names = [str(i) for i in range(len(self.encoding.feature_names))]
        meta = pd.DataFrame({ROW: np.zeros(0, np.int64), **{c: np.zeros(0, np.float32) for c in names}})
        picked = self._compute(self.frame().map_partitions(_partition_rows, wanted, self.encoding, names, meta=meta))
        found = picked[ROW].to_numpy(np.int64)
        if len(found) != len(wanted):
            raise DataError(f"{self.spec.sources[0].path}: row out of range (the pool has {self.n} rows)")
        # Partitions come back in order, each in row order: ``found`` is sorted.
        return picked[names].to_numpy(np.float32)[np.searchsorted(found, rows)]

    def column(self, rows, column: str) -> np.ndarray:
        """Values of one column at the given global rows (e.g. the ground truth of an oracle)."""
        rows = np.asarray(rows, dtype=np.int64)
        part = np.searchsorted(self.offsets, rows, side="right") - 1
        out = np.empty(len(rows), dtype=object)
        for p in np.unique(part):
            hit = np.flatnonzero(part == p)
            values = pd.read_parquet(self.files[p], columns=[column])[column].to_numpy(dtype=object)
            out[hit] = values[rows[hit] - self.offsets[p]]
        return out

    # ------------------------------------------------------------------ whole-pool passes
    def top_k(self, head, score: Callable[[np.ndarray], np.ndarray], k: int, *, exclude=()) -> tuple[np.ndarray,
                                                                                                     np.ndarray]:
        """The ``k`` rows with the highest ``score(head.predict_proba(X))``, best first; ``exclude`` skipped.

        Each partition scores its rows and keeps its own top ``k``; the merge
        keeps the top ``k`` of those. Ties go to the lower row (as a stable
        in-memory sort does).
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        exclude = np.unique(np.asarray(list(exclude), dtype=np.int64))
        frame = self.frame()
        meta = pd.DataFrame({"row": np.zeros(0, np.int64), "score": np.zeros(0, np.float64)})
        best = frame.map_partitions(_partition_top_k, head, self.encoding, score, k, exclude, meta=meta)
        merged = self._compute(best)
        merged = merged.sort_values(["score", "row"], ascending=[False, True], kind="stable").head(k)
        return merged["row"].to_numpy(np.int64), merged["score"].to_numpy(np.float64)

    def predict_proba(self, head) -> np.ndarray:
        """Class probabilities of every row (``(n, C)`` float32: only for pools whose scores fit in memory).

        On a cluster each partition's result is copied into one array here as
        it finishes and released on its worker at once: a result computed
        whole would stay on the workers until the last partition is done
        (rows × classes × 4 bytes shared by them: 600 MB at 50M rows and 3
        classes, past a 1 GB worker's limit, which restarts the worker and
        loses every partition it held, again and again).
        """
        classes = [str(c) for c in head.classes_]
        meta = pd.DataFrame({c: np.zeros(0, np.float32) for c in classes})
        scored = self.frame().map_partitions(_partition_proba, head, self.encoding, classes, meta=meta)
        if self.client is None:
            return self._compute(scored).to_numpy(np.float32)
        out = np.empty((self.n, len(classes)), dtype=np.float32)

        def take(i, part):
            out[self.offsets[i]:self.offsets[i + 1]] = part.to_numpy(np.float32)
        self.each_partition(scored, take)
        return out

    def each_partition(self, collection, take: Callable[[int, object], None]) -> None:
        """``take(i, result)`` for each partition of ``collection`` as it finishes on the cluster.

        Each result is released on its worker once taken: a whole-pool result
        computed as one collection stays on the workers until its last
        partition is done (see :meth:`predict_proba`).
        """
        from distributed import as_completed

        futures = self.client.compute(collection.to_delayed())
        part_of = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in as_completed(futures):
                i = part_of[future.key]
                take(i, future.result())
                futures[i] = None  # the last reference: the worker forgets the partition's result
        finally:
            self.client.cancel([f for f in futures if f is not None])


def _partition_features(frame: pd.DataFrame, encoding: FeatureEncoding) -> np.ndarray:
    X, _ = encoding.encode(frame, encoding.spec.sources[0].path)
    return X


def _partition_rows(frame, wanted, encoding, names):
    keep = frame[frame[ROW].isin(wanted)]
    out = pd.DataFrame(_partition_features(keep, encoding), columns=names, index=keep.index)
    out.insert(0, ROW, keep[ROW].to_numpy(np.int64))
    return out


def _partition_proba(frame, head, encoding, classes):
    from ..training.retrain import predict_proba_chunked

    proba = predict_proba_chunked(head, _partition_features(frame, encoding))
    return pd.DataFrame(proba, columns=classes, index=frame.index)


def _partition_top_k(frame, head, encoding, score, k, exclude):
    from ..training.retrain import predict_proba_chunked

    if len(frame) == 0:
        return pd.DataFrame({"row": np.zeros(0, np.int64), "score": np.zeros(0, np.float64)})
    rows = frame[ROW].to_numpy(np.int64)
    values = np.asarray(score(predict_proba_chunked(head, _partition_features(frame, encoding))), dtype=np.float64)
    values[np.isin(rows, exclude)] = -np.inf
    keep = np.flatnonzero(np.isfinite(values))
    if len(keep) > k:
        # argpartition then a stable sort: the partition's top k, ties to the lower row.
        cut = np.partition(values[keep], len(keep) - k)[len(keep) - k]
        keep = keep[values[keep] >= cut]
    order = np.lexsort((rows[keep], -values[keep]))[:k]
    return pd.DataFrame({"row": rows[keep][order], "score": values[keep][order]})
