"""The pool's feature space as the dashboard uses it: embeddings and neighbours.

Both need the same preparation of ``pool.X`` (NaN imputed with the column
median, each column scaled to unit variance), computed once per pool and
shared by every tab. The 2-D PCA embedding is fitted on a seeded sample of at
most ``fit_rows`` rows, so it stays quick at a million rows, and then applied
to every row in chunks.
"""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd

#: Names of the embedding axes the scatter offers next to the feature columns.
EMBEDDING_AXES = ("pca_1", "pca_2")


def plottable_columns(pool) -> list[str]:
    """Numeric data columns a scatter axis may show: not the id, not flags, nothing private.

    Private columns (``data.hidden`` and the ground truth) would hand the
    class to the person labelling.
    """
    # The dtypes, not the columns: a pool on disk (data.backend: dask) knows them without reading a row.
    dtypes, spec = pool.frame.dtypes, pool.spec
    return [str(c) for c in pool.frame.columns
            if pd.api.types.is_numeric_dtype(dtypes[c]) and not pd.api.types.is_bool_dtype(dtypes[c])
            and c != spec.id_column and str(c) not in spec.private_columns]


class FeatureSpace:
    """Standardised features, a cached PCA embedding and nearest neighbours.

    Parameters
    ----------
    X
        ``(N, D)`` float32 features with NaN for missing values.
    seed
        Seeds the rows the PCA is fitted on.
    fit_rows
        At most this many rows fit the PCA.
    """

    def __init__(self, X: np.ndarray, *, seed: int = 0, fit_rows: int = 50_000):
        self.X = X
        self.seed = seed
        self.fit_rows = fit_rows
        self._lock = threading.Lock()
        self._scaled: np.ndarray | None = None
        self._pca: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.X)

    def scaled(self) -> np.ndarray:
        """``X`` with NaN replaced by the column median and unit-variance columns (cached)."""
        with self._lock:
            if self._scaled is None:
                self._scaled = _standardise(self.X, self.seed)
            return self._scaled

    def pca(self) -> np.ndarray:
        """``(N, 2)`` float32 PCA coordinates (cached; the first call does the work)."""
        scaled = self.scaled()
        with self._lock:
            if self._pca is None:
                self._pca = _pca_2d(scaled, self.seed, self.fit_rows)
            return self._pca

    @property
    def pca_ready(self) -> bool:
        return self._pca is not None

    def axis(self, name: str) -> np.ndarray:
        """Coordinates of an embedding axis (``pca_1`` or ``pca_2``)."""
        if name not in EMBEDDING_AXES:
            raise KeyError(name)
        return self.pca()[:, EMBEDDING_AXES.index(name)]

    def nearest(self, row: int, k: int = 20, exclude: np.ndarray | None = None) -> np.ndarray:
        """The ``k`` rows closest to ``row`` in the standardised feature space, closest first.

        ``row`` itself and the rows in ``exclude`` are left out.
        """
        Z = self.scaled()
        distance = _squared_distances(Z, Z[int(row)])
        distance[int(row)] = np.inf
        if exclude is not None and len(exclude):
            distance[np.asarray(exclude, dtype=np.int64)] = np.inf
        k = int(min(k, np.isfinite(distance).sum()))
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        part = np.argpartition(distance, k - 1)[:k]
        return part[np.argsort(distance[part], kind="stable")].astype(np.int64)


def _standardise(X: np.ndarray, seed: int, sample: int = 100_000) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] == 0:
        return np.zeros((len(X), 1), dtype=np.float32)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), size=min(sample, len(X)), replace=False) if len(X) else np.zeros(0, int)
    probe = X[np.sort(rows)]
    with np.errstate(all="ignore"):
        median = np.nanmedian(probe, axis=0) if len(probe) else np.zeros(X.shape[1])
        median = np.where(np.isfinite(median), median, 0.0).astype(np.float32)
        out = np.where(np.isnan(X), median, X)
        std = out[np.sort(rows)].std(axis=0) if len(rows) else np.ones(X.shape[1])
        mean = out[np.sort(rows)].mean(axis=0) if len(rows) else np.zeros(X.shape[1])
    std = np.where(std > 0, std, 1.0).astype(np.float32)
    out -= mean.astype(np.float32)
    out /= std
    return out


def _pca_2d(Z: np.ndarray, seed: int, fit_rows: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    n_components = min(2, Z.shape[1])
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(Z), size=min(fit_rows, len(Z)), replace=False))
    pca = PCA(n_components=n_components, random_state=seed).fit(Z[rows])
    out = np.zeros((len(Z), 2), dtype=np.float32)
    for start in range(0, len(Z), 262_144):
        out[start:start + 262_144, :n_components] = pca.transform(Z[start:start + 262_144])
    return out


def _squared_distances(Z: np.ndarray, z: np.ndarray) -> np.ndarray:
    out = np.empty(len(Z), dtype=np.float64)
    for start in range(0, len(Z), 262_144):  # bounded temporaries at a million rows
        diff = Z[start:start + 262_144] - z
        out[start:start + 262_144] = np.einsum("ij,ij->i", diff, diff)
    return out
