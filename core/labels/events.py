"""The label event: what one journal entry holds, and how a row becomes one.

Everything here is pure (no storage): the event record, the vocabularies
(kinds, sources, splits), the validation that turns a caller's row into an
event with one-line errors, and the conversions between stored rows, events
and DataFrames. Backends store and return events in :data:`ROW_COLUMNS` order.
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from ..errors import LabelStoreError, did_you_mean
from ..ids import id_text

#: Event kinds. ``skip``/``unsure`` record that an annotator passed on a
#: query; ``retract`` cancels an earlier event (undo); ``confirm`` records that
#: a person re-checked a label and kept it (the label-noise review).
KINDS = ("label", "skip", "unsure", "retract", "confirm")
#: Kinds that point at an earlier event (``target_event_id``).
TARGETING_KINDS = ("retract", "confirm")
#: Where a label came from.
SOURCES = ("human", "catalogue", "import", "pseudo")
#: Which split a labelled object belongs to.
SPLITS = ("train", "test")
#: Precedence of sources in the current-labels view: lower rank wins, so a
#: pseudo-label never hides a human one.
SOURCE_RANK = {"human": 0, "catalogue": 1, "import": 1, "pseudo": 2}

#: Columns of :meth:`LabelStore.current`.
CURRENT_COLUMNS = (
    "object_id", "label", "source", "annotator", "split", "time",
    "event_id", "model_version", "confidence", "conflict",
)
#: Columns of :meth:`LabelStore.events` (the journal, in write order).
EVENT_COLUMNS = (
    "seq", "event_id", "object_id", "label", "kind", "source", "annotator",
    "split", "time", "model_version", "confidence", "target_event_id", "retracted",
)
#: The order in which backends return a stored event (the journal without ``retracted``).
ROW_COLUMNS = EVENT_COLUMNS[:-1]
#: Fields a row given to :meth:`LabelStore.record_many` may carry.
ROW_FIELDS = (
    "object_id", "label", "annotator", "source", "split", "kind",
    "model_version", "confidence", "event_id", "time", "target_event_id",
)
#: What a retried event must repeat to be the same event. Not the time, the
#: model version or the confidence: a process that re-sends an event after a
#: crash cannot know the state (the model in use) the first attempt saw.
IDENTITY_FIELDS = ("object_id", "label", "kind", "source", "annotator", "split", "target_event_id")


@dataclass(frozen=True)
class LabelEvent:
    """One journal entry.

    Attributes
    ----------
    event_id : str
        Caller-made unique id; recording it twice stores it once.
    object_id : str
        Id of the labelled object (always text, see :mod:`core.ids`).
    label : str or None
        Class label; ``None`` for every kind but ``label``.
    kind : {'label', 'skip', 'unsure', 'retract', 'confirm'}
    source : {'human', 'catalogue', 'import', 'pseudo'}
    annotator : str
    split : {'train', 'test'}
    time : float
        Unix time (UTC seconds) when the event was made.
    model_version : int or None
        Model that produced a pseudo-label (or that was shown to the annotator).
    confidence : float or None
        Probability in [0, 1] of a pseudo-label.
    target_event_id : str or None
        The event a ``retract`` cancels or a ``confirm`` keeps.
    seq : int or None
        Position in the journal (monotonic); ``None`` before it is stored.
    """

    event_id: str
    object_id: str
    label: str | None
    kind: str = "label"
    source: str = "human"
    annotator: str = "anonymous"
    split: str = "train"
    time: float = 0.0
    model_version: int | None = None
    confidence: float | None = None
    target_event_id: str | None = None
    seq: int | None = None

    @property
    def time_iso(self) -> str:
        """The event time as an ISO 8601 string in UTC."""
        return datetime.fromtimestamp(self.time, tz=timezone.utc).isoformat()

    def identity(self) -> dict[str, Any]:
        """The fields a retry with the same ``event_id`` must repeat (:data:`IDENTITY_FIELDS`)."""
        return {name: getattr(self, name) for name in IDENTITY_FIELDS}

    def row(self) -> tuple:
        """The stored row without ``seq`` (:data:`ROW_COLUMNS` from ``event_id`` on)."""
        return (
            self.event_id, self.object_id, self.label, self.kind, self.source,
            self.annotator, self.split, self.time, self.model_version,
            self.confidence, self.target_event_id,
        )


@dataclass(frozen=True)
class PseudoUpdate:
    """What :meth:`LabelStore.replace_pseudo` changed.

    Attributes
    ----------
    added : int
        Pseudo-labels recorded (new objects or changed labels).
    retracted : int
        Earlier pseudo-labels retracted (dropped or changed).
    kept : int
        Earlier pseudo-labels re-confirmed with the same label (left as they were).
    revision : int
        Store revision after the update.
    """

    added: int
    retracted: int
    kept: int
    revision: int


# ---------------------------------------------------------------- conversions


def event_from_row(row: Sequence) -> LabelEvent:
    """A stored row (:data:`ROW_COLUMNS` order) as an event."""
    seq, event_id, object_id, label, kind, source, annotator, split, when, version, conf, target = row[:12]
    return LabelEvent(
        event_id=event_id, object_id=object_id, label=label, kind=kind, source=source,
        annotator=annotator, split=split, time=float(when),
        model_version=None if version is None else int(version),
        confidence=None if conf is None else float(conf),
        target_event_id=target, seq=int(seq),
    )


def frame(rows: list[tuple], columns: Sequence[str]) -> pd.DataFrame:
    """Stored rows as a DataFrame with the journal's dtypes."""
    table = pd.DataFrame.from_records(rows, columns=list(columns))
    dtypes = {"seq": "int64", "time": "float64", "model_version": "Int64", "confidence": "float64",
              "conflict": "bool", "retracted": "bool"}
    return table.astype({col: dtype for col, dtype in dtypes.items() if col in table.columns})


