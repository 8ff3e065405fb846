"""Strategies that weigh uncertainty against where the rows lie.

Distances are computed on standardised features (NaN -> column mean, see
:func:`.scores.standardise`) so that no column wins by its units.
"""
from __future__ import annotations

import weakref
from typing import ClassVar

import numpy as np
from sklearn.metrics import pairwise_distances, pairwise_distances_argmin_min

from . import scores
from ..params import choice, integer, number
from .base import PoolContext, QueryStrategy, Selection, describe_top

_METRICS = ("cosine", "euclidean", "manhattan", "l1", "l2", "cityblock")

_DENSITY_PARAMS = {
    "metric": choice("cosine", _METRICS, "distance between rows"),
    "exact_max": integer(2_000, "largest pool with exact (all-pairs) density; above it, a sample", low=1,
                         label="Exact density up to"),
    "sample_size": integer(500, "pool rows drawn to estimate density above exact_max", low=1,
                           label="Density sample size"),
}


class _PoolDensity:
    """Information density of every pool row, computed once per pool array.

    Density is measured against the whole pool (labelled rows included), which
    does not change as labels arrive: one O(N·sample_size) pass serves every
    later query of the session. The cache holds a weak reference to the pool
    array, so a new pool (or the old one freed) means a fresh computation.
    """

    def __init__(self):
        self._pool: weakref.ref | None = None
        self._key: tuple | None = None
        self._values: np.ndarray | None = None

    def __call__(self, X: np.ndarray, params: dict, seed: int) -> np.ndarray:
        key = (X.shape, params["metric"], params["exact_max"], params["sample_size"])
        if self._pool is None or self._pool() is not X or self._key != key:
            self._values = scores.pool_information_density(
                X, metric=params["metric"], exact_max=params["exact_max"],
                sample_size=params["sample_size"], random_state=seed,
            )
            self._pool, self._key = weakref.ref(X), key
        return self._values


def _density_seed(context: PoolContext) -> int:
    # Always one draw, cached or not, so the generator's later draws (tie-breaks)
    # do not depend on whether the density was already known.
    return int(context.rng.integers(2**63 - 1))


class DensityWeightedStrategy(QueryStrategy):
    """Uncertainty × information density^beta (Settles & Craven 2008).

    Plain uncertainty sampling likes outliers; weighting by how similar a row
    is to the rest of the pool favours uncertain rows that stand for many
    others. Density is computed once per pool and cached (see
    :func:`.scores.pool_information_density` for exact vs sampled). Uncertainty is the ``base`` measure scaled to ``[0, 1]``
    (:func:`.scores.normalised_uncertainty`). Before the first model the most
    representative rows (highest density) go first.

    Parameters
    ----------
    base : {"least_confidence", "margin", "entropy"}, default "margin"
    beta : float, default 1.0
        Weight of density (0 = plain uncertainty).
    metric, exact_max, sample_size
        See :func:`.scores.information_density`.
    """

    type_name: ClassVar[str] = "density_weighted"
    params_spec = {
        "base": choice("margin", scores.UNCERTAINTY_MEASURES, "uncertainty measure",
                       label="Uncertainty measure"),
        "beta": number(1.0, "exponent of the density term", low=0, label="Density weight β"),
        **_DENSITY_PARAMS,
    }

    def __init__(self, **params):
        super().__init__(**params)
        self._density = _PoolDensity()

    def _select(self, context: PoolContext, n: int) -> Selection:
        density = self._density(context.X, self.params, _density_seed(context))[context.candidates]
        if context.model is None and context.proba is None:
            return self._top(context, density, n, lambda pos: (
                f"no model yet: most representative row (information density {density[pos]:.2f})"))
        proba = context.candidate_proba()
        uncertainty = scores.normalised_uncertainty(proba, self.params["base"])
        values = uncertainty * density ** self.params["beta"]
        names = context.class_names(proba.shape[1])
        return self._top(context, values, n, lambda pos: (
            f"{self.params['base']} {uncertainty[pos]:.2f} x density {density[pos]:.2f}"
            f"^{self.params['beta']:g}: top classes {describe_top(proba[pos], names)}"))


