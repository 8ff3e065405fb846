"""The plain active loop: the human answers the strategy's queries."""
from __future__ import annotations

from .base import Loop


class ActiveLoop(Loop):
    """Only human labels train the model; the query strategy picks what to ask."""

    type_name = "active"