def retract_event(target: LabelEvent, annotator: str, now: float, event_id: str | None = None,
                  model_version: int | None = None) -> LabelEvent:
    """A ``retract`` event cancelling ``target`` (same object, source and split)."""
    return LabelEvent(
        event_id=event_id or str(uuid.uuid4()), object_id=target.object_id, label=None,
        kind="retract", source=target.source, annotator=annotator, split=target.split,
        time=now, model_version=model_version, target_event_id=target.event_id,
    )


# ---------------------------------------------------------------- validation


def missing(value: Any) -> bool:
    """None, pandas' NA/NaT or a float NaN (an empty cell of a table)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def choice(value: Any, choices: Sequence[str], what: str, where: str) -> str:
    if value not in choices:
        raise LabelStoreError(
            f"{where}{what} {value!r} is not one of {', '.join(choices)}{did_you_mean(value, choices)}"
        )
    return value


def name(value: Any, what: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabelStoreError(f"{where}{what} must be a non-empty string, got {value!r}")
    return value


def optional_int(value: Any, what: str, where: str) -> int | None:
    if missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        raise LabelStoreError(f"{where}{what} must be an integer, got {value!r}")
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    raise LabelStoreError(f"{where}{what} must be an integer, got {value!r}")


def as_list(values: Iterable[str] | str) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def object_ids(ids: Iterable[Any] | str | int) -> list[str]:
    """Normalise one id or many to a list of unique text ids, keeping order."""
    if isinstance(ids, (str, int, np.integer)):
        ids = [ids]
    seen: dict[str, None] = {}
    for oid in ids:
        if missing(oid):
            raise LabelStoreError(f"object id must not be missing, got {oid!r}")
        seen.setdefault(id_text(oid), None)
    return list(seen)


def class_names(classes: Iterable[Any] | None) -> tuple[str, ...] | None:
    """Validated class names as text (``None``: any label is accepted)."""
    if classes is None:
        return None
    names = tuple(id_text(c) for c in classes)
    if not names:
        raise LabelStoreError("label store classes must not be empty (use None to accept any label)")
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise LabelStoreError(f"label store classes repeat {', '.join(dupes)}")
    return names


def _unix_time(value: Any, where: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise LabelStoreError(f"{where}time must be a unix time or an ISO date, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        result = float(value)
    elif isinstance(value, (str, datetime)):
        try:
            stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            raise LabelStoreError(f"{where}time {value!r} is not an ISO 8601 date") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)  # journal times are UTC
        result = stamp.timestamp()
    else:
        raise LabelStoreError(f"{where}time must be a unix time or an ISO date, got {value!r}")
    if not math.isfinite(result):
        raise LabelStoreError(f"{where}time must be finite, got {value!r}")
    return result


def _confidence(value: Any, where: str) -> float | None:
    if missing(value):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise LabelStoreError(f"{where}confidence must be a number, got {value!r}") from None
    if not 0.0 <= result <= 1.0:
        raise LabelStoreError(f"{where}confidence must be between 0 and 1, got {value!r}")
    return result


def make_event(row: Mapping[str, Any], *, defaults: Mapping[str, Any], now: float, where: str,
               classes: tuple[str, ...] | None) -> LabelEvent:
    """Validate one row (fields :data:`ROW_FIELDS`) into an event, without touching storage.

    Missing fields (absent, None or NaN) take ``defaults``; a missing time is
    ``now`` and a missing event id a new UUID. ``where`` prefixes every error.
    """
    unknown = [key for key in row if key not in ROW_FIELDS]
    if unknown:
        key = str(unknown[0])
        raise LabelStoreError(
            f"{where}unknown field {key!r}{did_you_mean(key, ROW_FIELDS)} (fields: {', '.join(ROW_FIELDS)})"
        )

    def get(key, fallback=None):
        value = row.get(key)
        return defaults.get(key, fallback) if missing(value) else value

    kind = choice(get("kind", "label"), KINDS, "kind", where)
    source = choice(get("source", "human"), SOURCES, "source", where)
    split = choice(get("split", "train"), SPLITS, "split", where)
    annotator = name(get("annotator", "anonymous"), "annotator", where)
    object_id = row.get("object_id")
    if missing(object_id) or id_text(object_id) == "":
        raise LabelStoreError(f"{where}object_id must not be missing, got {object_id!r}")
    label = row.get("label")
    if kind == "label":
        if missing(label) or id_text(label) == "":
            raise LabelStoreError(f"{where}a 'label' event for object {id_text(object_id)!r} needs a class label")
        label = id_text(label)
        if classes is not None and label not in classes:
            raise LabelStoreError(
                f"{where}unknown class {label!r}{did_you_mean(label, classes)} (classes: {', '.join(classes)})"
            )
    elif not missing(label):
        raise LabelStoreError(f"{where}a {kind!r} event carries no class label, got {label!r}")
    else:
        label = None
    target = row.get("target_event_id")
    if kind in TARGETING_KINDS:
        target = name(target, f"target_event_id of a {kind!r} event", where)
    elif not missing(target):
        raise LabelStoreError(
            f"{where}target_event_id is only for {' and '.join(map(repr, TARGETING_KINDS))} events, "
            f"got kind {kind!r}"
        )
    else:
        target = None
    event_id = row.get("event_id")
    event_id = str(uuid.uuid4()) if missing(event_id) else name(event_id, "event_id", where)
    when = row.get("time")
    return LabelEvent(
        event_id=event_id,
        object_id=id_text(object_id),
        label=label,
        kind=kind,
        source=source,
        annotator=annotator,
        split=split,
        time=now if missing(when) else _unix_time(when, where),
        model_version=optional_int(get("model_version"), "model_version", where),
        confidence=_confidence(row.get("confidence"), where),
        target_event_id=target,
    )
