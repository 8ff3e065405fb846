"""A head whose fit burns CPU until a file appears: a slow retrain the test controls.

Loaded by the server (and its training process) by dotted path,
``head: {type: burn_head.BurnHead, release_file: ...}``; the browser tests put
this folder on ``PYTHONPATH``. The burn is arithmetic, not a sleep, so the
retrain really competes with the server for the CPU.
"""
from __future__ import annotations

import os
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

from alabel.core.heads.base import Head

#: Never burn longer than this (a forgotten release must not hang CI).
MAX_BURN_S = 120.0


class BurnHead(Head):
    """Logistic regression whose fit first burns CPU while ``release_file`` is missing."""

    type_name = "test_burn"

    def __init__(self, release_file: str = "", classes=None, random_state=None):
        self.release_file = release_file
        self.classes = classes
        self.random_state = random_state

    def _fit(self, X, y, sample_weight):
        deadline = time.monotonic() + MAX_BURN_S
        x = 0.0
        while self.release_file and not os.path.exists(self.release_file) and time.monotonic() < deadline:
            for i in range(20_000):  # CPU-bound work between checks
                x += (i % 7) * 0.5
        self.model_ = LogisticRegression(max_iter=500, random_state=self.random_state).fit(
            np.nan_to_num(X), y, sample_weight=sample_weight)

    def _predict_proba(self, X):
        inner = self.model_.predict_proba(np.nan_to_num(X))
        out = np.zeros((len(X), len(self.classes_)))
        out[:, self.model_.classes_] = inner  # y was encoded as indices into classes_
        return out
