"""The SQLite backend: one file, WAL, every label commit fsynced, the journal guarded by triggers.

* Durability: each connection runs with ``synchronous=FULL`` in WAL mode, so
  a write is on disk before the store's call returns and an acknowledged
  label survives a crash or a power loss. Lease writes (``durable=False``)
  run with ``synchronous=NORMAL``: no fsync of their own, a process crash
  still cannot lose them.
* Concurrency: several processes may open the same file. Each thread gets its
  own connection; writes run in ``BEGIN IMMEDIATE`` transactions with a busy
  timeout, retried while SQLite answers "locked"; reads see one snapshot.
* Append-only: triggers abort any UPDATE or DELETE of ``label_events``.
* Trust: a file that is not an alabel store is refused before anything is
  written to it; a store is checked with ``PRAGMA quick_check`` when it opens,
  so a damaged file is an error, never trained on.
* Schema: versioned in ``alabel_schema`` and ``PRAGMA user_version``; older
  versions are migrated in one transaction when opened.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import LabelStoreError
from .backend import Backend, Journal, T
from .sql import SqlJournal

#: Version of the on-disk schema (also written to ``PRAGMA user_version``).
SCHEMA_VERSION = 2
#: ``PRAGMA application_id`` of alabel stores ("alab"), so ``file`` tools can tell them apart.
APPLICATION_ID = 0x616C6162

_EVENTS_TABLE = """CREATE TABLE IF NOT EXISTS {name} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    object_id TEXT NOT NULL,
    label TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('label', 'skip', 'unsure', 'retract', 'confirm')),
    source TEXT NOT NULL CHECK (source IN ('human', 'catalogue', 'import', 'pseudo')),
    annotator TEXT NOT NULL,
    split TEXT NOT NULL CHECK (split IN ('train', 'test')),
    event_time REAL NOT NULL,
    model_version INTEGER,
    confidence REAL,
    target_event_id TEXT,
    CHECK ((kind = 'label') = (label IS NOT NULL)),
    CHECK ((kind IN ('retract', 'confirm')) = (target_event_id IS NOT NULL))
)"""
# Indexes and triggers of label_events (created again after a migration rebuilds the table).
_EVENTS_EXTRAS = (
    "CREATE INDEX IF NOT EXISTS label_events_by_object ON label_events (object_id)",
    "CREATE INDEX IF NOT EXISTS label_events_by_target ON label_events (target_event_id)",
    "CREATE INDEX IF NOT EXISTS label_events_by_annotator ON label_events (annotator, seq)",
    # The journal is append-only: corrections are new events, never edits.
    """CREATE TRIGGER IF NOT EXISTS label_events_no_update BEFORE UPDATE ON label_events
        BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS label_events_no_delete BEFORE DELETE ON label_events
        BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END""",
)
_CREATE = (
    "CREATE TABLE IF NOT EXISTS alabel_schema (version INTEGER PRIMARY KEY, applied REAL NOT NULL)",
    _EVENTS_TABLE.format(name="label_events"),
    *_EVENTS_EXTRAS,
    """CREATE TABLE IF NOT EXISTS label_leases (
        object_id TEXT PRIMARY KEY,
        annotator TEXT NOT NULL,
        expires REAL NOT NULL,
        owner_host TEXT,
        owner_pid INTEGER,
        owner_start TEXT
    )""",
    "CREATE TABLE IF NOT EXISTS alabel_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_EVENT_COLUMNS = ("seq, event_id, object_id, label, kind, source, annotator, split, event_time, "
                  "model_version, confidence, target_event_id")
# Schema 1 -> 2: 'confirm' events (the CHECKs change, so the journal table is
# rebuilt: SQLite cannot alter a CHECK), lease owners, the metadata table.
_MIGRATE_1_TO_2 = (
    _EVENTS_TABLE.format(name="label_events_v2"),
    f"INSERT INTO label_events_v2 ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} FROM label_events ORDER BY seq",
    "DROP TRIGGER label_events_no_update",
    "DROP TRIGGER label_events_no_delete",
    "DROP TABLE label_events",
    "ALTER TABLE label_events_v2 RENAME TO label_events",
    *_EVENTS_EXTRAS,
    "ALTER TABLE label_leases ADD COLUMN owner_host TEXT",
    "ALTER TABLE label_leases ADD COLUMN owner_pid INTEGER",
    "ALTER TABLE label_leases ADD COLUMN owner_start TEXT",
    "CREATE TABLE IF NOT EXISTS alabel_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
#: Statements that bring a store of version N to N + 1.
MIGRATIONS = {1: _MIGRATE_1_TO_2}


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class SQLiteBackend(Backend):
    """Connections to one SQLite file: one per thread, writes retried while locked.

    Parameters
    ----------
    path : Path
        The database file; its folder must exist.
    busy_timeout_s : float
        How long a write waits for another writer before giving up.
    create : bool
        Create the store when the file does not exist (False: that is an error).
    """

    type_name = "sqlite"
    schemes = ("sqlite",)

    def __init__(self, path: Path, busy_timeout_s: float = 30.0, *, create: bool = True):
        self.path = Path(path)
        if self.path.is_dir():
            raise LabelStoreError(f"{self.path}: is a folder, not a label store file")
        if not self.path.parent.is_dir():
            raise LabelStoreError(f"{self.path}: folder {self.path.parent} does not exist (create it first)")
        if not create and not self.path.exists():
            raise LabelStoreError(
                f"{self.path}: no label store here (alabel label, serve and simulate create one)"
            )
        self.busy_timeout_s = float(busy_timeout_s)
        # mode=rw: a store that must exist is never created by the connection either.
        self._uri = (f"file://{urllib.parse.quote(str(self.path.absolute()))}"
                     f"?mode={'rwc' if create else 'rw'}")
        self._guard = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, rest: str, **options: Any) -> SQLiteBackend:
        """The backend of ``sqlite:///path/to/labels.db`` (``rest`` is what follows ``://``)."""
        if not rest:
            raise LabelStoreError(f"{url}: sqlite URL names no file (use sqlite:///path/to/labels.db)")
        return cls(Path(rest).expanduser(), **options)

    @property
    def name(self) -> str:
        return str(self.path)

    # -- connections -------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """The calling thread's connection (opened on first use)."""
        if self._closed:
            raise LabelStoreError(f"{self.path}: the label store is closed")
        self._forget_parent_connections()  # a forked child never uses its parent's SQLite handles
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # check_same_thread=False only so that close() may close every
            # thread's connection; each connection is still used by one thread.
            conn = sqlite3.connect(self._uri, uri=True, timeout=self.busy_timeout_s,
                                   isolation_level=None, check_same_thread=False)
            # FULL: fsync the WAL at every commit, so an acknowledged label
            # survives power loss, not only a process crash.
            conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
            with self._guard:
                self._connections.append(conn)
        return conn

    def _retrying(self, attempt: Callable[[], Any]) -> Any:
        # sqlite's busy handler covers most waits; a few paths (WAL recovery,
        # journal-mode switches) still answer "locked" at once, so retry here
        # until the same deadline.
        deadline = time.monotonic() + self.busy_timeout_s
        delay = 0.002
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise LabelStoreError(f"{self.path}: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise LabelStoreError(
                        f"{self.path}: database stayed locked for {self.busy_timeout_s:g} s "
                        "(another process holds a long write)"
                    ) from exc
            except sqlite3.DatabaseError as exc:
                # Corrupt file, not a database, ...: always name the file.
                if "malformed" in str(exc):
                    raise LabelStoreError(
                        f"{self.path}: damaged label store ({exc}); restore it from a backup"
                    ) from exc
                raise LabelStoreError(f"{self.path}: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _transaction(self, begin: str, work: Callable[[Journal], T], *, durable: bool = True) -> T:
        def attempt():
            conn = self.connection()
            if not durable:
                # NORMAL in WAL mode: the commit is not fsynced (the WAL is, at the next
                # durable commit or checkpoint), so it survives a process crash, not a power loss.
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                conn.execute(begin)
                try:
                    result = work(SqlJournal(conn))
                    conn.execute("COMMIT")
                    return result
                finally:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous = FULL")

        return self._retrying(attempt)

    def read(self, work: Callable[[Journal], T]) -> T:
        # A deferred transaction: every statement of ``work`` reads one WAL snapshot.
        return self._transaction("BEGIN", work)

    def write(self, work: Callable[[Journal], T], *, durable: bool = True) -> T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction and commit (fsynced unless not ``durable``).

        ``work`` may run more than once (when the database was locked), so it
        must only touch the database through the journal it is given.
        """
        return self._transaction("BEGIN IMMEDIATE", work, durable=durable)

    def _query(self, sql: str) -> list[tuple]:
        return self._retrying(lambda: self.connection().execute(sql).fetchall())

    # -- schema ---------------------------------------------------------------------
    def prepare(self, created: float) -> None:
        """Check that the file is a sound alabel store of a version we read; create or migrate it.

        A foreign or damaged file is refused *before* anything is written to it.
        """
        tables = {row[0] for row in self._query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "alabel_schema" not in tables:
            raise LabelStoreError(
                f"{self.path}: not an alabel label store (it holds tables {', '.join(sorted(tables))})"
            )
        problems = [row[0] for row in self._query("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise LabelStoreError(
                f"{self.path}: damaged label store (integrity check: {problems[0]}"
                f"{f' and {len(problems) - 1} more problems' if len(problems) > 1 else ''}); "
                "restore it from a backup"
            )
        mode = self._query("PRAGMA journal_mode = WAL")[0][0]
        if str(mode).lower() != "wal":
            raise LabelStoreError(f"{self.path}: cannot use WAL journal mode (got {mode!r})")
        if "alabel_schema" not in tables:
            # Two processes may create the same new store at once: the DDL is
            # idempotent and runs under the write lock.
            self.write(lambda journal: self._create_schema(journal.conn, created))
        version = self._version()
        if version > SCHEMA_VERSION:
            raise LabelStoreError(
                f"{self.path}: written by a newer alabel (schema {version}; this one reads {SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            self.write(lambda journal: self._migrate(journal.conn, created))

    def _version(self) -> int:
        stamped = self._query("SELECT MAX(version) FROM alabel_schema")[0][0]
        user_version = self._query("PRAGMA user_version")[0][0]
        if stamped is None or stamped != user_version:
            raise LabelStoreError(
                f"{self.path}: damaged label store (schema table says {stamped}, "
                f"PRAGMA user_version says {user_version})"
            )
        return int(stamped)

    @staticmethod
    def _create_schema(conn: sqlite3.Connection, created: float) -> None:
        for statement in _CREATE:
            conn.execute(statement)
        conn.execute("INSERT INTO alabel_schema (version, applied) SELECT ?, ? "
                     "WHERE NOT EXISTS (SELECT 1 FROM alabel_schema)", (SCHEMA_VERSION, created))
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")

    @staticmethod
    def _migrate(conn: sqlite3.Connection, now: float) -> None:
        # Read again under the write lock: another process may have migrated meanwhile.
        version = conn.execute("SELECT MAX(version) FROM alabel_schema").fetchone()[0]
        while version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            version += 1
            conn.execute("INSERT INTO alabel_schema (version, applied) VALUES (?, ?)", (version, now))
            conn.execute(f"PRAGMA user_version = {version:d}")

    # -- copies and closing ----------------------------------------------------------------
    def backup(self, dest: Path) -> None:
        """Copy a consistent snapshot into ``dest`` with SQLite's online backup API."""

        def attempt():
            target = sqlite3.connect(str(dest), isolation_level=None)
            try:
                self.connection().backup(target)
                # A bundle should be one self-contained file, without -wal/-shm.
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()

        self._retrying(attempt)

    def close(self) -> None:
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections = []
            self._local = threading.local()
            self._closed = True
