"""Classifier heads: the models that learn from the labels and score the pool.

Importing this package registers every built-in head with
:func:`alabel.core.registry.resolve`: the scikit-learn heads, the committee
and (when its module is present) the torch heads, whose module imports torch
only inside methods so that importing it stays cheap.
"""
from importlib import import_module

from .adaptive import AdaptiveHead  # noqa: F401  (registers the ``auto`` head)
from .base import Head, build_head, head_spec_keys, parse_head, to_spec
from .committee import CommitteeHead
from .persist import load_head, save_head
from .sklearn_heads import (
    HistGradientBoostingHead,
    KNNHead,
    LogisticRegressionHead,
    MLPHead,
    RandomForestHead,
    SklearnHead,
)

try:
    import_module(f"{__name__}.torch_heads")  # registers the torch heads
except ModuleNotFoundError as exc:
    # Tolerate only the torch heads module itself being absent (it is written
    # separately); a missing dependency inside it must still surface.
    if exc.name != f"{__name__}.torch_heads":
        raise

__all__ = [
    "CommitteeHead",
    "Head",
    "HistGradientBoostingHead",
    "KNNHead",
    "LogisticRegressionHead",
    "MLPHead",
    "RandomForestHead",
    "SklearnHead",
    "build_head",
    "head_spec_keys",
    "parse_head",
    "load_head",
    "save_head",
    "to_spec",
]
