"""The label store API: record, retract, confirm, and read the labels in force.

Every click in the dashboard, every imported catalogue row and every
pseudo-label becomes one *event* in a journal that is never edited: a wrong
label is corrected by a new label, undone by a ``retract`` event. The labels
the engine trains on (:meth:`LabelStore.current`) are derived from the journal
by fixed precedence rules, so the full history of who said what
stays available for audits, conflict review and reproducible exports.

The writing rules live here; storage lives behind a
:class:`~core.labels.backend.Backend` (SQLite or PostgreSQL). The read API and the
precedence rules (``views.py``), leases (``leases.py``), files (``files.py``)
and the session identity (``identity.py``) are mixed into :class:`LabelStore`,
one job per module.

Retries: callers make event ids. Recording an event id again returns the
stored event and writes nothing, provided the retry repeats the event's
identity (object, label, kind, source, annotator, split, target); the time,
model version and confidence of a retry may differ (a process re-sending an
event after a crash cannot know them), and the first write wins.
"""
from __future__ import annotations

import os
import threading
import time as _time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import LabelStoreError
from .backend import Backend, Journal, T, backend_for
from .events import (
    ROW_COLUMNS,
    TARGETING_KINDS,
    LabelEvent,
    PseudoUpdate,
    class_names,
    event_from_row,
    make_event,
    name,
    optional_int,
    retract_event,
)
from .files import FilesMixin
from .identity import IdentityMixin
from .leases import LeaseMixin
from .postgres import shown_url  # the import also registers the PostgreSQL backend
from .sqlite import SQLiteBackend
from .views import ViewsMixin

#: Kinds an annotator's undo walks back through (not retracts, not review confirmations).
_UNDOABLE = ("label", "skip", "unsure")


