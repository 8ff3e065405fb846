"""Uncertainty sampling: query the rows the current model is least sure about.

Each strategy scores candidates with one function of :mod:`.scores` on the
model's probabilities (the session's cached pool probabilities when present).
Before the first model exists (cold start) they pick at random and say so.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from . import scores
from .base import PoolContext, QueryStrategy, Selection, describe_top, first_candidates, top_n

#: How many of the best-scored rows a model's ranking keeps (queries walk this head).
RANKED_HEAD = 8192


class UncertaintyStrategy(QueryStrategy):
    """Score = ``score_function(proba)``; subclasses set the function and the reason."""

    score_function: ClassVar[Callable[[np.ndarray], np.ndarray]]

    def __init__(self, **params):
        super().__init__(**params)
        # The whole pool ranked under the newest cached probabilities: scores change only
        # with the model, not with every label, so a query walks the ranking (O(n)) instead
        # of rescoring and partitioning a million rows.
        self._ranked: tuple[weakref.ref, np.ndarray, np.ndarray] | None = None

    def warm(self, proba: np.ndarray, rng: np.random.Generator) -> None:
        """Rank the pool under new probabilities ahead of the first query (trainer thread)."""
        self._ranking(proba, rng)

    def _select(self, context: PoolContext, n: int) -> Selection:
        if context.model is None and context.proba is None:
            return self._random(context, n, f"no model yet: random pick ({self.type_name} starts with the first model)")
        if context.proba is None:
            proba = context.candidate_proba()
            values = type(self).score_function(proba)
            names = context.class_names(proba.shape[1])
            return self._top(context, values, n, lambda pos: self._reason(proba[pos], values[pos], names))
        values, order = self._ranking(context.proba, context.rng)
        picked = first_candidates(order, context.candidates, n)
        if len(picked) < n:  # the ranked head of the pool is used up: rank all candidates
            positions = top_n(values[context.candidates], n, context.rng)
            picked = context.candidates[positions]
        names = context.class_names(context.proba.shape[1])
        return Selection(indices=picked, scores=values[picked], strategy=self.type_name,
                         reason=self._reason(np.asarray(context.proba[picked[0]]), values[picked[0]], names))

    def _ranking(self, proba: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        ranked = self._ranked
        if ranked is not None and ranked[0]() is proba:
            return ranked[1], ranked[2]
        values = np.asarray(type(self).score_function(proba), dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{self.type_name}: scores must be finite")
        # Only the head of the ranking is ever walked: sort the best RANKED_HEAD rows
        # (O(N) partition + a small sort), best first with ties at random.
        head = top_n(values, min(len(values), RANKED_HEAD), rng)
        self._ranked = (weakref.ref(proba), values, head)
        return values, head

    def _reason(self, row: np.ndarray, value: float, names: list[str]) -> str:
        raise NotImplementedError


class LeastConfidenceStrategy(UncertaintyStrategy):
    """Query the rows whose most probable class has the lowest probability."""

    type_name: ClassVar[str] = "least_confidence"
    score_function = staticmethod(scores.least_confidence)

    def _reason(self, row, value, names):
        return f"confidence {1.0 - value:.2f}: top classes {describe_top(row, names)}"


class MarginStrategy(UncertaintyStrategy):
    """Query the rows with the smallest gap between the two most probable classes."""

    type_name: ClassVar[str] = "margin"
    score_function = staticmethod(scores.margin)

    def _reason(self, row, value, names):
        return f"margin {-value:.2f}: top two classes {describe_top(row, names)}"


class EntropyStrategy(UncertaintyStrategy):
    """Query the rows whose class distribution has the highest entropy."""

    type_name: ClassVar[str] = "entropy"
    score_function = staticmethod(scores.entropy)

    def _reason(self, row, value, names):
        return f"entropy {value:.2f} of max {np.log(len(row)):.2f}: top classes {describe_top(row, names, 3)}"
