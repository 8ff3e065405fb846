"""Uniformly random queries: the baseline every other strategy must beat."""
from __future__ import annotations

from typing import ClassVar

from .base import PoolContext, QueryStrategy, Selection


class RandomStrategy(QueryStrategy):
    """Pick candidates uniformly at random (seeded by the context's generator)."""

    type_name: ClassVar[str] = "random"

    def _select(self, context: PoolContext, n: int) -> Selection:
        return self._random(context, n, "random pick")
