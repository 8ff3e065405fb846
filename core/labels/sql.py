"""The journal operations in plain SQL, shared by every SQL backend.

:class:`SqlJournal` implements :class:`~core.labels.backend.Journal` over a
DB-API connection with statements that SQLite and PostgreSQL both read; a
backend supplies the connection (inside its transaction) and its placeholder
style. Table definitions (DDL), locking and pragmas differ between databases
and live in each backend.

Tables: ``label_events`` (the append-only journal), ``label_leases`` and
``alabel_meta`` (key/value text), plus ``alabel_schema`` (applied versions).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .backend import Journal, Lease
from .events import LabelEvent, event_from_row

# SQLite's default limit on bound variables is 32766; stay far below it (and
# below PostgreSQL's 65535) when building IN (...) lists.
CHUNK = 500

COLUMNS = (
    "seq, event_id, object_id, label, kind, source, annotator, split, "
    "event_time, model_version, confidence, target_event_id"
)
# "e" is in force: no retract event targets it.
LIVE = ("NOT EXISTS (SELECT 1 FROM label_events r "
        "WHERE r.target_event_id = e.event_id AND r.kind = 'retract')")
RETRACTED = "CASE WHEN " + LIVE + " THEN 0 ELSE 1 END"

REVISION = "SELECT COALESCE(MAX(seq), 0) FROM label_events"
INSERT = (
    "INSERT INTO label_events (event_id, object_id, label, kind, source, annotator, "
    "split, event_time, model_version, confidence, target_event_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SEQS_AFTER = "SELECT event_id, seq FROM label_events WHERE seq > ?"
EVENTS_WHERE_IN = "SELECT " + COLUMNS + " FROM label_events WHERE {column} IN ({marks})"
JOURNAL = "SELECT " + COLUMNS + ", " + RETRACTED + " FROM label_events e {where} ORDER BY e.seq"
LIVE_EVENTS = "SELECT " + COLUMNS + " FROM label_events e WHERE {where} AND " + LIVE + " ORDER BY e.seq"
LIVE_IDS = "SELECT DISTINCT e.object_id FROM label_events e WHERE {where} AND " + LIVE
LAST_LIVE = ("SELECT " + COLUMNS + " FROM label_events e WHERE {where} AND " + LIVE
             + " ORDER BY e.seq DESC LIMIT 1")
RETRACTED_BY_OTHERS = (
    "SELECT DISTINCT r.object_id FROM label_events r "
    "WHERE r.kind = 'retract' AND r.source = ? AND r.annotator <> ?"
)

LEASE_COLUMNS = "object_id, annotator, expires, owner_host, owner_pid, owner_start"
LEASES = "SELECT " + LEASE_COLUMNS + " FROM label_leases"
UPSERT_LEASE = (
    "INSERT INTO label_leases (" + LEASE_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (object_id) DO UPDATE SET annotator = excluded.annotator, "
    "expires = excluded.expires, owner_host = excluded.owner_host, "
    "owner_pid = excluded.owner_pid, owner_start = excluded.owner_start"
)
DROP_EXPIRED = "DELETE FROM label_leases WHERE expires <= ?"
DROP_OWNED = "DELETE FROM label_leases WHERE owner_host = ? AND owner_pid = ? AND owner_start = ?"
DROP_HELD = "DELETE FROM label_leases WHERE object_id = ? AND annotator = ?"
LEASE_OWNERS = "SELECT DISTINCT owner_pid, owner_start FROM label_leases WHERE owner_host = ?"

METADATA = "SELECT key, value FROM alabel_meta"
UPSERT_METADATA = (
    "INSERT INTO alabel_meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

# Only these columns may be interpolated into EVENTS_WHERE_IN.
_LOOKUP_COLUMNS = ("event_id", "target_event_id")


def marks(n: int) -> str:
    return ", ".join("?" * n)


def chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SqlJournal(Journal):
    """The journal operations on one DB-API connection inside the backend's transaction.

    Parameters
    ----------
    conn
        A DB-API connection (``sqlite3``; ``psycopg`` for PostgreSQL).
    paramstyle
        ``"qmark"`` (``?``, sqlite3) or ``"format"`` (``%s``, psycopg).
    """

    def __init__(self, conn: Any, paramstyle: str = "qmark"):
        self.conn = conn
        self._format = paramstyle == "format"

    # -- statements ---------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        # Every statement here is written with "?" and holds no literal "?".
        return sql.replace("?", "%s") if self._format else sql

    def _all(self, sql: str, params: Sequence = ()) -> list[tuple]:
        cursor = self.conn.cursor()
        cursor.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in cursor.fetchall()]

    def _run(self, sql: str, params: Sequence = ()) -> None:
        self.conn.cursor().execute(self._sql(sql), tuple(params))

    def _many(self, sql: str, rows: Sequence[Sequence]) -> None:
        if rows:
            self.conn.cursor().executemany(self._sql(sql), [tuple(r) for r in rows])

    # -- the journal ----------------------------------------------------------------
    def revision(self) -> int:
        return int(self._all(REVISION)[0][0])

    def append(self, events: Sequence[LabelEvent]) -> dict[str, int]:
        # Writers are serialised by the backend, so the new rows are exactly those after ``base``.
        base = self.revision()
        self._many(INSERT, [event.row() for event in events])
        return {event_id: int(seq) for event_id, seq in self._all(SEQS_AFTER, (base,))}

    def events_where(self, column: str, values: Sequence[str]) -> list[LabelEvent]:
        if column not in _LOOKUP_COLUMNS:
            raise ValueError(f"events_where: cannot look events up by {column!r}")
        found = []
        for chunk in chunks(list(dict.fromkeys(values))):
            sql = EVENTS_WHERE_IN.format(column=column, marks=marks(len(chunk)))
            found.extend(event_from_row(row) for row in self._all(sql, chunk))
        return found

    def journal(self, object_id: str | None = None) -> list[tuple]:
        if object_id is None:
            return self._all(JOURNAL.format(where=""))
        return self._all(JOURNAL.format(where="WHERE e.object_id = ?"), (object_id,))

    @staticmethod
    def _filter(kinds: Sequence[str], sources: Sequence[str] | None = None,
                annotator: str | None = None) -> tuple[str, list]:
        clauses, params = [f"e.kind IN ({marks(len(kinds))})"], list(kinds)
        if sources is not None:
            clauses.append(f"e.source IN ({marks(len(sources))})")
            params += list(sources)
        if annotator is not None:
            clauses.append("e.annotator = ?")
            params.append(annotator)
        return " AND ".join(clauses), params

    def live(self, kinds: Sequence[str], sources: Sequence[str] | None = None) -> list[tuple]:
        where, params = self._filter(kinds, sources)
        return self._all(LIVE_EVENTS.format(where=where), params)

    def live_object_ids(self, kinds: Sequence[str], sources: Sequence[str] | None = None,
                        annotator: str | None = None) -> set[str]:
        where, params = self._filter(kinds, sources, annotator)
        return {row[0] for row in self._all(LIVE_IDS.format(where=where), params)}

    def last_live(self, annotator: str, kinds: Sequence[str]) -> LabelEvent | None:
        where, params = self._filter(kinds, annotator=annotator)
        rows = self._all(LAST_LIVE.format(where=where), params)
        return event_from_row(rows[0]) if rows else None

    def retracted_by_others(self, source: str, annotator: str) -> set[str]:
        return {row[0] for row in self._all(RETRACTED_BY_OTHERS, (source, annotator))}

    # -- leases ----------------------------------------------------------------------
    def leases(self, object_ids: Sequence[str] | None = None, *, valid_at: float | None = None) -> list[Lease]:
        valid = "" if valid_at is None else " AND expires > ?"
        after = () if valid_at is None else (valid_at,)
        if object_ids is None:
            rows = self._all(LEASES + " WHERE 1 = 1" + valid, after)
        else:
            rows = []
            for chunk in chunks(list(object_ids)):
                rows += self._all(LEASES + f" WHERE object_id IN ({marks(len(chunk))})" + valid,
                                  (*chunk, *after))
        return [Lease(*row) for row in rows]

    def put_leases(self, leases: Sequence[Lease]) -> None:
        self._many(UPSERT_LEASE, [(x.object_id, x.annotator, x.expires, x.owner_host, x.owner_pid,
                                   x.owner_start) for x in leases])

    def drop_leases(self, *, expired_at: float | None = None,
                    owned: Sequence[tuple[str, int, str]] = (),
                    held: Sequence[tuple[str, str]] = ()) -> None:
        if expired_at is not None:
            self._run(DROP_EXPIRED, (expired_at,))
        self._many(DROP_OWNED, owned)
        self._many(DROP_HELD, held)

    def lease_owners(self, host: str) -> list[tuple[int, str]]:
        return [(int(pid), start) for pid, start in self._all(LEASE_OWNERS, (host,))]

    # -- metadata ---------------------------------------------------------------------
    def metadata(self) -> dict[str, str]:
        return dict(self._all(METADATA))

    def set_metadata(self, items: Mapping[str, str]) -> None:
        self._many(UPSERT_METADATA, list(items.items()))
