"""Loops: how the human and the model take turns.

A loop is chosen in config (``loop.type``) and resolved through the registry:
``active`` (only human labels), ``self_training`` (pseudo-labels above a
threshold policy), ``auto`` (self-training that writes pseudo-labels only while
the check of :mod:`.gate` passes), ``self_paced`` (SPL: pseudo-labels under a growing age λ)
and ``aspl`` (active self-paced learning with batch re-certification).
``self-training`` and ``self_training`` name the same loop.
"""
from . import active, self_paced, self_training  # noqa: F401  (register the built-in loops)
from .base import HUMAN_SOURCES, Loop, TrainingSet, human_key
from .context import LoopContext
from .pseudo import PseudoLabelLoop, PseudoRound
from .decisions import (PSEUDO_ANNOTATOR, accept_pseudo, pseudo_by_class, pseudo_labels, pseudo_precision,
                     reject_pseudo, rejected_objects)
from .self_paced import ActiveSelfPacedLoop, SelfPacedLoop
from .self_training import GatedSelfTrainingLoop, SelfTrainingLoop

__all__ = [
    "HUMAN_SOURCES", "PSEUDO_ANNOTATOR", "ActiveSelfPacedLoop", "GatedSelfTrainingLoop", "Loop", "LoopContext", "PseudoLabelLoop", "PseudoRound",
    "SelfPacedLoop", "SelfTrainingLoop", "TrainingSet", "accept_pseudo", "human_key",
    "pseudo_by_class", "pseudo_labels", "pseudo_precision", "reject_pseudo", "rejected_objects",
]
