"""Impute, flag and standardise features inside a torch head (numpy only).

Missing values carry class information in our data sets (OGLE publishes no
Fourier fit for whole classes), so a head must not drop them: each column
with a NaN at fit time gets its median imputed and a 0/1 "was missing"
indicator appended. Columns are then standardised, which is what lets one
learning rate suit every data set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Standardiser:
    """Learned imputation and scaling; ``transform`` maps raw X to network input."""

    median: np.ndarray  # (d,) float64, 0 where a column was all-NaN
    indicator_cols: np.ndarray  # (k,) int64, columns that had a NaN at fit time
    mean: np.ndarray  # (d + k,) float64
    scale: np.ndarray  # (d + k,) float64, 1 where a column was constant

    @property
    def n_outputs(self) -> int:
        """Width of the transformed matrix (features plus missing indicators)."""
        return int(self.mean.shape[0])

    @classmethod
    def fit(cls, X: np.ndarray, sample_weight: np.ndarray | None = None) -> "Standardiser":
        """Learn medians, indicator columns, means and scales from ``X`` (n, d)."""
        X = np.asarray(X, dtype=np.float64)
        missing = np.isnan(X)
        indicator_cols = np.flatnonzero(missing.any(axis=0)).astype(np.int64)
        with np.errstate(all="ignore"):
            if missing.all(axis=0).any():
                median = np.zeros(X.shape[1])
                seen = ~missing.all(axis=0)
                median[seen] = np.nanmedian(X[:, seen], axis=0)
            else:
                median = np.nanmedian(X, axis=0) if missing.any() else np.median(X, axis=0)
        filled = _impute(X, median, indicator_cols)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w is not None and w.sum() <= 0:
            w = None
        mean = np.average(filled, axis=0, weights=w)
        var = np.average((filled - mean) ** 2, axis=0, weights=w)
        scale = np.sqrt(var)
        # Constant columns (one label, or a feature no row varies) stay unscaled.
        scale[~(scale > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0
        return cls(median=median, indicator_cols=indicator_cols, mean=mean, scale=scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Network input (n, d + k) float32 for raw features ``X`` (n, d).

        Works in float32 with a single output allocation: pool chunks of
        65k × 384 features pass through here on every scoring.
        """
        X = np.asarray(X)
        d = X.shape[1]
        out = np.empty((X.shape[0], self.n_outputs), dtype=np.float32)
        out[:, :d] = X
        missing = np.isnan(out[:, :d])
        if missing.any():
            np.copyto(out[:, :d], self.median.astype(np.float32)[None, :], where=missing)
        out[:, d:] = missing[:, self.indicator_cols]
        out -= self.mean.astype(np.float32)
        out /= self.scale.astype(np.float32)
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The learned arrays, for persistence."""
        return {"median": self.median, "indicator_cols": self.indicator_cols, "mean": self.mean, "scale": self.scale}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "Standardiser":
        return cls(
            median=np.asarray(arrays["median"], dtype=np.float64),
            indicator_cols=np.asarray(arrays["indicator_cols"], dtype=np.int64),
            mean=np.asarray(arrays["mean"], dtype=np.float64),
            scale=np.asarray(arrays["scale"], dtype=np.float64),
        )


def _impute(X: np.ndarray, median: np.ndarray, indicator_cols: np.ndarray) -> np.ndarray:
    """Median-impute every NaN and append the indicator columns learned at fit."""
    missing = np.isnan(X)
    filled = np.where(missing, median[None, :], X)
    if indicator_cols.size == 0:
        return filled
    return np.concatenate([filled, missing[:, indicator_cols].astype(np.float64)], axis=1)
