"""The pool's feature encoding, applied to rows outside the pool.

A model is trained on ``pool.X``: numeric columns as float32, categorical
columns one-hot over the *pool's* sorted categories, arrays one feature per
element, embeddings through their featurizer. :class:`FeatureEncoding`
freezes that layout (read back from ``pool.feature_names``) so a chunk of a
new catalogue becomes a matrix whose columns mean exactly what the model's
columns meant. A category the pool never saw becomes a row of zeros, which is
how the pool encodes a missing category: the model has no weight for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, did_you_mean
from .featurizers import featurize, featurizer_class, stack_arrays
from .features import _numeric, _reject_inf
from .spec import DataSpec


@dataclass(frozen=True)
class FeatureEncoding:
    """Column layout of ``X``: which input column fills which features, and how.

    Attributes
    ----------
    spec
        The data spec of the pool.
    categories
        Categorical column → the pool's sorted categories (its one-hot order).
    widths
        Array or embedding column → number of features it fills.
    feature_names
        The pool's ``D`` feature names, in ``X`` order.
    """

    spec: DataSpec
    categories: dict[str, tuple[str, ...]]
    widths: dict[str, int]
    feature_names: tuple[str, ...]

    @classmethod
    def from_pool(cls, pool) -> "FeatureEncoding":
        """The encoding of ``pool.X``, read from ``pool.feature_names``."""
        return cls.from_names(pool.spec, list(pool.feature_names))

    @classmethod
    def from_names(cls, spec: DataSpec, names: list[str]) -> "FeatureEncoding":
        f = spec.features
        at = len(f.numeric)
        categories: dict[str, tuple[str, ...]] = {}
        for column in f.categorical:
            prefix = f"{column}="
            end = at
            while end < len(names) and names[end].startswith(prefix):
                end += 1
            categories[column] = tuple(n[len(prefix):] for n in names[at:end])
            at = end
        widths: dict[str, int] = {}
        for column in f.arrays:
            widths[column] = sum(1 for n in names[at:] if n.startswith(f"{column}["))
            at += widths[column]
        for e in f.embeddings:
            widths[e.column] = sum(1 for n in names[at:] if n.startswith(f"{e.column}:{e.featurizer}["))
            at += widths[e.column]
        if at != len(names):
            raise DataError(f"{spec.sources[0].path}: the pool's {len(names)} features do not match data.features")
        return cls(spec=spec, categories=categories, widths=widths, feature_names=tuple(names))

    @property
    def columns(self) -> tuple[str, ...]:
        """Input columns needed: the id column, then every feature column."""
        return (self.spec.id_column,) + self.spec.features.columns

    def check_columns(self, available, path: Path) -> None:
        """One-line DataError for the first needed column missing from ``available``."""
        available = list(available)
        for column, key in required_columns(self.spec):
            if column not in available:
                raise DataError(f"{path}: {key}: column {column!r} not found{did_you_mean(column, available)} "
                                "(the model was trained on it)")
        for e in self.spec.features.embeddings:
            if featurizer_class(e.featurizer).fitted_on_column:
                raise DataError(f"{path}: data.features.embeddings: column {e.column!r} uses featurizer "
                                f"{e.featurizer!r}, fitted on the pool's whole column: rows outside the pool "
                                "cannot be embedded the same way (use a featurizer such as minilm)")

    def encode(self, frame: pd.DataFrame, path: Path) -> tuple[np.ndarray, int]:
        """``X`` of a chunk of new rows, and how many categorical cells were unseen in the pool.

        Raises
        ------
        DataError
            Naming ``path`` and the column: a missing column, a non-numeric
            value in a numeric column, an array of another length, ±inf.
        """
        self.check_columns(frame.columns, path)
        f = self.spec.features
        X = np.zeros((len(frame), len(self.feature_names)), dtype=np.float32)
        at = 0
        for column in f.numeric:
            X[:, at] = _numeric(frame[column], path, column)
            at += 1
        unseen = 0
        for column in f.categorical:
            cats = self.categories[column]
            col = frame[column]
            present = col.notna().to_numpy()
            codes = np.full(len(col), -1, dtype=np.int64)
            codes[present] = pd.Index(cats, dtype=object).get_indexer(col[present].astype(str).to_numpy(dtype=object))
            unseen += int((present & (codes < 0)).sum())
            hit = np.flatnonzero(codes >= 0)
            X[hit, at + codes[hit]] = 1.0
            at += len(cats)
        for column in f.arrays:
            key = "data.features.arrays"
            values = stack_arrays(frame[column].reset_index(drop=True), column=column, where=f"{path}: {key}")
            at = self._fill(X, at, values, column, path, key)
        for e in f.embeddings:
            featurizer = featurizer_class(e.featurizer)(**e.params)
            values = frame[e.column].reset_index(drop=True)
            values.name = e.column
            at = self._fill(X, at, featurize(featurizer, values), e.column, path, "data.features.embeddings")
        return X, unseen

    def _fill(self, X: np.ndarray, at: int, values: np.ndarray, column: str, path: Path, key: str) -> int:
        width = self.widths[column]
        if values.ndim != 2 or values.shape[1] != width:
            got = values.shape[1] if values.ndim == 2 else "?"
            raise DataError(f"{path}: {key}: column {column!r} has {got} values per row; the pool's had {width}")
        _reject_inf(values, path, key, column)
        X[:, at:at + width] = values
        return at + width


def required_columns(spec: DataSpec):
    """``(column, config key)`` of every column a row needs: the id, then the features by kind."""
    f = spec.features
    yield spec.id_column, "data.id_column"
    yield from ((c, "data.features.numeric") for c in f.numeric)
    yield from ((c, "data.features.categorical") for c in f.categorical)
    yield from ((c, "data.features.arrays") for c in f.arrays)
    yield from ((e.column, "data.features.embeddings") for e in f.embeddings)
