"""Query-strategy base: the pool context in, an ordered selection out.

A strategy sees the whole pool through a :class:`PoolContext` whose indices
are always global row numbers of the pool (``candidates`` and ``labelled``
index ``X`` directly; arrays are never shrunk), and returns a
:class:`Selection` of candidate rows, best first, with their scores and a
short reason a person can read next to the queried object.

Strategies register by ``type_name``; their parameters are declared with
:mod:`core.params`. :func:`parse_strategy` validates ``type`` and every
``params`` entry once (the session config keeps the result) and
:func:`build_strategy` builds from it.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, EmptyPoolError, NotReadyError, did_you_mean
from ..params import Configurable, Spec
from ..registry import concrete_descendants, resolve


@dataclass(kw_only=True)
class PoolContext:
    """What a strategy may look at when it picks rows.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Features of the whole pool (float32, NaN allowed).
    candidates : ndarray of int
        Global row indices that may be queried (unlabelled and not leased).
    labelled : ndarray of int
        Global row indices that already carry a label.
    model : Head or None
        The current fitted head; None before the first model (cold start).
    proba : ndarray of shape (N, C) or None
        The model's probabilities over the whole pool, cached by the session
        per model version; strategies use it instead of calling the model.
    rng : numpy.random.Generator
        Source of every random choice (ties, cold-start picks, samples).
    """

    X: np.ndarray
    candidates: np.ndarray
    rng: np.random.Generator
    labelled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    model: Any = None
    proba: np.ndarray | None = None

    def __post_init__(self):
        n_rows = len(self.X)
        self.candidates = _as_indices(self.candidates, n_rows, "candidates")
        self.labelled = _as_indices(self.labelled, n_rows, "labelled")
        if self.proba is not None and (np.ndim(self.proba) != 2 or len(self.proba) != n_rows):
            raise ValueError(
                f"PoolContext.proba must have one row per pool row ({n_rows}), got shape {np.shape(self.proba)}"
            )
        # One boolean pass over the pool catches duplicated candidates and
        # candidates that are labelled (both would break "n unique, unlabelled rows").
        seen = np.zeros(n_rows, dtype=bool)
        seen[self.candidates] = True
        if int(seen.sum()) != len(self.candidates):
            raise ValueError("PoolContext.candidates holds duplicate rows")
        if len(self.labelled) and seen[self.labelled].any():
            raise ValueError("PoolContext.candidates holds labelled rows")

    def candidate_proba(self) -> np.ndarray:
        """The model's probabilities for the candidate rows (cached pool proba when present)."""
        if self.proba is not None:
            return np.asarray(self.proba[self.candidates])
        if self.model is None:
            raise NotReadyError("no model yet: probabilities are not available")
        return np.asarray(self.model.predict_proba(self.X[self.candidates]))

    def class_names(self, n_classes: int) -> list[str]:
        """Names of the probability columns (the model's ``classes_``, else ``class 0``...)."""
        classes = getattr(self.model, "classes_", None)
        if classes is not None and len(classes) == n_classes:
            return [str(c) for c in classes]
        return [f"class {j}" for j in range(n_classes)]


def _as_indices(values, n_rows: int, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"PoolContext.{name} must be a 1-D array of row indices, got {arr.dtype} {arr.shape}")
    if arr.min() < 0 or arr.max() >= n_rows:
        raise ValueError(f"PoolContext.{name} holds indices outside the pool (0..{n_rows - 1})")
    return arr.astype(np.int64, copy=False)


@dataclass(frozen=True)
class Selection:
    """Rows a strategy wants labelled, best first.

    Attributes
    ----------
    indices : ndarray of int64
        Global pool rows, best first.
    scores : ndarray of float64
        The strategy's score of each row (higher = query first; non-increasing).
    strategy : str
        The strategy's ``type_name``.
    reason : str
        Why the first row was picked, in words.
    """

    indices: np.ndarray
    scores: np.ndarray
    strategy: str
    reason: str


