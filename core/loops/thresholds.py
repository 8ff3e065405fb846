"""Which pool predictions are sure enough to become pseudo-labels.

Pure functions over the model's pool probabilities (like the query scores in
:mod:`core.strategies.scores`), and small policy classes on top of them that
register by ``type_name`` (the self-training loop's ``policy`` setting):

* ``fixed`` — a fixed confidence ``τ``: accept ``max_c p(c) >= τ`` (FixMatch's rule).
* ``flexmatch`` — class-aware adaptive thresholds (FlexMatch, Zhang et al.
  2021): the learning effect of class c is ``σ(c)``, the number of pool rows
  predicted as c with confidence above ``τ``; normalised with the warm-up
  ``β(c) = σ(c) / max(max_c σ, N − Σ σ)`` and mapped convexly,
  ``T(c) = τ · β(c) / (2 − β(c))``. Classes the model has not learnt yet get
  lower thresholds, so rare classes are not starved. Accept ``max p > T(ŷ)``.
* ``freematch`` — self-adaptive thresholds (FreeMatch, Wang et al. 2023): a
  global EMA of the mean confidence ``τ_t = m τ_{t−1} + (1 − m) mean(max p)``
  and per-class EMAs of the mean probability ``p̃_t(c)``, giving
  ``T(c) = τ_t · p̃_t(c) / max_c p̃_t(c)``; both start at ``1/C``.
* ``entropy`` — dynamic entropy threshold (CEAL, Wang et al. 2017): accept
  rows whose prediction entropy (nats) is below ``δ_t = δ_0 − r·t``, which
  shrinks with each round t of new human labels.

``min_threshold`` (a floor on every confidence threshold) is our addition:
the adaptive rules were designed for deep semi-supervised training from
batches, where a low early threshold is harmless; a pseudo-label in a label
store stays in force until the model changes its mind, so we keep a floor.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..strategies.scores import entropy
from ..registry import resolve


# -- pure functions ------------------------------------------------------------------
def flexmatch_thresholds(proba, tau: float, *, warmup: bool = True) -> np.ndarray:
    """FlexMatch's per-class thresholds ``T(c) = τ β(c) / (2 − β(c))``.

    Parameters
    ----------
    proba : array of shape (N, C)
        Probabilities over the unlabelled rows.
    tau : float
        The upper threshold τ.
    warmup : bool
        Normalise by ``max(max σ, N − Σσ)`` (threshold warm-up) instead of ``max σ``.

    Returns
    -------
    ndarray of shape (C,)
    """
    proba = np.asarray(proba, dtype=np.float64)
    n, n_classes = proba.shape
    confident = proba.max(axis=1) > tau
    sigma = np.bincount(proba.argmax(axis=1)[confident], minlength=n_classes).astype(np.float64)
    denom = max(sigma.max(initial=0.0), n - sigma.sum()) if warmup else sigma.max(initial=0.0)
    beta = sigma / denom if denom > 0 else np.zeros(n_classes)
    return tau * beta / (2.0 - beta)


@dataclass
class FreeMatchState:
    """FreeMatch's running estimates: global confidence ``tau`` and per-class ``p_tilde``."""

    tau: float
    p_tilde: np.ndarray

    @classmethod
    def start(cls, n_classes: int) -> FreeMatchState:
        return cls(tau=1.0 / n_classes, p_tilde=np.full(n_classes, 1.0 / n_classes))


def freematch_update(state: FreeMatchState, proba, momentum: float) -> FreeMatchState:
    """One EMA step of FreeMatch's estimates from the pool probabilities."""
    proba = np.asarray(proba, dtype=np.float64)
    if len(proba) == 0:
        return state
    tau = momentum * state.tau + (1.0 - momentum) * float(proba.max(axis=1).mean())
    p_tilde = momentum * state.p_tilde + (1.0 - momentum) * proba.mean(axis=0)
    return FreeMatchState(tau=tau, p_tilde=p_tilde)


def freematch_thresholds(state: FreeMatchState) -> np.ndarray:
    """``T(c) = τ · p̃(c) / max_c p̃(c)`` (FreeMatch's MaxNorm of the local estimates)."""
    return state.tau * state.p_tilde / state.p_tilde.max()


def entropy_threshold(round_: int, delta0: float, decay: float) -> float:
    """CEAL's shrinking entropy threshold ``δ_t = max(δ_0 − r·t, 0)``."""
    return max(delta0 - decay * round_, 0.0)


def self_paced_age(round_: int, lam0: float, mu: float) -> float:
    """SPL's age parameter ``λ_t = λ_0 μ^t`` (λ ← μλ each round)."""
    return lam0 * mu ** round_


def accept_per_class(proba, thresholds, *, strict: bool = False) -> np.ndarray:
    """Rows whose top probability passes its predicted class's threshold."""
    proba = np.asarray(proba)
    thresholds = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (proba.shape[1],))
    top = proba.max(axis=1)
    limit = thresholds[proba.argmax(axis=1)]
    return top > limit if strict else top >= limit


# -- policies -----------------------------------------------------------------------
@dataclass
class Acceptance:
    """A policy's verdict on the pool.

    Attributes
    ----------
    accepted : ndarray of bool, shape (N,)
        Rows sure enough to pseudo-label (before caps).
    priority : ndarray of float, shape (N,)
        Order under caps (higher first): the confidence, or minus the entropy.
    thresholds : dict
        What was applied, for the review panel (JSON-ready).
    """

    accepted: np.ndarray
    priority: np.ndarray
    thresholds: dict


