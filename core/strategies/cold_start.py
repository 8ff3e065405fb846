"""Cold-start-robust strategies: cover the data first, then ask where the model is unsure.

Uncertainty sampling needs a model worth trusting; with a handful of labels its
"uncertain" rows are noise, and margin or entropy sampling can lose to random
sampling in the first rounds (STACK.md, "Active-learning baselines"). These
strategies start from where the data is:

``typical``
    Typical coverage (after TypiClust, Hacohen et al. 2022, "Active learning on
    a budget"): cluster the pool into ``labelled + n`` groups with k-means on
    standardised features and ask for the most *typical* row (densest
    neighbourhood) of each of the largest groups that hold no label yet. Each
    answer then stands for many similar rows, and the batch spreads over the
    data instead of piling up in one region.

``auto`` (the default strategy)
    ``typical`` until ``explore_labels`` labels exist (or while there is no
    model), then margin sampling made diverse: the ``diversity x n`` rows of
    smallest margin are clustered into ``n`` groups and the row nearest each
    group's centre is asked (as in Zhdanov 2019, "Diverse mini-batch active
    learning"), so one batch does not spend ten labels on one ambiguous spot.

Distances use :func:`.scores.standardise`-d features (NaN -> column mean); pools
with many columns are projected on their first principal components, and big
pools are clustered on a seeded sample of candidates, so a query stays fast.
"""
from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors

from . import scores
from ..params import fraction, integer
from .base import PoolContext, QueryStrategy, Selection, describe_top

#: Columns kept for distances (principal components above this many features).
MAX_DIMENSIONS = 32
#: Neighbours that define a row's typicality (TypiClust uses 20).
TYPICALITY_NEIGHBOURS = 20


def embed(X: np.ndarray, rows: np.ndarray, random_state: int, *, fit_rows: np.ndarray | None = None) -> np.ndarray:
    """Standardised coordinates of ``X[rows]`` for distances (PCA when there are many columns).

    Parameters
    ----------
    X : array of shape (N, D)
    rows : array of int
        Rows to embed.
    random_state : int
        Seed of the randomised PCA.
    fit_rows : array of int, optional
        Rows the PCA is fitted on (default ``rows``).
    """
    Z = scores.standardise(X, rows)
    if Z.shape[1] <= MAX_DIMENSIONS:
        return Z
    basis = Z if fit_rows is None else scores.standardise(X, fit_rows)
    # A handful of rows (a small diverse-margin batch) spans fewer than MAX_DIMENSIONS directions.
    components = min(MAX_DIMENSIONS, *basis.shape)
    pca = PCA(n_components=components, svd_solver="randomized", random_state=random_state).fit(basis)
    return pca.transform(Z).astype(np.float32)


def typicality(Z: np.ndarray, k: int = TYPICALITY_NEIGHBOURS) -> np.ndarray:
    """Inverse mean distance of each row to its ``k`` nearest other rows (higher = more typical)."""
    if len(Z) == 1:
        return np.ones(1)
    k = min(k, len(Z) - 1)
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z)
    return 1.0 / (distances[:, 1:].mean(axis=1) + 1e-12)


