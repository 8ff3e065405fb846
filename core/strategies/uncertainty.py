"""Uncertainty sampling: query the rows the current model is least sure about.

Each strategy scores candidates with one function of :mod:`.scores` on the
model's probabilities (the session's cached pool probabilities when present).
Before the first model exists (cold start) they pick at random and say so.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from . import scores
from .base import PoolContext, QueryStrategy, Selection, describe_top


class UncertaintyStrategy(QueryStrategy):
    """Score = ``score_function(proba)``; subclasses set the function and the reason."""

    score_function: ClassVar[Callable[[np.ndarray], np.ndarray]]

    def _select(self, context: PoolContext, n: int) -> Selection:
        if context.model is None and context.proba is None:
            return self._random(context, n, f"no model yet: random pick ({self.type_name} starts with the first model)")
        proba = context.candidate_proba()
        values = type(self).score_function(proba)
        names = context.class_names(proba.shape[1])
        return self._top(context, values, n, lambda pos: self._reason(proba[pos], values[pos], names))

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
