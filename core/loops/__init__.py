"""Loops: how the human and the model take turns.

A loop is chosen in config (``loop.type``) and resolved through the registry:
``active`` (only human labels), ``self_training`` (pseudo-labels above a
threshold policy), ``self_paced`` (SPL: pseudo-labels under a growing age λ)
and ``aspl`` (active self-paced learning with batch re-certification).
``self-training`` and ``self_training`` name the same loop.
"""
from . import active, self_paced, self_training  # noqa: F401  (register the built-in loops)
from .base import HUMAN_SOURCES, Loop, TrainingSet, build_loop, human_key, validate_loop
from .context import LoopContext
from .pseudo import PseudoLabelLoop, PseudoRound
from .decisions import (PSEUDO_ANNOTATOR, accept_pseudo, pseudo_by_class, pseudo_labels, pseudo_precision,
                     reject_pseudo, rejected_objects)
from .self_paced import ActiveSelfPacedLoop, SelfPacedLoop
from .self_training import SelfTrainingLoop

__all__ = [
    "HUMAN_SOURCES", "PSEUDO_ANNOTATOR", "ActiveSelfPacedLoop", "Loop", "LoopContext", "PseudoLabelLoop", "PseudoRound",
    "SelfPacedLoop", "SelfTrainingLoop", "TrainingSet", "accept_pseudo", "build_loop", "human_key",
    "pseudo_by_class", "pseudo_labels", "pseudo_precision", "reject_pseudo", "rejected_objects",
    "validate_loop",
]
