"""Leases: objects reserved for one annotator so two people are not served the same one.

A lease ends at its expiry time, when released, when its annotator records
an event about the object, or (for a store opened with ``process_leases``,
as a server does) when the process that took it is gone: the lease records
the owner's host, pid and process start time, and a lease whose owner no
longer runs on this host is free. A killed server therefore leaves nothing
blocking the others after its restart, without waiting for the expiry.

Leases from another host cannot be checked and end at their expiry.
"""
from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from ..errors import LabelStoreError
from .backend import Journal, Lease
from .events import name
from .events import object_ids as _ids

__all__ = ["LeaseMixin", "anonymous_annotator", "owner_alive", "this_process"]


def _stat(pid: int) -> list[str]:
    """Fields 3 onwards of /proc/PID/stat (empty where /proc does not tell)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return []
    # The command name (field 2) may hold spaces and parentheses.
    return stat.rpartition(")")[2].split()


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' where /proc does not tell)."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()


def this_process() -> tuple[str, int, str]:
    """(host, pid, start time) naming this process as a lease owner."""
    pid = os.getpid()
    return _host(), pid, _start_time(pid)


def owner_alive(host: str | None, pid: int | None, start: str | None) -> bool:
    """Whether the process that owns a lease may still run (True when this host cannot tell)."""
    if host is None or pid is None or host != _host():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    fields = _stat(int(pid))
    if fields and fields[0] in ("Z", "X"):
        return False  # killed, not yet reaped by its parent
    # A pid reused by a newer process is not the owner.
    return not start or not fields or len(fields) <= 19 or fields[19] == start


def anonymous_annotator() -> str:
    """The annotator name of a command run without one: unique per process and host.

    Two ``alabel query`` runs without ``--annotator`` must not lease each other
    the same objects, so they may not share one name.
    """
    host, pid, _ = this_process()
    return f"anonymous@{host}:{pid}"


def _dead_owners(journal: Journal) -> list[tuple[str, int, str]]:
    host = _host()
    return [(host, pid, start) for pid, start in journal.lease_owners(host)
            if not owner_alive(host, pid, start)]


class LeaseMixin:
    """The lease operations of :class:`~core.labels.store.LabelStore`.

    Uses the store's ``_db`` (a backend), ``clock`` and ``process_leases``.
    """

    def lease(self, object_ids: Iterable[Any] | Any, annotator: str, ttl_s: float = 120.0, *,
              keep: Callable[[list[str]], Iterable[str]] | None = None) -> list[str]:
        """Reserve objects for ``annotator`` so no one else is served them.

        Grants, atomically, every object not leased to someone else (a lease
        the annotator already holds is extended). Leases end after ``ttl_s``,
        on :meth:`release`, when the annotator records an event about the
        object, or with this process when the store has ``process_leases``.

        Parameters
        ----------
        keep
            Given the grantable ids (in the order given), returns those to hold;
            the rest are released in the same transaction. A query asks for a
            few more objects than it needs (another annotator may hold some)
            and keeps its quota: one write instead of a lease and a release.
            Called again if the write is retried, so it must be pure.

        Lease writes ask for no fsync (``durable=False``: SQLite commits them with
        ``synchronous=NORMAL``): a lease lost with the machine is harmless (leases
        expire, a dead server's leases are free).

        Returns
        -------
        list of str
            The granted (and kept) object ids, in the order given.
        """
        name(annotator, "annotator", "lease: ")
        if not (isinstance(ttl_s, (int, float)) and math.isfinite(ttl_s) and ttl_s > 0):
            raise LabelStoreError(f"lease: ttl_s must be a positive number of seconds, got {ttl_s!r}")
        ids = _ids(object_ids)
        if not ids:
            return []
        now = self.clock()
        host, pid, start = this_process() if self.process_leases else (None, None, None)

        def work(journal: Journal):
            journal.drop_leases(expired_at=now, owned=_dead_owners(journal))
            holders = {x.object_id: x.annotator for x in journal.leases(ids)}
            granted = [oid for oid in ids if holders.get(oid, annotator) == annotator]
            if keep is not None:
                # The surplus is simply not leased. An annotator's earlier lease on a surplus
                # object stays: a tab that asks for more while it has that object queued still
                # shows it, and dropping the lease let another annotator be served it too.
                kept = set(keep(list(granted)))
                granted = [oid for oid in granted if oid in kept]
            journal.put_leases([Lease(oid, annotator, now + ttl_s, host, pid, start) for oid in granted])
            return granted

        return self._db.write(work, durable=False)

    def release(self, object_ids: Iterable[Any] | Any, annotator: str) -> None:
        """End ``annotator``'s leases on ``object_ids`` (others' leases are untouched)."""
        name(annotator, "annotator", "release: ")
        ids = _ids(object_ids)
        if ids:
            self._db.write(lambda journal: journal.drop_leases(held=[(oid, annotator) for oid in ids]),
                           durable=False)

    def leased_by_others(self, annotator: str) -> set[str]:
        """Ids of objects currently leased to anyone but ``annotator`` (by a live owner)."""
        leases = self._db.read(lambda journal: journal.leases(valid_at=self.clock()))
        alive: dict[tuple, bool] = {}
        held = set()
        for x in leases:
            if x.annotator == annotator:
                continue
            owner = (x.owner_host, x.owner_pid, x.owner_start)
            if owner not in alive:
                alive[owner] = owner_alive(*owner)
            if alive[owner]:
                held.add(x.object_id)
        return held
