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
with many columns are projected on their first principal components.

What a query costs: the pool's column statistics, its sample (``max_rows``
rows, seeded), their embedding, their typicality and a summary of them in
:data:`MICRO_CLUSTERS` weighted micro-clusters are computed **once per pool**
(:class:`CoverageIndex`); a coverage query then clusters only the
micro-clusters into ``labelled + n`` groups (a weighted k-means of a few
hundred points) and walks the precomputed typicality. The margin phase ranks
the pool once per model (:meth:`AutoStrategy.warm`, in the trainer's thread)
and a query walks that ranking, so neither phase passes over the pool per
query.

Why one module of this size: the ``auto`` strategy is one policy in two
phases (coverage, then diverse margin) with the audit share, and the
pool summary both phases reuse (``CoverageIndex``, column statistics); the
pure score functions stay in ``scores.py``.
"""
from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors

from .. import threads
from . import scores
from ..params import fraction, integer
from .base import PoolContext, QueryStrategy, Selection, describe_top, first_candidates, ranked_head

#: Columns kept for distances (principal components above this many features).
MAX_DIMENSIONS = 32
#: Neighbours that define a row's typicality (TypiClust uses 20).
TYPICALITY_NEIGHBOURS = 20
#: Weighted micro-clusters that summarise the pool sample for coverage queries: a query
#: clusters these, not the rows (labels + n groups must stay well below it).
MICRO_CLUSTERS = 256
#: Micro-clusters (its own and the nearest others) searched for a row's nearest neighbours.
NEIGHBOUR_MICRO = 4
#: Sampled rows per micro-cluster that its centre is fitted on.
MICRO_FIT_ROWS = 20
#: Rows of a model's margin ranking kept (a diverse batch walks the first diversity x n).
RANKED_HEAD = 8192


def embed(X: np.ndarray, rows: np.ndarray, random_state: int, *, fit_rows: np.ndarray | None = None,
          scale: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
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
    scale : (mean, std), optional
        The pool's column statistics (:func:`.scores.column_scale`), when known:
        computing them is a pass over the whole pool.
    """
    Z = scores.standardise(X, rows, scale)
    if Z.shape[1] <= MAX_DIMENSIONS:
        return Z
    basis = Z if fit_rows is None else scores.standardise(X, fit_rows, scale)
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


def _typicality_near(Z: np.ndarray, groups: np.ndarray, centres: np.ndarray,
                     reach: int = NEIGHBOUR_MICRO) -> np.ndarray:
    """:func:`typicality` of each row, its neighbours searched in the micro-clusters nearest its own.

    At least ``reach`` micro-clusters, and enough of them to hold five times
    the neighbours wanted.

    A row's nearest neighbours lie in its own micro-cluster or the next ones,
    so this matches a search over all rows (the values are comparable across
    the pool, as a group's "most typical row" needs) for a fraction of the cost.
    """
    out = np.ones(len(Z))
    order = np.argsort(groups, kind="stable")
    starts = np.searchsorted(groups[order], np.arange(len(centres) + 1))
    members_of = [order[starts[g]:starts[g + 1]] for g in range(len(centres))]
    c = np.asarray(centres, dtype=np.float64)
    c2 = (c ** 2).sum(axis=1)
    near = np.argsort(c2[:, None] - 2.0 * c @ c.T + c2[None, :], axis=1)
    sizes = np.array([len(m) for m in members_of])
    wanted = 5 * (TYPICALITY_NEIGHBOURS + 1)  # rows searched at least (small micro-clusters: reach further)
    for g, members in enumerate(members_of):
        if len(members) == 0:
            continue
        enough = int(np.searchsorted(np.cumsum(sizes[near[g]]), wanted)) + 1
        around = np.concatenate([members_of[h] for h in near[g][:max(reach, enough)]])
        if len(around) < 2:
            continue
        A, B = Z[members].astype(np.float64), Z[around].astype(np.float64)
        d = np.sqrt(np.maximum((A ** 2).sum(axis=1)[:, None] - 2.0 * A @ B.T + (B ** 2).sum(axis=1)[None, :], 0.0))
        k = min(TYPICALITY_NEIGHBOURS, len(around) - 1)
        # The k + 1 smallest distances of a row include its own (0): the mean of the others.
        out[members] = 1.0 / (np.partition(d, k, axis=1)[:, :k + 1].sum(axis=1) / k + 1e-12)
    return out


def _nearest(Z: np.ndarray, centres: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Index of the nearest of ``centres`` for each row of ``Z`` (in row chunks)."""
    centres = np.asarray(centres, dtype=np.float32)
    c2 = (centres ** 2).sum(axis=1)
    out = np.empty(len(Z), dtype=np.int64)
    for start in range(0, len(Z), chunk):
        part = np.asarray(Z[start:start + chunk], dtype=np.float32)
        out[start:start + chunk] = (c2[None, :] - 2.0 * part @ centres.T).argmin(axis=1)
    return out


def _kmeans(Z: np.ndarray, k: int, *, n_init: int, random_state: int, sample_weight=None) -> KMeans:
    with warnings.catch_warnings():
        # Pools with repeated rows hold fewer distinct points than groups: some groups
        # stay empty and are skipped by the callers, nothing to warn about.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(Z, sample_weight=sample_weight)


def _one_thread():
    """BLAS/OpenMP on one thread around a query's small k-means fits and distance blocks.

    scikit-learn's k-means runs its Lloyd steps on an OpenMP pool: on a busy
    2-core machine a 90-row fit waited ~40 ms on threads that have nothing to
    share (one thread: ~20 ms, the same result).
    """
    return threads.limited(1)


def weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int, *, n_init: int, seed: int,
                    max_iter: int = 100) -> np.ndarray:
    """Group labels of a weighted k-means of a few hundred ``points`` (k-means++ starts, Lloyd steps).

    Written in numpy for the per-query grouping of micro-clusters: for a few
    hundred points scikit-learn's validation and thread pool cost more than
    the clustering. Returns the labels of the start (out of ``n_init``) with
    the lowest weighted inertia; empty groups keep their centre.
    """
    points = np.asarray(points, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    rng = np.random.default_rng(seed)
    k = int(min(k, len(points)))
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        centres = np.empty((k, points.shape[1]))
        centres[0] = points[_draw(weights, rng)]
        nearest = ((points - centres[0]) ** 2).sum(axis=1)
        for j in range(1, k):
            centres[j] = points[_draw(weights * nearest, rng)]
            np.minimum(nearest, ((points - centres[j]) ** 2).sum(axis=1), out=nearest)
        norms = (points ** 2).sum(axis=1)
        labels = None
        for _ in range(max_iter):
            d = norms[:, None] - 2.0 * points @ centres.T + (centres ** 2).sum(axis=1)[None, :]
            new = d.argmin(axis=1)
            if labels is not None and np.array_equal(new, labels):
                break
            labels = new
            members = np.zeros((len(points), k))
            members[np.arange(len(points)), labels] = weights
            mass = members.sum(axis=0)
            filled = mass > 0
            centres[filled] = (members.T @ points)[filled] / mass[filled, None]
        inertia = float((weights * np.maximum(d[np.arange(len(points)), labels], 0.0)).sum())
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    return best


def _draw(mass: np.ndarray, rng: np.random.Generator) -> int:
    """One index drawn with probability proportional to ``mass`` (uniform when it is all 0)."""
    cumulative = np.cumsum(mass)
    if cumulative[-1] <= 0:
        return int(rng.integers(len(mass)))
    return int(min(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"), len(mass) - 1))


def pick_coverage(groups_l: np.ndarray, groups_c: np.ndarray, sizes: np.ndarray, typical: np.ndarray,
                  n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TypiClust's picks from a grouping: uncovered groups first, largest first.

    Parameters
    ----------
    groups_l : array of int
        Group of each labelled row.
    groups_c : array of int
        Group of each candidate.
    sizes : array of float
        Rows per group (the share of a group is ``sizes / sizes.sum()``).
    typical : array of float
        Typicality of each candidate (the most typical of a group is asked first).
    n : int
        Picks wanted. When fewer uncovered groups than ``n`` remain, the
        largest groups per label already in them give their next most typical
        candidate.

    Returns
    -------
    positions, priorities, shares
        As :func:`typical_coverage`.
    """
    k = len(sizes)
    total = float(sizes.sum())
    held = np.bincount(groups_l, minlength=k).astype(np.float64)
    taken = np.zeros(len(groups_c), dtype=bool)
    left = np.bincount(groups_c, minlength=k)
    ranked: dict[int, list[int]] = {}  # typicality order inside a group, on demand
    picks, priorities, shares = [], [], []
    while len(picks) < n:
        value = sizes / total / (1.0 + held)
        # Groups without a label come first (TypiClust), largest first.
        priority = value + (held == 0)
        priority[left == 0] = -np.inf
        group = int(np.argmax(priority))
        if not np.isfinite(priority[group]):
            break
        if group not in ranked:
            members = np.flatnonzero(groups_c == group)
            ranked[group] = list(members[np.argsort(-typical[members], kind="stable")])
        position = next(p for p in ranked[group] if not taken[p])
        taken[position] = True
        left[group] -= 1
        picks.append(position)
        priorities.append(priority[group])
        shares.append(value[group])
        held[group] += 1.0
    return np.asarray(picks, dtype=np.int64), np.asarray(priorities), np.asarray(shares)


def typical_coverage(Z_labelled: np.ndarray, Z_candidates: np.ndarray, n: int,
                     random_state: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of ``n`` candidates that cover the data, and each one's cluster share (row by row).

    Clusters ``labelled + candidates`` into ``len(labelled) + n`` groups; the
    groups without a label, largest first, each give their most typical
    candidate (typicality inside the group). When fewer uncovered groups than
    ``n`` remain, the largest groups per label already in them give their
    next most typical candidate. The strategies use the once-per-pool
    :class:`CoverageIndex` instead; this is the direct form, for small sets.

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
    km = _kmeans(Z, k, n_init=3, random_state=random_state)
    groups_c = km.labels_[n_labelled:]
    typical = np.zeros(len(Z_candidates))
    for group in np.unique(groups_c):
        members = np.flatnonzero(groups_c == group)
        typical[members] = typicality(Z_candidates[members])
    sizes = np.bincount(km.labels_, minlength=k).astype(np.float64)
    return pick_coverage(km.labels_[:n_labelled], groups_c, sizes, typical, n)


@dataclass(frozen=True)
class CoverageIndex:
    """A pool's sample, summarised once for every coverage query of a session.

    Attributes
    ----------
    rows : ndarray of int
        The sampled pool rows (all rows up to ``max_rows``), sorted.
    micro : ndarray of int
        Micro-cluster of each sampled row.
    centres : ndarray of shape (K, d)
        Micro-cluster centres in the embedding (the non-empty ones).
    weights : ndarray of float
        Sampled rows per micro-cluster.
    typical : ndarray of float
        Typicality of each sampled row among the sample (TypiClust measures
        it inside a row's cluster; the query's groups change with every
        query, and the densest rows of a group are the densest rows of the
        sample that fall in it). See :func:`_typicality_near`.
    scale : (mean, std)
        The pool's column statistics (to embed rows outside the sample).
    pca : PCA or None
        The projection of wide pools.
    """

    rows: np.ndarray
    micro: np.ndarray
    centres: np.ndarray
    weights: np.ndarray
    typical: np.ndarray
    scale: tuple[np.ndarray, np.ndarray]
    pca: PCA | None

    @classmethod
    def build(cls, X: np.ndarray, max_rows: int, seed: int) -> CoverageIndex:
        """Sample ``max_rows`` rows of ``X`` (seeded), embed them, rate their typicality, micro-cluster them."""
        n_rows = len(X)
        rng = np.random.default_rng(seed)
        rows = np.arange(n_rows) if n_rows <= max_rows else np.sort(rng.choice(n_rows, max_rows, replace=False))
        scale = scores.column_scale(X)
        Z = scores.standardise(X, rows, scale)
        pca = None
        if Z.shape[1] > MAX_DIMENSIONS:
            pca = PCA(n_components=min(MAX_DIMENSIONS, *Z.shape), svd_solver="randomized",
                      random_state=seed).fit(Z)
            Z = pca.transform(Z).astype(np.float32)
        k = int(min(MICRO_CLUSTERS, len(rows)))
        # The centres are fitted on a subsample (MICRO_FIT_ROWS per centre is plenty to place
        # them) and every sampled row joins its nearest: a fifth of the cost of fitting them all.
        fit = np.sort(rng.choice(len(rows), MICRO_FIT_ROWS * k, replace=False)) if len(rows) > MICRO_FIT_ROWS * k \
            else slice(None)
        # Many small BLAS calls: on a shared 2-core machine, threads cost more than they bring.
        with _one_thread():
            km = _kmeans(Z[fit], k, n_init=1, random_state=seed)
            micro = _nearest(Z, km.cluster_centers_)
            typical = _typicality_near(Z, micro, km.cluster_centers_)
        weights = np.bincount(micro, minlength=k).astype(np.float64)
        kept = np.flatnonzero(weights > 0)  # repeated rows leave micro-clusters empty
        renumber = np.full(k, -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept))
        return cls(rows=rows, micro=renumber[micro], centres=km.cluster_centers_[kept].astype(np.float32),
                   weights=weights[kept], typical=typical, scale=scale, pca=pca)

    def nearest_micro(self, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Micro-cluster of pool ``rows`` (looked up in the sample, else the nearest centre)."""
        rows = np.asarray(rows, dtype=np.int64)
        at = np.searchsorted(self.rows, rows)
        found = (at < len(self.rows)) & (self.rows[np.minimum(at, len(self.rows) - 1)] == rows)
        out = np.empty(len(rows), dtype=np.int64)
        out[found] = self.micro[at[found]]
        if not found.all():
            Z = scores.standardise(X, rows[~found], self.scale)
            if self.pca is not None:
                Z = self.pca.transform(Z).astype(np.float32)
            out[~found] = _nearest(Z, self.centres)
        return out

    def picks(self, X: np.ndarray, labelled: np.ndarray, candidates: np.ndarray, n: int, seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pool rows of ``n`` candidates covering the data, with priorities and shares (see :func:`pick_coverage`).

        The micro-clusters are grouped into ``len(labelled) + n`` groups by a
        weighted k-means (at most one group per micro-cluster).
        """
        k = int(min(len(labelled) + n, len(self.centres)))
        with _one_thread():
            group_of = weighted_kmeans(self.centres, self.weights, k, n_init=3, seed=seed)
        sizes = np.bincount(group_of, weights=self.weights, minlength=k)
        is_candidate = np.zeros(len(X), dtype=bool)
        is_candidate[candidates] = True
        sampled = np.flatnonzero(is_candidate[self.rows])
        groups_l = group_of[self.nearest_micro(X, labelled)] if len(labelled) else np.zeros(0, np.int64)
        positions, priorities, shares = pick_coverage(groups_l, group_of[self.micro[sampled]], sizes,
                                                      self.typical[sampled], n)
        return self.rows[sampled[positions]], priorities, shares


class _CoverageMixin:
    """Shared coverage step of ``typical`` and ``auto``: one :class:`CoverageIndex` per pool."""

    _coverage_index: tuple[weakref.ref, tuple, CoverageIndex] | None = None

    def _coverage(self, context: PoolContext, n: int, why: str) -> Selection:
        # One draw per query whether or not the index is cached, so later draws (ties,
        # random picks) do not depend on when the index was built.
        seed = int(context.rng.integers(2**31 - 1))
        index = self._index(context.X, seed)
        rows, priorities, shares = index.picks(context.X, context.labelled, context.candidates, n, seed)
        if len(rows) == 0:  # every sampled row is labelled or leased: the rest of the pool at random
            return self._random(context, n, f"{why}: random pick (the coverage sample is used up)")
        return Selection(
            indices=rows, scores=priorities, strategy=self.type_name,
            reason=f"{why}: most typical row of an unlabelled cluster holding "
                   f"{100 * shares[0]:.1f}% of the pool")

    def _index(self, X: np.ndarray, seed: int) -> CoverageIndex:
        key = (X.shape, self.params["max_rows"])
        cached = self._coverage_index
        if cached is None or cached[0]() is not X or cached[1] != key:
            # Seeded by the query that needs it first: the same session replays the same index.
            cached = self._coverage_index = (weakref.ref(X), key, CoverageIndex.build(X, key[1], seed))
        return cached[2]


_COVERAGE_PARAMS = {
    "max_rows": integer(20_000, "pool rows sampled for coverage (seeded), summarised once per pool", low=100,
                        label="Rows sampled for coverage"),
}


class TypicalStrategy(_CoverageMixin, QueryStrategy):
    """Typical coverage of the pool; needs no model (see the module docstring).

    Parameters
    ----------
    max_rows : int, default 20000
        Pool rows sampled for coverage (all of them up to this many).
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
        Pool rows sampled for coverage.
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

    def __init__(self, **params):
        super().__init__(**params)
        # The pool ranked by margin under the newest cached probabilities (once per model).
        self._ranked: tuple[weakref.ref, np.ndarray, np.ndarray] | None = None
        self._scale: tuple[weakref.ref, tuple[np.ndarray, np.ndarray]] | None = None

    def audit_start(self) -> int:
        """Audit picks begin when coverage ends (see :meth:`QueryStrategy.audit_start`)."""
        return int(self.params["explore_labels"])

    def warm(self, proba: np.ndarray, rng: np.random.Generator) -> None:
        """Rank the pool by margin under a new model's probabilities (the trainer's thread)."""
        self._ranking(proba)

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

    def _ranking(self, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ranked = self._ranked
        if ranked is None or ranked[0]() is not proba:
            values = scores.margin(proba)
            # Ties in row order: the order a stable sort of the candidates' margins gives.
            ranked = self._ranked = (weakref.ref(proba), values, ranked_head(values, RANKED_HEAD))
        return ranked[1], ranked[2]

    def _pool_scale(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._scale is None or self._scale[0]() is not X:
            index = self._coverage_index
            # Coverage came first and measured the pool's columns already: one pass per pool.
            scale = index[2].scale if index is not None and index[0]() is X else scores.column_scale(X)
            self._scale = (weakref.ref(X), scale)
        return self._scale[1]

    def _least_certain(self, context: PoolContext, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``m`` candidates of smallest margin, best first (ties in row order), with margins and probabilities.

        Walks the model's ranking when the session cached its pool
        probabilities (candidates in row order: a stable sort of their
        margins orders ties so); otherwise scores the candidates.
        """
        candidates = context.candidates
        if context.proba is not None and (len(candidates) < 2 or np.all(candidates[1:] > candidates[:-1])):
            values, order = self._ranking(context.proba)
            rows = first_candidates(order, candidates, m)
            if len(rows) == m:
                return rows, values[rows], np.asarray(context.proba[rows])
        proba = context.candidate_proba()
        values = scores.margin(proba)
        top = np.argsort(-values, kind="stable")[:m]
        return candidates[top], values[top], proba[top]

    def _diverse_margin(self, context: PoolContext, n: int) -> Selection:
        n_candidates = len(context.candidates)
        # On a small pool diversity x n rows reach far into rows the model is sure of:
        # keep the candidates to a share of the pool (never fewer than n).
        m = min(n_candidates, self.params["diversity"] * n,
                max(n, int(np.ceil(self.params["max_share"] * n_candidates))))
        rows, values, proba = self._least_certain(context, m)
        top = np.arange(m)
        if m > n and n > 1:
            seed = int(context.rng.integers(2**31 - 1))
            Z = embed(context.X, rows, seed, scale=self._pool_scale(context.X))
            with _one_thread():
                km = _kmeans(Z, n, n_init=1, random_state=seed)
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
            indices=rows[chosen], scores=values[chosen], strategy=self.type_name,
            reason=(f"margin {-values[first]:.2f} (one of {m} least certain rows, spread over "
                    f"{n} clusters): top two classes {describe_top(proba[first], names)}"))
