"""The seam between the label store's rules and the database that keeps them.

:class:`LabelStore` (``store.py``) holds every rule (validation, idempotent
retries, precedence, leases); a :class:`Backend` holds only storage: an
append-only journal of events, a lease table and a few metadata entries, read
and written in transactions. SQLite (``sqlite.py``) is the first backend;
PostgreSQL is meant to be the second, so nothing here is SQLite's:

* **Transactions.** :meth:`Backend.write` runs a function in one serialised
  write transaction (SQLite ``BEGIN IMMEDIATE``; PostgreSQL would take a
  table lock or use ``SERIALIZABLE`` and retry serialisation failures) and may
  run it again when the database was busy, so the function must touch storage
  only through the :class:`Journal` it is given. :meth:`Backend.read` gives one
  consistent snapshot.
* **Append-only journal.** :meth:`Journal.append` is the only way events get
  in; nothing updates or deletes them (the SQLite backend enforces this with
  triggers, PostgreSQL would with rules or revoked privileges). ``seq`` is
  allocated by the database, increasing with commit order within a writer.
* **Precedence.** Backends answer "events in force" (not retracted) queries;
  the precedence between sources is applied by the store, in one place.
* **Leases and metadata** are small mutable tables beside the journal.
* **Dialects.** Backends built on SQL share the statements of ``sql.py`` and
  supply their placeholder style, DDL and locking.
"""
from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from .events import LabelEvent

T = TypeVar("T")


@dataclass(frozen=True)
class Lease:
    """One object reserved for one annotator.

    ``owner_host``/``owner_pid``/``owner_start`` name the process whose life
    bounds the lease (a server; ``owner_start`` is the process start time, so a
    reused pid is not taken for the owner, or ``""`` where unknown). All three
    are None for a lease that only ends at ``expires`` (``alabel query`` hands
    objects to a person who labels later).
    """

    object_id: str
    annotator: str
    expires: float
    owner_host: str | None = None
    owner_pid: int | None = None
    owner_start: str | None = None


class Journal(ABC):
    """The storage operations of one transaction (or one read snapshot).

    Rows of events are tuples in :data:`~core.labels.events.ROW_COLUMNS` order.
    """

    # -- the journal ----------------------------------------------------------
    @abstractmethod
    def revision(self) -> int:
        """Journal position of the latest event (0 when empty)."""

    @abstractmethod
    def append(self, events: Sequence[LabelEvent]) -> dict[str, int]:
        """Insert new events in order; return ``event_id -> seq``."""

    @abstractmethod
    def events_where(self, column: str, values: Sequence[str]) -> list[LabelEvent]:
        """Events whose ``column`` (``event_id`` or ``target_event_id``) is one of ``values``."""

    @abstractmethod
    def journal(self, object_id: str | None = None) -> list[tuple]:
        """Every event (or those about one object) in write order, each row ending with its
        ``retracted`` flag (:data:`~core.labels.events.EVENT_COLUMNS`)."""

    @abstractmethod
    def live(self, kinds: Sequence[str], sources: Sequence[str] | None = None) -> list[tuple]:
        """Rows of the events in force (not retracted) of these kinds (and sources), in write order."""

    @abstractmethod
    def live_object_ids(self, kinds: Sequence[str], sources: Sequence[str] | None = None,
                        annotator: str | None = None) -> set[str]:
        """Objects with an event in force of these kinds (and sources, and annotator)."""

    @abstractmethod
    def last_live(self, annotator: str, kinds: Sequence[str]) -> LabelEvent | None:
        """The annotator's latest event in force of these kinds."""

    @abstractmethod
    def retracted_by_others(self, source: str, annotator: str) -> set[str]:
        """Objects with an event of ``source`` retracted by someone other than ``annotator``."""

    # -- leases ------------------------------------------------------------------
    @abstractmethod
    def leases(self, object_ids: Sequence[str] | None = None, *, valid_at: float | None = None) -> list[Lease]:
        """Leases on ``object_ids`` (all when None), only those still valid at ``valid_at`` if given."""

    @abstractmethod
    def put_leases(self, leases: Sequence[Lease]) -> None:
        """Insert or replace the lease of each object."""

    @abstractmethod
    def drop_leases(self, *, expired_at: float | None = None,
                    owned: Sequence[tuple[str, int, str]] = (),
                    held: Sequence[tuple[str, str]] = ()) -> None:
        """Delete leases expired at ``expired_at``, those of ``owned`` (host, pid, start)
        processes, and the ``held`` (object id, annotator) ones."""

    @abstractmethod
    def lease_owners(self, host: str) -> list[tuple[int, str]]:
        """Distinct (pid, start) of the processes of ``host`` that own leases."""

    # -- metadata ------------------------------------------------------------------
    @abstractmethod
    def metadata(self) -> dict[str, str]:
        """Every metadata entry (the session identity lives here)."""

    @abstractmethod
    def set_metadata(self, items: Mapping[str, str]) -> None:
        """Insert or replace metadata entries."""


class Backend(ABC):
    """Where one label store lives: connections, transactions, schema, copies.

    Subclasses declare the URL ``schemes`` they open (``sqlite:///path``);
    :func:`backend_for` finds them, so adding a backend edits no if/elif chain.
    """

    #: Registry name of the backend.
    type_name: ClassVar[str] = ""
    #: URL schemes this backend opens.
    schemes: ClassVar[tuple[str, ...]] = ()
    #: The file of a file-based store, else None.
    path: Path | None = None

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, rest: str, **options) -> Backend:
        """The backend of a store URL (``rest`` is what follows ``scheme://``)."""

    @property
    @abstractmethod
    def name(self) -> str:
        """How messages name the store (a path, or a URL without credentials)."""

    @abstractmethod
    def prepare(self, created: float) -> None:
        """Check the store is a sound alabel store of a version this code reads; create or migrate it.

        A store that is not alabel's, is damaged or is newer is refused before
        anything is written to it. ``created`` stamps a new schema.
        """

    @abstractmethod
    def read(self, work: Callable[[Journal], T]) -> T:
        """Run ``work`` on one consistent snapshot."""

    @abstractmethod
    def write(self, work: Callable[[Journal], T], *, durable: bool = True) -> T:
        """Run ``work`` in one serialised write transaction and commit before returning.

        ``durable=False`` lets a backend commit without waiting for the disk
        (the write survives a process crash, not a power loss): for leases, which
        expire anyway and cost a label click an fsync each otherwise. Durable
        commits after it still order after it. A backend may ignore it.
        """

    @abstractmethod
    def backup(self, dest: Path) -> None:
        """Copy a consistent snapshot of the whole store into a new self-contained file."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection (in every thread)."""

    def _forget_parent_connections(self) -> None:
        """In a forked child, drop the parent's per-thread connections (never use them, never close them).

        Backends keep one connection per thread in ``_local`` (all of them in
        ``_connections``, for ``close``), guarded by ``_guard``, opened by
        process ``_pid``: a child must open its own, and closing the
        parent's would end them for the parent too.
        """
        if os.getpid() != self._pid:
            with self._guard:
                self._local = threading.local()
                self._connections = []
                self._pid = os.getpid()


def backend_for(scheme: str) -> type[Backend] | None:
    """The backend class that opens URLs of ``scheme`` (None when none does)."""
    from ..registry import concrete_descendants

    for cls in concrete_descendants(Backend).values():
        if scheme in cls.schemes:
            return cls
    return None