class ThresholdPolicy:
    """Base of the self-training threshold policies (``policy:`` of the loop).

    A policy instance lives as long as its loop (FreeMatch keeps state).
    ``proba`` is given over the rows that may be pseudo-labelled only.
    """

    type_name: ClassVar[str] = ""

    def accept(self, proba: np.ndarray, classes: list[str], params: dict, round_: int) -> Acceptance:
        raise NotImplementedError

    @staticmethod
    def _floored(thresholds: np.ndarray, params: dict) -> np.ndarray:
        return np.maximum(thresholds, params.get("min_threshold") or 0.0)

    @staticmethod
    def _by_class(classes, thresholds) -> dict:
        return {str(c): round(float(t), 6) for c, t in zip(classes, thresholds)}


class FixedThreshold(ThresholdPolicy):
    type_name = "fixed"

    def accept(self, proba, classes, params, round_):
        tau = float(params["tau"])
        return Acceptance(accepted=accept_per_class(proba, tau), priority=proba.max(axis=1),
                          thresholds={"policy": "fixed", "tau": tau})


class FlexMatchThreshold(ThresholdPolicy):
    type_name = "flexmatch"

    def accept(self, proba, classes, params, round_):
        per_class = self._floored(flexmatch_thresholds(proba, float(params["tau"])), params)
        return Acceptance(accepted=accept_per_class(proba, per_class, strict=True),
                          priority=proba.max(axis=1),
                          thresholds={"policy": "flexmatch", "per_class": self._by_class(classes, per_class)})


class FreeMatchThreshold(ThresholdPolicy):
    type_name = "freematch"

    def __init__(self):
        self.state: FreeMatchState | None = None

    def accept(self, proba, classes, params, round_):
        if self.state is None or len(self.state.p_tilde) != proba.shape[1]:
            self.state = FreeMatchState.start(proba.shape[1])
        self.state = freematch_update(self.state, proba, float(params["momentum"]))
        per_class = self._floored(freematch_thresholds(self.state), params)
        return Acceptance(accepted=accept_per_class(proba, per_class), priority=proba.max(axis=1),
                          thresholds={"policy": "freematch", "tau_global": round(self.state.tau, 6),
                                      "per_class": self._by_class(classes, per_class)})


class EntropyThreshold(ThresholdPolicy):
    type_name = "entropy"

    def accept(self, proba, classes, params, round_):
        delta = entropy_threshold(round_, float(params["delta"]), float(params["delta_decay"]))
        h = entropy(proba) if len(proba) else np.zeros(0)
        return Acceptance(accepted=h < delta, priority=-h,
                          thresholds={"policy": "entropy", "delta": round(delta, 6), "round": round_})


def build_policy(name: str, where: str = "config.yaml") -> ThresholdPolicy:
    """The policy registered as ``name`` (``loop.params.policy``)."""
    return resolve(ThresholdPolicy, name, key="loop.params.policy", where=where)()


# -- caps ---------------------------------------------------------------------------
def select_pseudo(accepted, priority, predicted, previous: dict[int, int], *,
                  max_per_round: int | None = None, max_per_class=None,
                  max_total: int | None = None) -> np.ndarray:
    """Apply the caps to the accepted rows; return the rows to pseudo-label, sorted.

    Rows already pseudo-labelled with the same class (``previous``: row →
    class index) are *re-confirmed*. Each class keeps at most
    ``max_per_class`` rows (an int, or one cap per class index); then at most
    ``max_per_round`` rows that are not re-confirmed join; then at most
    ``max_total`` rows in all. Under every cap re-confirmed rows go first (a
    pseudo-label in force is not dropped for a newcomer) and then higher
    priority; ties keep row order, so the result is deterministic.

    Parameters
    ----------
    accepted : array of bool (N,)
    priority : array of float (N,)
    predicted : array of int (N,)
        Predicted class index of each row.
    previous : dict
        Pseudo-labels in force before this round.
    """
    accepted = np.asarray(accepted, dtype=bool)
    priority = np.asarray(priority, dtype=np.float64)
    predicted = np.asarray(predicted)
    again = np.zeros(len(accepted), dtype=bool)
    if previous:
        prev_rows = np.fromiter(previous.keys(), dtype=np.int64, count=len(previous))
        prev_cls = np.fromiter(previous.values(), dtype=np.int64, count=len(previous))
        same = accepted[prev_rows] & (predicted[prev_rows] == prev_cls)
        again[prev_rows[same]] = True

    def best(rows: np.ndarray, k: int) -> np.ndarray:
        order = np.lexsort((rows, -priority[rows], ~again[rows]))  # last key sorts first
        return rows[order[:k]]

    chosen = np.flatnonzero(accepted)
    if max_per_class is not None and len(chosen):
        caps = np.asarray(max_per_class)
        chosen = np.concatenate([
            best(chosen[predicted[chosen] == c], int(caps if caps.ndim == 0 else caps[c]))
            for c in np.unique(predicted[chosen])])
    if max_per_round is not None:
        new = chosen[~again[chosen]]
        if len(new) > max_per_round:
            chosen = np.concatenate([chosen[again[chosen]], best(new, max_per_round)])
    if max_total is not None and len(chosen) > max_total:
        chosen = best(chosen, max_total)
    return np.sort(chosen)