class QueryStrategy(Configurable):
    """Base of every query strategy.

    Subclasses declare ``type_name``, their parameters in ``params_spec``
    (:mod:`core.params` declarations) and implement :meth:`_select`
    (candidates are non-empty and ``n`` is already clipped to their number
    there).

    Parameters
    ----------
    **params
        Values for the entries of ``params_spec``; missing ones take the default.
    """

    family: ClassVar[str] = "strategy"
    #: Name of the head method the strategy needs (e.g. ``"member_probas"``), if any.
    requires: ClassVar[str | None] = None

    def audit_start(self) -> int:
        """Label count from which random audit picks (``labels.audit_fraction``) are mixed in.

        0 here; a strategy with a cold-start phase returns its length, because
        the first labels are worth more as coverage than as an estimate whose
        interval spans most of [0, 1] anyway.
        """
        return 0

    @classmethod
    def check_head(cls, head: Any, *, where: str = "config.yaml", key: str = "strategy.type") -> None:
        """Raise ConfigError when ``head`` (a head or head class) lacks what this strategy needs."""
        if cls.requires is not None and not hasattr(head, cls.requires):
            name = getattr(head, "type_name", type(head).__name__)
            raise ConfigError(f"{where}: {key}: strategy {cls.type_name!r} needs {cls._requirement()}; "
                              f"head {name!r} has no {cls.requires}()")

    @classmethod
    def _requirement(cls) -> str:
        return f"a head with {cls.requires}()"

    # ---------------------------------------------------------------- select
    def select(self, context: PoolContext, n: int) -> Selection:
        """Pick up to ``n`` candidates, best first.

        Parameters
        ----------
        context : PoolContext
        n : int
            How many rows to return (all candidates when there are fewer).

        Raises
        ------
        EmptyPoolError
            When there is no candidate left.
        """
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{type(self).__name__}.select: n must be an integer >= 1, got {n!r}")
        if len(context.candidates) == 0:
            raise EmptyPoolError("no unlabelled object left to query")
        return self._select(context, min(int(n), len(context.candidates)))

    def _select(self, context: PoolContext, n: int) -> Selection:
        raise NotImplementedError

    def warm(self, proba: np.ndarray, rng: np.random.Generator) -> None:
        """Precompute what depends only on the model's pool probabilities (optional).

        The session calls it in the trainer's thread when a model is
        published, so the first query after a retrain does not pay for it.
        """

    # --------------------------------------------------------------- helpers
    def _top(self, context: PoolContext, candidate_scores: np.ndarray, n: int, reason: Callable[[int], str]) -> Selection:
        """Selection of the ``n`` best-scored candidates (ties broken at random).

        ``reason(pos)`` describes the winner, ``pos`` being its position in
        ``context.candidates``.
        """
        candidate_scores = np.asarray(candidate_scores, dtype=np.float64)
        if not np.all(np.isfinite(candidate_scores)):
            raise ValueError(f"{self.type_name}: scores must be finite")
        positions = top_n(candidate_scores, n, context.rng)
        return Selection(
            indices=context.candidates[positions],
            scores=candidate_scores[positions],
            strategy=self.type_name,
            reason=reason(int(positions[0])),
        )

    def _random(self, context: PoolContext, n: int, why: str) -> Selection:
        """Uniformly random picks (cold start), scored by the random draw."""
        draws = context.rng.random(len(context.candidates))
        return self._top(context, draws, n, lambda pos: why)


