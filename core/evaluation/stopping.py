"""Stopping guidance: has the model stopped changing?

Two signals, reported with every model version and never acted on by
themselves (the person labelling decides when to stop):

* the fraction of pool predictions that changed since the previous version
  (measured on the stop set, a seeded uniform sample of the pool, when the
  session hands over probabilities: :meth:`StabilisingPredictions.update_proba`
  never passes over a million-row pool);
* the *stabilising predictions* criterion of Bloodgood & Vijay-Shanker
  (2009, "A method for stopping active learning based on stabilizing
  predictions and the need for user-adjustable stopping"): Cohen's kappa
  between successive models' predictions on a fixed *stop set* of pool rows;
  predictions count as stable when the mean of the last ``window`` kappas
  reaches ``threshold`` (0.99 in the paper, over a window of 3).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def prediction_change(previous, current) -> float:
    """Fraction of rows whose predicted class differs between two predictions.

    Parameters
    ----------
    previous, current : array of shape (N,)
        Predicted classes (any comparable values) of the same rows.
    """
    previous, current = np.asarray(previous), np.asarray(current)
    if previous.shape != current.shape:
        raise ValueError(f"prediction_change: shapes differ, {previous.shape} vs {current.shape}")
    if previous.size == 0:
        return 0.0
    return float(np.mean(previous != current))


def agreement_kappa(previous, current) -> float:
    """Cohen's kappa between two predictions of the same rows.

    ``(p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed agreement and
    ``p_e`` the agreement expected by chance from each prediction's class
    frequencies. When both predict one and the same class everywhere,
    ``p_e = 1`` and kappa is undefined; identical predictions then count as
    full agreement (1.0), different ones as none (0.0).
    """
    previous, current = np.asarray(previous), np.asarray(current)
    if previous.shape != current.shape:
        raise ValueError(f"agreement_kappa: shapes differ, {previous.shape} vs {current.shape}")
    n = previous.size
    if n == 0:
        return 1.0
    observed = float(np.mean(previous == current))
    values, codes = np.unique(np.concatenate([previous, current]), return_inverse=True)
    a, b = codes[:n], codes[n:]
    expected = float(np.dot(np.bincount(a, minlength=len(values)),
                            np.bincount(b, minlength=len(values)))) / (n * n)
    if expected >= 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class StoppingReport:
    """The stopping guidance of one model version.

    Attributes
    ----------
    version : int
        Model version.
    n_labels : int
        Human labels it was trained on.
    changed_fraction : float or None
        Fraction of pool predictions changed since the previous version (None for the first).
    kappa : float or None
        Kappa with the previous version on the stop set.
    kappa_mean : float or None
        Mean of the last ``window`` kappas (None until there are ``window``).
    window, threshold : int, float
        The criterion's settings.
    stable : bool
        ``kappa_mean >= threshold``.
    message : str
        One line for the status bar.
    changed_rows : int or None
        Rows ``changed_fraction`` was measured on (the stop set's size when
        only the stop set is scored, else the pool's).
    """

    version: int
    n_labels: int
    changed_fraction: float | None
    kappa: float | None
    kappa_mean: float | None
    window: int
    threshold: float
    stable: bool
    message: str
    changed_rows: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class StabilisingPredictions:
    """Tracks successive models' predictions for the stopping guidance.

    Parameters
    ----------
    stop_rows : array of int
        Pool rows of the stop set (fixed for the session).
    n_rows : int
        Pool size (predictions passed to :meth:`update` cover the whole pool).
    window : int
        Number of successive kappas averaged.
    threshold : float
        Mean kappa at which predictions count as stable.
    """

    def __init__(self, stop_rows, n_rows: int, *, window: int = 3, threshold: float = 0.99):
        self.stop_rows = np.asarray(stop_rows, dtype=np.int64)
        self.n_rows = int(n_rows)
        self.window = int(window)
        self.threshold = float(threshold)
        self.kappas: list[float] = []
        self.last: StoppingReport | None = None
        self._previous: np.ndarray | None = None  # the pool's predictions, or the stop set's
        self._stop_previous: np.ndarray | None = None

    @classmethod
    def for_pool(cls, n_rows: int, *, size: int = 1000, seed: int = 0, exclude=None,
                 window: int = 3, threshold: float = 0.99) -> StabilisingPredictions:
        """Draw a stop set of ``size`` pool rows (seeded), leaving out ``exclude`` (held-out rows)."""
        allowed = np.ones(n_rows, dtype=bool)
        if exclude is not None:
            allowed[np.asarray(exclude, dtype=np.int64)] = False
        candidates = np.flatnonzero(allowed)
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(candidates, size=min(size, len(candidates)), replace=False))
        return cls(rows, n_rows, window=window, threshold=threshold)

    def update(self, prediction, *, version: int, n_labels: int) -> StoppingReport:
        """Record the predictions (class codes over the whole pool) of a new model version."""
        prediction = np.asarray(prediction)
        if prediction.shape != (self.n_rows,):
            raise ValueError(f"StabilisingPredictions.update: expected {self.n_rows} predictions, "
                             f"got shape {prediction.shape}")
        changed = None
        if self._previous is not None and len(self._previous) == self.n_rows:
            changed = prediction_change(self._previous, prediction)
        self._previous = prediction.copy()
        return self._record(prediction[self.stop_rows], changed, self.n_rows, version, n_labels)

    def update_proba(self, proba, *, version: int, n_labels: int) -> StoppingReport:
        """Record a new model version from its pool probabilities, reading only the stop set's rows.

        The changed fraction is measured on the stop set too (a uniform sample
        of the pool): the whole report costs ``O(stop set)``, not a pass over
        the pool.
        """
        if len(proba) != self.n_rows:
            raise ValueError(f"StabilisingPredictions.update_proba: expected {self.n_rows} rows, "
                             f"got {len(proba)}")
        stop = np.asarray(proba[self.stop_rows]).argmax(axis=1)
        changed = None
        if self._previous is not None:
            before = self._previous if len(self._previous) == len(stop) else self._previous[self.stop_rows]
            changed = prediction_change(before, stop)
        self._previous = stop
        return self._record(stop, changed, len(stop), version, n_labels)

    def _record(self, stop_prediction: np.ndarray, changed: float | None, changed_rows: int, version: int,
                n_labels: int) -> StoppingReport:
        kappa = mean = None
        if changed is not None:
            kappa = agreement_kappa(self._stop_previous, stop_prediction)
            self.kappas.append(kappa)
            if len(self.kappas) >= self.window:
                mean = float(np.mean(self.kappas[-self.window:]))
        self._stop_previous = np.array(stop_prediction)
        stable = mean is not None and mean >= self.threshold
        self.last = StoppingReport(version=int(version), n_labels=int(n_labels), changed_fraction=changed,
                                   kappa=kappa, kappa_mean=mean, window=self.window,
                                   threshold=self.threshold, stable=stable,
                                   message=self._message(changed, mean, stable, changed_rows),
                                   changed_rows=None if changed is None else int(changed_rows))
        return self.last

    def _message(self, changed, mean, stable, changed_rows: int | None = None) -> str:
        if changed is None:
            return "first model: nothing to compare yet"
        sample = (f" (a sample of {changed_rows:,} rows)"
                  if changed_rows is not None and changed_rows < self.n_rows else "")
        text = f"{changed:.1%} of pool predictions changed since the last model{sample}"
        if mean is None:
            return text + f"; stability needs {self.window} comparisons"
        if stable:
            return (text + f"; predictions have stabilised (mean kappa {mean:.3f} >= {self.threshold}): "
                    "more labels may change little, consider stopping")
        return text + f"; mean kappa {mean:.3f} < {self.threshold}: still changing"
