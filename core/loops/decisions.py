"""Reviewing pseudo-labels: list them, accept them as human labels, reject them.

These work on the label store through the loop's context, whatever loop wrote the
pseudo-labels, so the store stays the one owner of labelling state:

* accepting records a *human* label with the pseudo-label's class (it then
  wins by precedence and stays fixed; the pseudo-label is retracted by the
  loop at its next round);
* rejecting appends a ``retract`` event of the pseudo-label signed by the
  reviewer; loops never pseudo-label a rejected object again (read back from
  the journal, so it holds across restarts and processes).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import LabelStoreError

from .context import LoopContext

if TYPE_CHECKING:  # pragma: no cover
    from ..labels import LabelEvent

#: Annotator name recorded on the pseudo-labels (and their retractions) that loops write.
PSEUDO_ANNOTATOR = "model"
#: Columns of :func:`pseudo_labels`.
PSEUDO_COLUMNS = ("object_id", "row", "label", "confidence", "model_version", "event_id")


def pseudo_labels(context: LoopContext, *, model_version: int | None = None) -> pd.DataFrame:
    """The pseudo-labels in force (not hidden by a human label), grouped by class.

    Parameters
    ----------
    model_version : int, optional
        Only those written by this model version (e.g. the last round's new ones).

    Returns
    -------
    DataFrame
        Columns :data:`PSEUDO_COLUMNS`, ordered by class (in the session's
        class order) and by confidence, highest first.
    """
    current = context.labels("train", sources=("pseudo",))
    if model_version is not None:
        current = current[current["model_version"] == model_version]
    order = {c: i for i, c in enumerate(context.classes)}
    frame = current.assign(_cls=current["label"].map(order).fillna(len(order)),
                           confidence=current["confidence"].astype(float))
    frame = frame.sort_values(["_cls", "confidence"], ascending=[True, False], kind="stable")
    return frame.loc[:, list(PSEUDO_COLUMNS)].reset_index(drop=True)


def pseudo_by_class(context: LoopContext, *, model_version: int | None = None) -> dict[str, pd.DataFrame]:
    """:func:`pseudo_labels` split by class (every class of the session, empty ones included)."""
    frame = pseudo_labels(context, model_version=model_version)
    return {c: frame[frame["label"] == c].reset_index(drop=True) for c in context.classes}


def accept_pseudo(context: LoopContext, object_ids: Iterable | None = None, *,
                  annotator: str | None = None) -> list[LabelEvent]:
    """Turn pseudo-labels into human labels (all in force when ``object_ids`` is None).

    Records one human label per object in one transaction and schedules a
    retrain. Objects without a pseudo-label in force raise LabelStoreError.
    """
    frame = context.labels("train", sources=("pseudo",)).set_index("object_id")
    ids = list(frame.index) if object_ids is None else [str(o) for o in object_ids]
    missing = [o for o in ids if o not in frame.index]
    if missing:
        raise LabelStoreError(f"accept: objects {missing[:5]} have no pseudo-label in force")
    if not ids:
        return []
    return context.teach_many(ids, frame.loc[ids, "label"].astype(str).tolist(), annotator=annotator,
                              source="human")


def reject_pseudo(context: LoopContext, object_ids: Iterable, *, annotator: str | None = None) -> int:
    """Retract pseudo-labels a person judged wrong; the loop will not pseudo-label them again.

    Returns how many were rejected; schedules a retrain without them.
    """
    annotator = annotator or context.annotator
    if annotator == PSEUDO_ANNOTATOR:
        raise LabelStoreError(f"reject: annotator {PSEUDO_ANNOTATOR!r} is the loop's own name; "
                              "sign rejections with a person's name")
    frame = context.labels("train", sources=("pseudo",)).set_index("object_id")
    ids = [str(o) for o in object_ids]
    missing = [o for o in ids if o not in frame.index]
    if missing:
        raise LabelStoreError(f"reject: objects {missing[:5]} have no pseudo-label in force")
    rows = [{"object_id": o, "label": None, "kind": "retract", "source": "pseudo",
             "target_event_id": frame.loc[o, "event_id"], "annotator": annotator} for o in ids]
    context.record_events(rows)
    context.request_retrain()
    return len(rows)


def rejected_objects(events: pd.DataFrame) -> set[str]:
    """Objects whose pseudo-label a person retracted (read from the store's journal ``events``)."""
    mask = ((events["kind"] == "retract") & (events["source"] == "pseudo")
            & (events["annotator"] != PSEUDO_ANNOTATOR))
    return set(events.loc[mask, "object_id"].astype(str))


def pseudo_precision(rows, labels, truth) -> float:
    """Fraction of pseudo-labels equal to the oracle's label (NaN when there are none)."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return float("nan")
    return float(np.mean(np.asarray(labels).astype(str) == np.asarray(truth)[rows].astype(str)))