def first_candidates(order: np.ndarray, candidates: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` rows of a pool ranking ``order`` that are candidates.

    Scans the ranking in growing chunks, so the cost is about O(n) plus the
    labelled or leased rows ranked above them, not O(pool).
    """
    if len(order) == 0 or len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    # ``order`` may be only the head of a ranking: size the mask by the largest row seen.
    is_candidate = np.zeros(int(max(order.max(), candidates.max())) + 1, dtype=bool)
    is_candidate[candidates] = True
    chunk = max(4 * n, 256)
    start, picked = 0, []
    while start < len(order) and sum(len(p) for p in picked) < n:
        block = order[start:start + chunk]
        picked.append(block[is_candidate[block]])
        start += chunk
        chunk *= 4
    return np.concatenate(picked)[:n].astype(np.int64)


def ranked_head(values: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` largest ``values``, largest first, ties in row order.

    The first ``k`` entries of ``np.argsort(-values, kind="stable")``, in
    O(N + k log k): one argpartition finds the cut, and only the rows at or
    above it are sorted. A model's ranking is built with it once; queries then
    walk it (:func:`first_candidates`).
    """
    values = np.asarray(values)
    k = min(int(k), len(values))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < len(values):
        cut = values[np.argpartition(-values, k - 1)[k - 1]]
        rows = np.flatnonzero(values >= cut)  # every row tied with the cut: row order decides
    else:
        rows = np.arange(len(values))
    order = np.lexsort((rows, -values[rows]))[:k]
    return rows[order].astype(np.int64)


def top_n(values: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of the ``n`` largest ``values``, largest first; ties in random order.

    Linear in ``len(values)`` (one argpartition, no permutation of the whole
    pool), so it suits million-row pools: only the rows tied with the n-th
    value are shuffled to decide which of them make the cut.
    """
    values = np.asarray(values)
    size = len(values)
    n = min(n, size)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n < size:
        part = np.argpartition(-values, n - 1)[:n]
        boundary = values[part].min()
        inside = part[values[part] > boundary]
        tied = np.flatnonzero(values == boundary)
        if len(inside) + len(tied) > n:  # more rows tie at the cut than there are places left
            tied = rng.choice(tied, n - len(inside), replace=False)
        part = np.concatenate([inside, tied])
    else:
        part = np.arange(size)
    # Best first; equal values in random order.
    order = np.lexsort((rng.random(len(part)), -values[part]))
    return part[order].astype(np.int64)


def parse_strategy(spec: Any, *, where: str = "config.yaml", key: str = "strategy", head: Any = None) -> Spec:
    """Validate a strategy spec completely; return it as a :class:`~core.params.Spec`.

    Parameters
    ----------
    spec : dict or Spec
        ``{"type": <registered name or dotted path>, "params": {...}}``. A Spec
        (already validated) is returned as it is, after the head check.
    where, key
        File and key path used in error messages.
    head : Head, Head class or head Spec, optional
        When given, also check that the head offers what the strategy needs
        (e.g. committee strategies need ``member_probas``).

    Raises
    ------
    ConfigError
    """
    if not isinstance(spec, Spec):
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: {key}: must be a mapping with a 'type' key, got {type(spec).__name__}")
        unknown = sorted(set(spec) - {"type", "params"})
        if unknown:
            raise ConfigError(f"{where}: {key}.{unknown[0]}: unknown key"
                              f"{did_you_mean(unknown[0], ['type', 'params'])}; a strategy takes 'type' and 'params'")
        if "type" not in spec:
            raise ConfigError(f"{where}: {key}.type: missing; known strategies: "
                              f"{', '.join(concrete_descendants(QueryStrategy))}")
        cls = resolve(QueryStrategy, spec["type"], key=f"{key}.type", where=where)
        spec = Spec(spec, cls, cls.validate_params(spec.get("params"), where=where, key=f"{key}.params"))
    if head is not None:
        spec.cls.check_head(head.cls if isinstance(head, Spec) else head, where=where, key=f"{key}.type")
    return spec


def build_strategy(spec: Any, *, where: str = "config.yaml", key: str = "strategy", head: Any = None) -> QueryStrategy:
    """Validate a strategy spec (unless it is a validated Spec already) and build the strategy.

    See :func:`parse_strategy` for the arguments.
    """
    return parse_strategy(spec, where=where, key=key, head=head).build()


def describe_top(row: np.ndarray, names: list[str], k: int = 2) -> str:
    """``"Cep 0.51 / T2Cep 0.48"``: the ``k`` most probable classes of one probability row."""
    top = np.argsort(-row, kind="stable")[:k]
    return " / ".join(f"{names[j]} {row[j]:.2f}" for j in top)