def typical_coverage(Z_labelled: np.ndarray, Z_candidates: np.ndarray, n: int,
                     random_state: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of ``n`` candidates that cover the data, and each one's cluster share.

    Clusters ``labelled + candidates`` into ``len(labelled) + n`` groups; the
    groups without a label, largest first, each give their most typical
    candidate. When fewer uncovered groups than ``n`` remain, the largest
    groups per label already in them give their next most typical candidate.

    Returns
    -------
    positions : ndarray of int
        Indices into ``Z_candidates``, in pick order.
    priorities : ndarray of float
        Pick priority (non-increasing): the share below, plus 1 for a group
        that held no label.
    shares : ndarray of float
        Fraction of the clustered rows in the group of each pick, divided by
        one plus the labels it already held.
    """
    n_labelled = len(Z_labelled)
    Z = np.vstack([Z_labelled, Z_candidates]) if n_labelled else Z_candidates
    k = int(min(n_labelled + n, len(Z)))
    with warnings.catch_warnings():
        # Pools with repeated rows hold fewer distinct points than groups: some groups
        # stay empty and are skipped below, nothing to warn about.
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters=k, n_init=3, random_state=random_state).fit(Z)
    groups_l = km.labels_[:n_labelled]
    groups_c = km.labels_[n_labelled:]
    sizes = np.bincount(km.labels_, minlength=k).astype(np.float64)
    held = np.bincount(groups_l, minlength=k).astype(np.float64)
    taken = np.zeros(len(Z_candidates), dtype=bool)
    # Typicality inside each group, computed once per group on demand.
    ranked: dict[int, list[int]] = {}
    picks, priorities, shares = [], [], []
    while len(picks) < n:
        value = sizes / len(Z) / (1.0 + held)
        # Groups without a label come first (TypiClust), largest first.
        priority = value + (held == 0)
        priority[np.bincount(groups_c[~taken], minlength=k) == 0] = -np.inf
        group = int(np.argmax(priority))
        if not np.isfinite(priority[group]):
            break
        if group not in ranked:
            members = np.flatnonzero(groups_c == group)
            order = np.argsort(-typicality(Z_candidates[members]), kind="stable")
            ranked[group] = list(members[order])
        position = next(p for p in ranked[group] if not taken[p])
        taken[position] = True
        picks.append(position)
        priorities.append(priority[group])
        shares.append(value[group])
        held[group] += 1.0
    return np.asarray(picks, dtype=np.int64), np.asarray(priorities), np.asarray(shares)


class _CoverageMixin:
    """Shared coverage step of ``typical`` and ``auto``."""

    def _coverage(self, context: PoolContext, n: int, why: str) -> Selection:
        candidates = self._sample(context)
        seed = int(context.rng.integers(2**31 - 1))
        Z_all = embed(context.X, np.concatenate([context.labelled, candidates]), seed)
        Z_l, Z_c = Z_all[:len(context.labelled)], Z_all[len(context.labelled):]
        positions, priorities, shares = typical_coverage(Z_l, Z_c, n, seed)
        return Selection(
            indices=candidates[positions], scores=priorities, strategy=self.type_name,
            reason=f"{why}: most typical row of an unlabelled cluster holding "
                   f"{100 * shares[0]:.1f}% of the pool")

    def _sample(self, context: PoolContext) -> np.ndarray:
        """Candidates to cluster: all of them, or a seeded sample of ``max_rows``."""
        limit = self.params["max_rows"]
        if len(context.candidates) <= limit:
            return context.candidates
        return np.sort(context.rng.choice(context.candidates, size=limit, replace=False))


_COVERAGE_PARAMS = {
    "max_rows": integer(20_000, "candidates clustered at most (a seeded sample above it)", low=100,
                        label="Rows clustered at most"),
}


class TypicalStrategy(_CoverageMixin, QueryStrategy):
    """Typical coverage of the pool; needs no model (see the module docstring).

    Parameters
    ----------
    max_rows : int, default 20000
        Candidates clustered at most (a seeded sample of them above it).
    """

    type_name: ClassVar[str] = "typical"
    params_spec = dict(_COVERAGE_PARAMS)

    def _select(self, context: PoolContext, n: int) -> Selection:
        return self._coverage(context, n, "coverage")


class AutoStrategy(_CoverageMixin, QueryStrategy):
    """The default: typical coverage first, then diverse margin sampling.

    Parameters
    ----------
    explore_labels : int, default 20
        Labels gathered by typical coverage before margin sampling takes over
        (coverage also continues while there is no model).
    diversity : int, default 10
        Margin candidates per query (``diversity x n`` smallest margins) that
        are clustered into ``n`` groups; 1 = plain margin sampling.
    max_share : float, default 0.05
        At most this share of the unlabelled rows (and at least ``n``) are
        margin candidates: on a pool of a thousand rows, 10 x 10 candidates
        would include rows the model is already sure of.
    max_rows : int, default 20000
        Candidates clustered at most during coverage.
    """

    type_name: ClassVar[str] = "auto"
    params_spec = {
        "explore_labels": integer(20, "labels chosen by coverage before margin sampling starts", low=0,
                                  label="Exploration labels"),
        "diversity": integer(10, "margin candidates per query row, clustered for a diverse batch", low=1),
        "max_share": fraction(0.05, "largest share of the unlabelled rows that a diverse batch is drawn from",
                              low_open=True, label="Largest candidate share"),
        **_COVERAGE_PARAMS,
    }

    def audit_start(self) -> int:
        """Audit picks begin when coverage ends (see :meth:`QueryStrategy.audit_start`)."""
        return int(self.params["explore_labels"])

    def phase(self, context: PoolContext) -> str:
        """``"coverage"`` or ``"margin"``: which rule the next query follows."""
        no_model = context.model is None and context.proba is None
        if no_model or len(context.labelled) < self.params["explore_labels"]:
            return "coverage"
        return "margin"

    def _select(self, context: PoolContext, n: int) -> Selection:
        if self.phase(context) == "coverage":
            why = ("no model yet" if context.model is None and context.proba is None
                   else f"exploring ({len(context.labelled)} of {self.params['explore_labels']} labels)")
            return self._coverage(context, n, why)
        return self._diverse_margin(context, n)

    def _diverse_margin(self, context: PoolContext, n: int) -> Selection:
        proba = context.candidate_proba()
        values = scores.margin(proba)
        # On a small pool diversity x n rows reach far into rows the model is sure of:
        # keep the candidates to a share of the pool (never fewer than n).
        m = min(len(values), self.params["diversity"] * n,
                max(n, int(np.ceil(self.params["max_share"] * len(values)))))
        top = np.argsort(-values, kind="stable")[:m]
        if m > n and n > 1:
            seed = int(context.rng.integers(2**31 - 1))
            Z = embed(context.X, context.candidates[top], seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # repeated rows: see above
                km = KMeans(n_clusters=n, n_init=1, random_state=seed).fit(Z)
            chosen = []
            for group in range(n):
                members = np.flatnonzero(km.labels_ == group)
                if len(members):
                    d = ((Z[members] - km.cluster_centers_[group]) ** 2).sum(axis=1)
                    chosen.append(top[members[np.argmin(d)]])
            chosen = np.asarray(chosen, dtype=np.int64)
            if len(chosen) < n:  # empty groups (repeated rows): next smallest margins fill in
                rest = top[~np.isin(top, chosen)]
                chosen = np.concatenate([chosen, rest[:n - len(chosen)]])
        else:
            chosen = top[:n]
        chosen = chosen[np.argsort(-values[chosen], kind="stable")]
        names = context.class_names(proba.shape[1])
        first = chosen[0]
        return Selection(
            indices=context.candidates[chosen], scores=values[chosen], strategy=self.type_name,
            reason=(f"margin {-values[first]:.2f} (one of {m} least certain rows, spread over "
                    f"{n} clusters): top two classes {describe_top(proba[first], names)}"))
