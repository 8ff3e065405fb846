"""What a loop may see and do: the narrow view of a session that loops get.

Loops decide what the model trains on and what happens after each retrain;
for that they read the current labels and the pool, write pseudo-labels and
labels people accepted, and ask for retrains. They never see the session
itself (no access to its trainer, strategy, queries or lock), which keeps
``core/loops`` free of the session module and lets a loop run against any
engine that offers these few things (a test fake, a future remote worker).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class LoopContext:
    """The session as a loop sees it.

    Attributes
    ----------
    pool
        The loaded data (``ids``, ``X``, ``n``).
    seed
        The session's seed (everything random in a loop derives from it).
    where
        The config file, for messages.
    annotator
        The session's default annotator.
    labels
        ``labels(split="train", sources=HUMAN_SOURCES)``: current labels with their pool ``row``.
    labelled_rows
        ``labelled_rows(sources)``: pool rows labelled from ``sources``, in pool order.
    teach, teach_many
        Record human labels (committed before they return) and schedule a retrain.
    write_pseudo
        ``write_pseudo({object_id: (label, confidence)}, model_version, annotator=...)``:
        replace the pseudo-labels in force; returns what was added, retracted, kept.
    record_events
        Record raw journal rows in one transaction (retractions of pseudo-labels).
    events
        The store's journal, oldest first.
    confirm
        ``confirm(event_id, annotator=...)``: record that a person re-checked a
        label and keeps it (a ``confirm`` event: it survives restarts).
    confirmed
        ``confirmed()``: the confirmations in force, object id -> kept label's event id.
    request_retrain
        Ask for a retrain without a new human label.
    """

    pool: object
    seed: int
    where: str
    annotator: str
    labels: Callable[..., pd.DataFrame]
    labelled_rows: Callable[[Iterable[str]], np.ndarray]
    teach: Callable
    teach_many: Callable
    write_pseudo: Callable
    record_events: Callable
    events: Callable[[], pd.DataFrame]
    confirm: Callable
    confirmed: Callable[[], dict]
    request_retrain: Callable[[], None]
    _classes: Callable[[], list[str]]
    _head_spec: Callable[[], dict]
    _held_out_rows: Callable[[], np.ndarray | None]

    @property
    def classes(self) -> list[str]:
        """The classes in force (a person may add one during the session)."""
        return self._classes()

    @property
    def head_spec(self) -> dict:
        """The ``head:`` section in force (the dashboard may switch heads live)."""
        return self._head_spec()

    @property
    def held_out_rows(self) -> np.ndarray | None:
        """Rows an oracle holds out for evaluation (never pseudo-labelled), or None."""
        return self._held_out_rows()