class LabelStore(ViewsMixin, LeaseMixin, FilesMixin, IdentityMixin):
    """Append-only journal of label events (SQLite file in WAL mode by default, or PostgreSQL).

    Parameters
    ----------
    path : str, Path or Backend
        The store file (created with its schema when it does not exist and
        ``create``; its folder must exist), or an opened backend.
    classes : sequence of str, optional
        Valid class labels; recording any other label is refused. ``None``
        accepts any label.
    clock : callable, optional
        Returns the current unix time; event times and lease expiry use it
        (tests inject a fake clock instead of sleeping).
    busy_timeout_s : float
        How long a write waits for other writers before failing.
    create : bool
        Create a missing store (False: a missing file is an error).
    process_leases : bool
        Leases taken through this store end with this process (a server), see
        :mod:`core.labels.leases`.

    Notes
    -----
    Several processes may open the same file. Every write is one transaction,
    committed durably before the method returns. Use :meth:`open` to open a
    store from a config value (path or URL).
    """

    def __init__(
        self,
        path: str | os.PathLike | Backend,
        *,
        classes: Iterable[Any] | None = None,
        clock: Callable[[], float] = _time.time,
        busy_timeout_s: float = 30.0,
        create: bool = True,
        process_leases: bool = False,
    ):
        self.clock = clock
        self.process_leases = bool(process_leases)
        self._classes = class_names(classes)
        self._db = path if isinstance(path, Backend) else _sqlite(path, busy_timeout_s, create)
        self.path = self._db.path
        self._cache_lock = threading.Lock()
        self._cache: tuple[int, pd.DataFrame, pd.DataFrame] | None = None
        try:
            self._db.prepare(created=self.clock())
        except BaseException:
            self._db.close()
            raise
        # This object's own writes, told apart from other processes' (revision_written_elsewhere).
        self._own = threading.Lock()
        self._own_in_flight = 0
        self._own_revision = self.revision

    # ------------------------------------------------------------ own writes and others'

    def _write(self, work: Callable[[Journal], T]) -> T:
        """Every write of this store object: ``work`` in one transaction, noted as our own."""
        def noted(journal: Journal) -> T:
            result = work(journal)
            revision = journal.revision()
            with self._own:
                self._own_revision = max(self._own_revision, revision)
            return result

        with self._own:
            self._own_in_flight += 1
        try:
            return self._db.write(noted)
        finally:
            with self._own:
                self._own_in_flight -= 1

    def revision_written_elsewhere(self) -> int | None:
        """The store's revision if events arrived that this object did not write, else None.

        For a server that must show labels another process wrote (a second server
        on one PostgreSQL store, ``alabel label``). Asked while one of our own writes
        is in flight, the answer is None: its commit would look foreign until noted.
        An own write after a foreign one hides it, which is harmless: whoever wrote
        it reacts to every label, the foreign ones included.
        """
        with self._own:
            if self._own_in_flight:
                return None
            revision = self.revision
            if revision <= self._own_revision:
                return None
            self._own_revision = revision
            return revision

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, url_or_path: str | os.PathLike, **kwargs: Any) -> LabelStore:
        """Open the store named by a config value.

        Parameters
        ----------
        url_or_path : str or Path
            A file path, ``sqlite:///path``, or a PostgreSQL URL
            (``postgresql://user@host:5432/dbname``, see :mod:`core.labels.postgres`).
        **kwargs
            Passed to :class:`LabelStore` (``classes``, ``clock``, ``create``, ...).
        """
        text = os.fspath(url_or_path)
        if "://" not in text:
            return cls(text, **kwargs)
        scheme, _, rest = text.partition("://")
        shown = shown_url(text)  # never echo credentials into logs
        backend = backend_for(scheme)
        if backend is None:
            raise LabelStoreError(
                f"{shown}: unknown label store URL scheme {scheme!r} "
                "(use a file path, sqlite:///path or postgresql://user@host/dbname)"
            )
        options = {key: kwargs.pop(key) for key in ("busy_timeout_s", "create") if key in kwargs}
        return cls(backend.from_url(text, rest, **options), **kwargs)

    def close(self) -> None:
        """Close every connection this store opened (in all threads)."""
        self._db.close()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LabelStore({self._db.name!r})"

    # ------------------------------------------------------------ classes

    @property
    def classes(self) -> tuple[str, ...] | None:
        """Valid class labels, or ``None`` when any label is accepted."""
        return self._classes

    def set_classes(self, classes: Iterable[Any] | None) -> None:
        """Restrict recorded labels to ``classes`` (``None`` lifts the restriction)."""
        self._classes = class_names(classes)

    # ------------------------------------------------------------ writing

    def record(
        self,
        object_id: Any,
        label: Any,
        *,
        annotator: str = "anonymous",
        source: str = "human",
        split: str = "train",
        kind: str = "label",
        model_version: int | None = None,
        confidence: float | None = None,
        event_id: str | None = None,
        time: float | str | datetime | None = None,
        target_event_id: str | None = None,
    ) -> LabelEvent:
        """Append one event and return it once it is durably committed.

        Parameters
        ----------
        object_id : str or int
            The object (stored as text, see :mod:`core.ids`).
        label : str or None
            The class; ``None`` for every kind but ``label``.
        annotator, source, split, kind
            See :data:`SOURCES`, :data:`SPLITS`, :data:`KINDS`.
        model_version : int, optional
        confidence : float in [0, 1], optional
        event_id : str, optional
            Caller-made id (default: a new UUID). Recording the same id again
            returns the stored event and writes nothing (see the module's
            note on retries); the same id for another object, label, kind,
            source, annotator, split or target raises :class:`LabelStoreError`.
        time : float, ISO string or datetime, optional
            Event time (default: the store's clock).
        target_event_id : str, optional
            For ``kind='retract'`` or ``'confirm'``: the event it is about.

        Returns
        -------
        LabelEvent
            The stored event (with its journal position ``seq``).
        """
        row = {
            "object_id": object_id, "label": label, "annotator": annotator, "source": source,
            "split": split, "kind": kind, "model_version": model_version,
            "confidence": confidence, "event_id": event_id, "time": time,
            "target_event_id": target_event_id,
        }
        event = make_event(row, defaults={}, now=self.clock(), where="", classes=self._classes)
        return self._write(lambda journal: self._store_events(journal, [event]))[0]

    def record_many(
        self,
        rows: Iterable[Mapping[str, Any] | tuple] | pd.DataFrame,
        *,
        annotator: str = "anonymous",
        source: str = "human",
        split: str = "train",
        kind: str = "label",
        model_version: int | None = None,
    ) -> list[LabelEvent]:
        """Append many events in ONE transaction (all or nothing).

        Parameters
        ----------
        rows : iterable of mappings or ``(object_id, label)`` pairs, or DataFrame
            Each row holds ``object_id`` and ``label`` and optionally any field
            of :func:`record`; missing fields take the keyword defaults.
            Every row is validated before anything is written.

        Returns
        -------
        list of LabelEvent
            One per row, in order (a repeated event id returns the stored event).
        """
        return self._record_rows(
            rows,
            defaults={"annotator": annotator, "source": source, "split": split,
                      "kind": kind, "model_version": model_version},
            where="",
        )

    def _record_rows(self, rows, *, defaults: dict, where: str) -> list[LabelEvent]:
        if isinstance(rows, pd.DataFrame):
            rows = rows.to_dict("records")
        now = self.clock()
        events = []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, Mapping):
                if not isinstance(row, (tuple, list)) or len(row) != 2:
                    raise LabelStoreError(
                        f"{where}row {number}: expected a mapping or an (object_id, label) pair, got {row!r}"
                    )
                row = {"object_id": row[0], "label": row[1]}
            events.append(make_event(row, defaults=defaults, now=now, where=f"{where}row {number}: ",
                                     classes=self._classes))
        if not events:
            return []
        return self._write(lambda journal: self._store_events(journal, events))

    def _store_events(self, journal: Journal, events: list[LabelEvent]) -> list[LabelEvent]:
        """Insert ``events`` inside the caller's transaction; return them as stored."""
        stored = {ev.event_id: ev for ev in journal.events_where("event_id", [e.event_id for e in events])}
        fresh: dict[str, LabelEvent] = {}
        for event in events:
            prior = stored.get(event.event_id) or fresh.get(event.event_id)
            if prior is None:
                fresh[event.event_id] = event
                continue
            old, new = prior.identity(), event.identity()
            if old != new:
                diff = "; ".join(f"{k} {old[k]!r} vs {new[k]!r}" for k in old if old[k] != new[k])
                raise LabelStoreError(
                    f"event {event.event_id!r} is already recorded with different content ({diff})"
                )
        self._check_targets(journal, fresh)
        if fresh:
            seqs = journal.append(list(fresh.values()))
            for event_id, event in fresh.items():
                stored[event_id] = replace(event, seq=seqs[event_id])
            # Answering a query ends the annotator's own lease on that object.
            done = {(ev.object_id, ev.annotator) for ev in fresh.values() if ev.kind != "retract"}
            journal.drop_leases(held=sorted(done))
        return [stored[ev.event_id] for ev in events]

    def _check_targets(self, journal: Journal, fresh: Mapping[str, LabelEvent]) -> None:
        """Retracts and confirms must point at an event in force about the same object."""
        pointing = [ev for ev in fresh.values() if ev.kind in TARGETING_KINDS]
        if not pointing:
            return
        wanted = [ev.target_event_id for ev in pointing]
        targets = {ev.event_id: ev for ev in journal.events_where("event_id", wanted)}
        targets.update(fresh)
        retracted = {ev.target_event_id for ev in journal.events_where("target_event_id", wanted)
                     if ev.kind == "retract"}
        for ev in pointing:
            target = targets.get(ev.target_event_id)
            what = f"{ev.kind} {ev.event_id!r}"
            if target is None:
                raise LabelStoreError(f"{what}: no event {ev.target_event_id!r} in {self._db.name}")
            if target.kind == "retract":
                raise LabelStoreError(f"{what}: event {target.event_id!r} is itself a retract")
            if ev.kind == "confirm" and target.kind != "label":
                raise LabelStoreError(f"{what}: event {target.event_id!r} is a {target.kind!r}, not a label")
            if target.object_id != ev.object_id:
                raise LabelStoreError(
                    f"{what}: event {target.event_id!r} is about object "
                    f"{target.object_id!r}, not {ev.object_id!r}"
                )
            if ev.target_event_id in retracted:
                raise LabelStoreError(f"{what}: event {ev.target_event_id!r} is already retracted")
            if ev.kind == "retract":
                retracted.add(ev.target_event_id)

    def retract(self, target_event_id: str, *, annotator: str, event_id: str | None = None) -> LabelEvent:
        """Cancel one event by appending a ``retract`` event (nothing is deleted).

        Parameters
        ----------
        target_event_id : str
            The event to cancel (not itself a retract, not already retracted).
        annotator : str
            Who retracts it (recorded on the retract event).
        event_id : str, optional
            Id of the retract event, for idempotent retries.

        Returns
        -------
        LabelEvent
            The event that was retracted.
        """
        name(annotator, "annotator", "")
        now = self.clock()

        def work(journal: Journal) -> LabelEvent:
            found = journal.events_where("event_id", [target_event_id])
            if not found:
                raise LabelStoreError(f"retract: no event {target_event_id!r} in {self._db.name}")
            self._store_events(journal, [retract_event(found[0], annotator, now, event_id)])
            return found[0]

        return self._write(work)

    def undo(self, annotator: str) -> LabelEvent | None:
        """Retract ``annotator``'s own latest label, skip or unsure that is still in force.

        Repeated calls walk further back; other annotators' events are never
        touched. Returns the retracted event, or ``None`` when nothing is left.
        """
        name(annotator, "annotator", "")
        now = self.clock()

        def work(journal: Journal) -> LabelEvent | None:
            target = journal.last_live(annotator, _UNDOABLE)
            if target is not None:
                self._store_events(journal, [retract_event(target, annotator, now)])
            return target

        return self._write(work)

    def confirm(self, target_event_id: str, *, annotator: str, event_id: str | None = None) -> LabelEvent:
        """Record that ``annotator`` re-checked a label and keeps it (a ``confirm`` event).

        The label-noise review uses it: a confirmed label is not flagged as
        suspicious again, across restarts and processes. Retracting the
        confirm event withdraws the confirmation.

        Returns
        -------
        LabelEvent
            The stored ``confirm`` event.
        """
        name(annotator, "annotator", "confirm: ")
        now = self.clock()

        def work(journal: Journal) -> LabelEvent:
            found = journal.events_where("event_id", [target_event_id])
            if not found:
                raise LabelStoreError(f"confirm: no event {target_event_id!r} in {self._db.name}")
            target = found[0]
            event = LabelEvent(
                event_id=event_id or str(uuid.uuid4()), object_id=target.object_id, label=None,
                kind="confirm", source="human", annotator=annotator, split=target.split, time=now,
                target_event_id=target.event_id,
            )
            return self._store_events(journal, [event])[0]

        return self._write(work)

    def confirmed(self) -> dict[str, str]:
        """Confirmations in force: object id -> event id of the label a person kept (latest wins)."""
        rows = self._db.read(lambda journal: journal.live(("confirm",)))
        position = ROW_COLUMNS.index
        return {row[position("object_id")]: row[position("target_event_id")] for row in rows}

    def replace_pseudo(
        self,
        labels: Mapping[Any, tuple[Any, float | None] | Any],
        model_version: int,
        *,
        annotator: str = "model",
    ) -> PseudoUpdate:
        """Replace the set of pseudo-labels in force, in one transaction.

        Pseudo-labels in force that ``labels`` re-confirms (same object, same
        label) are kept as they are; all others are retracted; new or changed
        ones are recorded with ``source='pseudo'``, ``split='train'``. Objects
        whose pseudo-label a person (an annotator other than ``annotator``)
        has rejected are never pseudo-labelled again, whatever ``labels`` says.

        Parameters
        ----------
        labels : mapping
            ``object_id -> (label, confidence)`` (or ``object_id -> label``).
        model_version : int
            Version of the model that made them.
        annotator : str
            Recorded on the new and retract events.
        """
        version = optional_int(model_version, "model_version", "replace_pseudo: ")
        if version is None:
            raise LabelStoreError("replace_pseudo: model_version is required")
        now = self.clock()
        wanted: dict[str, LabelEvent] = {}
        for number, (oid, value) in enumerate(labels.items(), start=1):
            label, confidence = value if isinstance(value, tuple) else (value, None)
            event = make_event(
                {"object_id": oid, "label": label, "confidence": confidence},
                defaults={"annotator": annotator, "source": "pseudo", "model_version": version},
                now=now, where=f"replace_pseudo: row {number}: ", classes=self._classes,
            )
            wanted[event.object_id] = event

        def work(journal: Journal) -> PseudoUpdate:
            # Checked inside the transaction: a rejection written while the loop was
            # computing this round must win over the round's (older) opinion.
            proposed = dict(wanted)
            for oid in journal.retracted_by_others("pseudo", annotator):
                proposed.pop(oid, None)
            live = [event_from_row(row) for row in journal.live(("label",), ("pseudo",))]
            latest = {ev.object_id: ev for ev in live}  # ordered by seq: the last one wins
            kept: set[str] = set()
            retracts = []
            for ev in live:
                new = proposed.get(ev.object_id)
                if new is not None and latest[ev.object_id] is ev and new.label == ev.label:
                    kept.add(ev.object_id)
                else:
                    retracts.append(retract_event(ev, annotator, now, model_version=version))
            added = [ev for oid, ev in proposed.items() if oid not in kept]
            self._store_events(journal, retracts + added)
            return PseudoUpdate(added=len(added), retracted=len(retracts), kept=len(kept),
                                revision=journal.revision())

        return self._write(work)


def _sqlite(path: str | os.PathLike, busy_timeout_s: float, create: bool) -> SQLiteBackend:
    return SQLiteBackend(Path(path).expanduser(), busy_timeout_s, create=create)
