"""Turn the declared feature columns of the joined table into the matrix ``X``.

Numeric columns are kept as they are (NaN included: whether a value is
missing often says something about the class, and the heads impute and add
indicators, or handle NaN natively). Categorical columns are one-hot encoded
with sorted, stable categories; a missing category is a row of zeros. Array
columns are expanded one feature per element; embedding columns go through
their featurizer. Everything is vectorised and ``X`` is allocated once.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .featurizers import featurize, featurizer_class, stack_arrays
from .sources import JoinedSources
from .spec import DataSpec, EmbeddingSpec

#: More distinct values than this in a categorical column is almost surely a
#: mistake (an id or free text): one-hot would make a huge, useless X.
MAX_CATEGORIES = 1000


@dataclass
class _Block:
    """A ready slice of X: its values (rows of the kept table) and names."""

    values: np.ndarray  # (N,) or (N, d) float32
    names: list[str]


class FeatureBuilder:
    """Validates the plain feature columns at once; builds ``X`` on demand.

    Building is split so that ``missing: drop`` can decide which rows to keep
    (``missing_rows``) before any expensive featurizer runs (``build``).
    """

    def __init__(self, spec: DataSpec, joined: JoinedSources):
        self.spec = spec
        self.joined = joined
        frame = joined.frame
        f = spec.features
        paths = {c: joined.require(c, "data.features.numeric") for c in f.numeric}
        self.numeric = [_Block(_numeric(frame[c], paths[c], c), [c]) for c in f.numeric]
        self.categorical = [self._categorical(c) for c in f.categorical]
        self.arrays = [self._array(c) for c in f.arrays]
        for e in f.embeddings:
            joined.require(e.column, "data.features.embeddings")

    def _categorical(self, column: str) -> tuple[np.ndarray, list[str]]:
        path = self.joined.require(column, "data.features.categorical")
        col = self.joined.frame[column]
        present = col.notna().to_numpy()
        text = col[present].astype(str).to_numpy(dtype=object)
        categories = sorted(pd.unique(text))
        if len(categories) > MAX_CATEGORIES:
            raise DataError(
                f"{path}: data.features.categorical: column {column!r} has {len(categories)} distinct values "
                f"(more than {MAX_CATEGORIES}); declare it as numeric or embeddings, or leave it out"
            )
        codes = np.full(len(col), -1, dtype=np.int32)
        codes[present] = pd.Categorical(text, categories=categories).codes
        return codes, [f"{column}={c}" for c in categories]

    def _array(self, column: str) -> _Block:
        path = self.joined.require(column, "data.features.arrays")
        values = stack_arrays(self.joined.frame[column], column=column, where=f"{path}: data.features.arrays")
        _reject_inf(values, path, "data.features.arrays", column)
        return _Block(values, [f"{column}[{i}]" for i in range(values.shape[1])])

    def missing_rows(self) -> np.ndarray:
        """Boolean mask of rows with any missing feature value."""
        missing = np.zeros(len(self.joined.frame), dtype=bool)
        for block in self.numeric:
            missing |= np.isnan(block.values)
        for codes, _ in self.categorical:
            missing |= codes < 0
        for block in self.arrays:
            missing |= np.isnan(block.values).any(axis=1)
        for e in self.spec.features.embeddings:
            missing |= self.joined.frame[e.column].isna().to_numpy()
        return missing

    def build(self, keep: np.ndarray | None = None, *, cache_dir: Path | None = None) -> tuple[np.ndarray, list[str]]:
        """Assemble ``X`` (float32, one row per kept row) and the feature names.

        Parameters
        ----------
        keep
            Boolean mask of rows to keep, or None for all.
        cache_dir
            Where featurizer results are cached (None: no cache).
        """
        rows = slice(None) if keep is None else keep
        n = len(self.joined.frame) if keep is None else int(keep.sum())
        embedded = [self._embed(e, rows, cache_dir) for e in self.spec.features.embeddings]
        width = (
            len(self.numeric)
            + sum(len(names) for _, names in self.categorical)
            + sum(b.values.shape[1] for b in self.arrays)
            + sum(b.values.shape[1] for b in embedded)
        )
        X = np.zeros((n, width), dtype=np.float32)
        names: list[str] = []
        at = 0
        for block in self.numeric:
            X[:, at] = block.values[rows]
            names += block.names
            at += 1
        for codes, cat_names in self.categorical:
            c = codes[rows]
            hit = np.flatnonzero(c >= 0)
            X[hit, at + c[hit]] = 1.0
            names += cat_names
            at += len(cat_names)
        for block in self.arrays:
            X[:, at : at + block.values.shape[1]] = block.values[rows]
            names += block.names
            at += block.values.shape[1]
        for block in embedded:
            X[:, at : at + block.values.shape[1]] = block.values
            names += block.names
            at += block.values.shape[1]
        return X, names

    def _embed(self, e: EmbeddingSpec, rows, cache_dir: Path | None) -> _Block:
        path = self.joined.origin[e.column]
        featurizer = featurizer_class(e.featurizer, key="data.features.embeddings.featurizer")(**e.params)
        values = self.joined.frame[e.column][rows].reset_index(drop=True)
        values.name = e.column
        out = featurize(featurizer, values, cache_dir=cache_dir)
        _reject_inf(out, path, "data.features.embeddings", e.column)
        return _Block(out, [f"{e.column}:{e.featurizer}[{i}]" for i in range(out.shape[1])])


def _numeric(col: pd.Series, path: Path, column: str) -> np.ndarray:
    """A numeric feature as float32 (NaN kept); strings and ±inf are errors."""
    key = "data.features.numeric"
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        converted = col
    else:
        converted = pd.to_numeric(col, errors="coerce")
        bad = (converted.isna() & col.notna()).to_numpy()
        if bad.any():
            example = col[bad].iloc[0]
            raise DataError(
                f"{path}: {key}: column {column!r} holds non-numeric values ({int(bad.sum())} row(s), "
                f"e.g. {example!r}); list it under data.features.categorical instead"
            )
    with np.errstate(over="ignore"):  # overflow to inf is reported just below
        values = converted.to_numpy(dtype=np.float32, na_value=np.nan)
    _reject_inf(values, path, key, column)
    return values


def _reject_inf(values: np.ndarray, path: Path, key: str, column: str) -> None:
    inf = np.isinf(values)
    if inf.any():
        raise DataError(
            f"{path}: {key}: column {column!r} has {int(inf.sum())} infinite value(s) "
            f"(±inf, or beyond float32 range); replace them with NaN or finite numbers"
        )