class RankedBatchStrategy(QueryStrategy):
    """Ranked batch-mode sampling (Cardoso et al. 2017): uncertain *and* diverse batches.

    Picks one row at a time with score ``alpha * (1 - sim) + (1 - alpha) * u``,
    where ``sim = 1 / (1 + d)`` and ``d`` is the distance to the nearest
    labelled or already picked row, ``u`` the ``base`` uncertainty in
    ``[0, 1]`` and ``alpha = |candidates| / (|candidates| + |labelled|)``.
    With no labels the first pick is the most central candidate (highest
    information density), as in modAL.

    Written here, vectorised, because modAL's ``uncertainty_batch_sampling``
    needs a modAL learner object. Two deliberate differences: ``alpha`` is
    fixed for the batch (modAL updates it after each pick, a change of about
    batch/pool), which makes every candidate's score non-increasing during the
    batch so the reported scores descend with the ranking; and the nearest-row
    distances are updated incrementally (O(candidates x features) per pick).
    Before the first model ``u`` is 0: the batch is purely diverse. Note that
    ``alpha`` is close to 1 while labels are few compared with the pool, so
    diversity dominates early and uncertainty gains weight as labels grow.
    Memory: a standardised float32 copy of the candidates' features.

    Parameters
    ----------
    base : {"least_confidence", "margin", "entropy"}, default "least_confidence"
    metric : str, default "euclidean"
    exact_max, sample_size
        Density settings for the cold-start first pick.
    """

    type_name: ClassVar[str] = "ranked_batch"
    params_spec = {
        "base": choice("least_confidence", scores.UNCERTAINTY_MEASURES, "uncertainty measure",
                       label="Uncertainty measure"),
        **_DENSITY_PARAMS,
        "metric": choice("euclidean", _METRICS, "distance between rows"),
    }

    def __init__(self, **params):
        super().__init__(**params)
        self._density = _PoolDensity()

    def _select(self, context: PoolContext, n: int) -> Selection:
        metric = self.params["metric"]
        density_seed = _density_seed(context)
        # Work in a random order of the candidates: argmax takes the first of equal
        # scores, so ties go to a random candidate.
        order = context.rng.permutation(len(context.candidates))
        rows = context.candidates[order]
        scale = scores.column_scale(context.X)
        Z = scores.standardise(context.X, rows, scale)
        has_model = context.model is not None or context.proba is not None
        proba = context.candidate_proba()[order] if has_model else None
        u = scores.normalised_uncertainty(proba, self.params["base"]) if has_model else np.zeros(len(rows))
        n_labelled = len(context.labelled)
        alpha = len(rows) / (len(rows) + n_labelled)
        if n_labelled:
            Zl = scores.standardise(context.X, context.labelled, scale)
            nearest = pairwise_distances_argmin_min(Z, Zl, metric=metric)[1].astype(np.float64)
        else:
            nearest = np.full(len(rows), np.inf)
        picked = np.zeros(len(rows), dtype=bool)
        chosen, values, nearest_at_pick = [], [], []
        for step in range(n):
            score = alpha * (1.0 - 1.0 / (1.0 + nearest)) + (1.0 - alpha) * u
            if step == 0 and n_labelled == 0:
                # Every score equals alpha: start from the most central candidate.
                i = int(np.argmax(self._density(context.X, self.params, density_seed)[rows]))
            else:
                score[picked] = -np.inf
                i = int(np.argmax(score))
            chosen.append(i)
            values.append(float(score[i]))
            nearest_at_pick.append(float(nearest[i]))
            picked[i] = True
            step_d = pairwise_distances(Z, Z[i:i + 1], metric=metric).ravel()
            np.minimum(nearest, step_d, out=nearest)
        chosen_arr = np.asarray(chosen)
        return Selection(
            indices=rows[chosen_arr],
            scores=np.asarray(values),
            strategy=self.type_name,
            reason=self._reason(alpha, u[chosen[0]], nearest_at_pick[0], proba, chosen[0], context, has_model),
        )

    def _reason(self, alpha, u, distance, proba, i, context, has_model) -> str:
        if not np.isfinite(distance):
            where = "no labels yet: most central row first, then rows far from it"
        else:
            where = f"distance {distance:.2f} to the nearest labelled row"
        if not has_model:
            return f"ranked batch, no model yet: {where}"
        names = context.class_names(proba.shape[1])
        return (f"ranked batch (alpha {alpha:.2f}): {self.params['base']} {u:.2f}, {where}; "
                f"top classes {describe_top(proba[i], names)}")
