"""The PostgreSQL backend: a label store a team shares from several servers.

``labels.store: postgresql://user@host:5432/dbname`` (any libpq URI: a socket
folder is ``postgresql:///dbname?host=/run/postgresql``; the password may come
from ``~/.pgpass`` or ``PGPASSWORD`` instead of the URL). The database must
exist; alabel creates its tables in the connection's current schema.

* Durability: every write is one transaction committed with PostgreSQL's
  default ``synchronous_commit = on`` (the WAL is flushed before the call
  returns), so an acknowledged label survives a server crash; so does a
  lease (``durable=False`` changes nothing here).
* Concurrency: each thread has its own connection. Writes are serialised by
  one transaction-level advisory lock per store (the analogue of SQLite's
  ``BEGIN IMMEDIATE``), so ``seq`` grows in commit order and the store's
  rules see every earlier write; waits end after ``busy_timeout_s``
  (``lock_timeout``). Reads run in ``REPEATABLE READ READ ONLY``: one
  snapshot, never blocked by writers.
* Append-only: triggers abort any UPDATE, DELETE or TRUNCATE of
  ``label_events``, whoever connects.
* Lost connections: a connection that broke is replaced and the work run
  again, unless it broke while committing (then whether the write landed is
  unknown: a one-line error says so, and the caller's retry with the same
  event id is applied once). A server that cannot be reached is a one-line
  error naming the store, never its password.
* Schema: versioned in ``alabel_schema`` like the SQLite store (same
  version numbers); a newer version is refused.

``psycopg`` (3) is an optional dependency: ``pip install 'alabel[postgres]'``.
"""
from __future__ import annotations

import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import LabelStoreError
from .backend import Backend, Journal, T
from .sql import COLUMNS, INSERT, SqlJournal
from .sqlite import APPLICATION_ID, SCHEMA_VERSION, SQLiteBackend

_CREATE = (
    "CREATE TABLE IF NOT EXISTS alabel_schema (version INTEGER PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)",
    """CREATE TABLE IF NOT EXISTS label_events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        object_id TEXT NOT NULL,
        label TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('label', 'skip', 'unsure', 'retract', 'confirm')),
        source TEXT NOT NULL CHECK (source IN ('human', 'catalogue', 'import', 'pseudo')),
        annotator TEXT NOT NULL,
        split TEXT NOT NULL CHECK (split IN ('train', 'test')),
        event_time DOUBLE PRECISION NOT NULL,
        model_version BIGINT,
        confidence DOUBLE PRECISION,
        target_event_id TEXT,
        CHECK ((kind = 'label') = (label IS NOT NULL)),
        CHECK ((kind IN ('retract', 'confirm')) = (target_event_id IS NOT NULL))
    )""",
    "CREATE INDEX IF NOT EXISTS label_events_by_object ON label_events (object_id)",
    "CREATE INDEX IF NOT EXISTS label_events_by_target ON label_events (target_event_id)",
    "CREATE INDEX IF NOT EXISTS label_events_by_annotator ON label_events (annotator, seq)",
    # "Is this event retracted?" is asked of every event a view reads: a small index of
    # the retracts alone keeps that an index probe even before the planner has statistics.
    "CREATE INDEX IF NOT EXISTS label_events_retracts ON label_events (target_event_id) WHERE kind = 'retract'",
    # The journal is append-only: corrections are new events, never edits.
    """CREATE OR REPLACE FUNCTION alabel_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'label_events is append-only'; END $$""",
    """CREATE OR REPLACE TRIGGER label_events_no_edit BEFORE UPDATE OR DELETE ON label_events
        FOR EACH ROW EXECUTE FUNCTION alabel_append_only()""",
    """CREATE OR REPLACE TRIGGER label_events_no_truncate BEFORE TRUNCATE ON label_events
        FOR EACH STATEMENT EXECUTE FUNCTION alabel_append_only()""",
    """CREATE TABLE IF NOT EXISTS label_leases (
        object_id TEXT PRIMARY KEY,
        annotator TEXT NOT NULL,
        expires DOUBLE PRECISION NOT NULL,
        owner_host TEXT,
        owner_pid BIGINT,
        owner_start TEXT
    )""",
    "CREATE TABLE IF NOT EXISTS alabel_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "COMMENT ON TABLE alabel_schema IS 'alabel label store'",
)
#: Statements that bring a store of version N to N + 1 (PostgreSQL stores start at 2).
MIGRATIONS: dict[int, tuple[str, ...]] = {}
# Every writer of one store takes this lock (keyed on the schema, so stores in
# other schemas of the same database do not wait for each other).
_WRITE_LOCK = f"SELECT pg_advisory_xact_lock({APPLICATION_ID:d}, hashtext(current_schema()))"
# A write that appends this many events changes the journal's shape enough that the
# planner's statistics are refreshed at once (ANALYZE), not at autovacuum's next round:
# a view planned for an empty table would compare every event with every other.
ANALYZE_AFTER = 200
# How long a store tries to reach a server that went away before giving up
# (a restart takes a second or two; a person waiting for a click should not).
RECONNECT_S = 3.0


def shown_url(url: str) -> str:
    """``url`` as messages may show it: without its password (in the user part or the query)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}"
    query = "&".join(item for item in parts.query.split("&")
                     if item and item.partition("=")[0].lower() != "password")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _one_line(exc: BaseException, secret: str | None = None) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.replace(secret, "***") if secret else text


def _url_secrets(url: str) -> list[str]:
    """Passwords written in ``url`` (as far as it can be read), to blank out of messages."""
    secrets = []
    try:
        parts = urllib.parse.urlsplit(url)
        secrets.append(parts.password or "")
        secrets += urllib.parse.parse_qs(parts.query).get("password", [])
    except ValueError:
        netloc = url.partition("://")[2].partition("/")[0]
        if "@" in netloc:
            secrets.append(netloc.rpartition("@")[0].partition(":")[2])
    return sorted({s for s in secrets if s}, key=len, reverse=True)


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise LabelStoreError(
            "PostgreSQL label stores need the psycopg driver: pip install 'alabel[postgres]'"
        ) from None
    return psycopg


class _PgJournal(SqlJournal):
    """The SQL journal on PostgreSQL: appends read their ``seq`` back with RETURNING, and are counted."""

    appended = 0

    def append(self, events):
        if not events:
            return {}
        self.appended += len(events)
        cursor = self.conn.cursor()
        # One round trip instead of "what is the revision" + insert + "what came after it".
        cursor.executemany(self._sql(INSERT) + " RETURNING event_id, seq", [e.row() for e in events],
                           returning=True)
        seqs = {}
        while True:
            for event_id, seq in cursor.fetchall():
                seqs[event_id] = int(seq)
            if not cursor.nextset():
                return seqs


class _LostConnection(Exception):
    """The connection broke; ``committing`` says whether a COMMIT was in flight."""

    def __init__(self, cause: BaseException, committing: bool):
        super().__init__(str(cause))
        self.cause = cause
        self.committing = committing


class PostgresBackend(Backend):
    """Connections to one PostgreSQL database: one per thread, writes serialised by an advisory lock.

    Parameters
    ----------
    url : str
        A libpq URI (``postgresql://user:password@host:port/dbname?...``).
    busy_timeout_s : float
        How long a write waits for another writer before giving up.
    create : bool
        Create the store's tables when the database has none (False: that is an error).
    """

    type_name = "postgresql"
    schemes = ("postgresql", "postgres")
    path = None

    def __init__(self, url: str, busy_timeout_s: float = 30.0, *, create: bool = True):
        self.psycopg = _psycopg()
        self.url = url
        self._shown = shown_url(url)
        try:
            params = self.psycopg.conninfo.conninfo_to_dict(url)
        except self.psycopg.Error as exc:
            # libpq quotes the URI it could not read: show it without its password.
            why = _one_line(exc).replace(url, self._shown)
            for secret in _url_secrets(url):
                why = why.replace(secret, "***")
            raise LabelStoreError(f"{self._shown}: not a valid PostgreSQL URL ({why})") from None
        self._password = params.get("password") or None
        bad_ports = [p for p in str(params.get("port") or "").split(",") if p and not p.isdigit()]
        if bad_ports:
            raise LabelStoreError(f"{self._shown}: not a valid PostgreSQL URL (port {bad_ports[0]!r} is not a number)")
        if not params.get("dbname"):
            raise LabelStoreError(
                f"{self._shown}: the URL names no database (postgresql://user@host:5432/dbname)"
            )
        self.busy_timeout_s = float(busy_timeout_s)
        self.create = create
        self._guard = threading.Lock()
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, Any]] = []  # (owner thread, connection)
        self._pid = os.getpid()
        self._closed = False
        # Only a server that answered once is waited for when it goes away (a restart);
        # a server that never answered is a wrong URL, said at once.
        self._reached = False

    @classmethod
    def from_url(cls, url: str, rest: str, **options: Any) -> PostgresBackend:
        """The backend of ``postgresql://...`` (``postgres://`` is the same)."""
        if url.startswith("postgres://"):
            url = "postgresql://" + rest
        return cls(url, **options)

    @property
    def name(self) -> str:
        return self._shown

    def _error(self, what: str, exc: BaseException) -> LabelStoreError:
        return LabelStoreError(f"{self._shown}: {what}{_one_line(exc, self._password)}")

    # -- connections -------------------------------------------------------------------
    def connection(self):
        """The calling thread's connection (opened on first use, again after it broke)."""
        if self._closed:
            raise LabelStoreError(f"{self._shown}: the label store is closed")
        self._forget_parent_connections()  # a forked child never talks on its parent's sockets
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        conn = self._connect()
        self._local.conn = conn
        with self._guard:
            # Each connection is a server process: close those of threads that have ended
            # (a server's short-lived threads would otherwise use up max_connections).
            for thread, old in [entry for entry in self._connections if not entry[0].is_alive()]:
                old.close()
            self._connections = [entry for entry in self._connections if entry[0].is_alive()]
            self._connections.append((threading.current_thread(), conn))
        return conn

    def _connect(self):
        psycopg = self.psycopg
        deadline = time.monotonic() + (RECONNECT_S if self._reached else 0.0)
        while True:
            try:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(2, int(RECONNECT_S)),
                                       application_name="alabel")
                break
            except psycopg.OperationalError as exc:
                if time.monotonic() >= deadline or not _unreachable(exc):
                    raise self._error("cannot connect to the PostgreSQL server: ", exc) from None
                time.sleep(0.2)
            except psycopg.Error as exc:
                raise self._error("cannot connect to the PostgreSQL server: ", exc) from None
        self._reached = True
        # lock_timeout bounds the wait for the write lock like SQLite's busy timeout.
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(self.busy_timeout_s * 1000)}ms",))
        return conn

    def _retrying(self, attempt: Callable[[Any], T]) -> T:
        """Run ``attempt(conn)``; on a broken connection, once more on a new one.

        A write whose COMMIT was in flight is not run again: it may have landed.
        """
        psycopg = self.psycopg
        delay = 0.005
        deadline = time.monotonic() + self.busy_timeout_s
        reconnected = False
        while True:
            try:
                return attempt(self.connection())
            except _LostConnection as lost:
                if lost.committing:
                    raise self._error(
                        "the connection to the server broke while committing, so the last write may or "
                        "may not be recorded (repeat it: a repeated event id is applied once): ", lost.cause
                    ) from None
                if reconnected:
                    raise self._error("lost the connection to the PostgreSQL server: ", lost.cause) from None
                reconnected = True
            except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected) as exc:
                if time.monotonic() >= deadline:
                    raise self._error("", exc) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
            except psycopg.errors.LockNotAvailable:
                raise LabelStoreError(
                    f"{self._shown}: store stayed locked for {self.busy_timeout_s:g} s "
                    "(another process holds a long write)"
                ) from None
            except psycopg.Error as exc:
                raise self._error("", exc) from None

    def _transaction(self, begin: str, lock: bool, work: Callable[[Journal], T]) -> T:
        psycopg = self.psycopg

        def attempt(conn) -> T:
            committing = False
            try:
                # Pipeline mode: statements whose answer nobody reads yet (BEGIN, the lock,
                # inserts) travel with the next one that is read, so a write costs
                # four round trips to the server instead of eight.
                with conn.pipeline() as pipeline:
                    conn.execute(begin)
                    if lock:
                        conn.execute(_WRITE_LOCK)
                    journal = _PgJournal(conn, paramstyle="format")
                    result = work(journal)
                    # Every statement of ``work`` answered before COMMIT is sent: a connection
                    # lost until here is a failed attempt (run again), not an unknown outcome.
                    pipeline.sync()
                    committing = True
                    conn.execute("COMMIT")
                if journal.appended >= ANALYZE_AFTER:
                    self._analyze(conn)
                return result
            except BaseException as exc:
                if not isinstance(exc, psycopg.Error) or not (conn.broken or conn.closed):
                    self._rollback(conn)
                if not isinstance(exc, psycopg.Error):
                    raise
                if conn.broken or conn.closed:
                    raise _LostConnection(exc, committing) from exc
                raise

        return self._retrying(attempt)

    def _analyze(self, conn) -> None:
        """Refresh the planner's statistics of the journal (an optimisation: failures are ignored)."""
        try:
            conn.execute("ANALYZE label_events")
        except self.psycopg.Error:
            pass

    def _rollback(self, conn) -> None:
        """End a transaction that failed (a no-op when it is already over)."""
        psycopg = self.psycopg
        try:
            if not conn.broken and not conn.closed \
                    and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            conn.close()  # a connection in an unknown state is not reused

    def read(self, work: Callable[[Journal], T]) -> T:
        return self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", False, work)

    def write(self, work: Callable[[Journal], T], *, durable: bool = True) -> T:
        """Run ``work`` under the store's write lock in one transaction and commit.

        ``durable`` is accepted and ignored: a shared store's leases must survive
        the database server's crash (``synchronous_commit = off`` would lose the
        last ones), and the commit's cost there is the server's, not the clicking
        process's interpreter.

        ``work`` may run more than once (after a lost connection), so it must
        only touch the database through the journal it is given.
        """
        return self._transaction("BEGIN", True, work)

    # -- schema ---------------------------------------------------------------------
    def prepare(self, created: float) -> None:
        """Check the schema's tables are an alabel store of a version we read; create them if none.

        Tables that are not alabel's are refused before anything is written.
        """
        def look(journal: SqlJournal) -> tuple[str | None, set[str]]:
            schema = journal._all("SELECT current_schema()")[0][0]
            tables = {row[0] for row in journal._all(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
            return schema, tables

        schema, tables = self.read(look)
        if schema is None:
            raise LabelStoreError(
                f"{self._shown}: no schema to keep the labels in (the search_path names none that exists)"
            )
        if tables and "alabel_schema" not in tables:
            raise LabelStoreError(
                f"{self._shown}: not an alabel label store (schema {schema} holds tables "
                f"{', '.join(sorted(tables))})"
            )
        if "alabel_schema" not in tables:
            if not self.create:
                raise LabelStoreError(
                    f"{self._shown}: no label store here (alabel label, serve and simulate create one)"
                )
            # Two processes may create the same new store at once: the DDL is
            # idempotent and runs under the write lock.
            self.write(lambda journal: self._create_schema(journal, created))
        version = self.read(lambda journal: journal._all("SELECT MAX(version) FROM alabel_schema")[0][0])
        if version is None:
            raise LabelStoreError(f"{self._shown}: damaged label store (alabel_schema is empty)")
        if version > SCHEMA_VERSION:
            raise LabelStoreError(
                f"{self._shown}: written by a newer alabel (schema {version}; this one reads {SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            self.write(lambda journal: self._migrate(journal, created))
        # Plans made for the journal as it is now, not as autovacuum last saw it.
        self._analyze(self.connection())

    @staticmethod
    def _create_schema(journal: SqlJournal, created: float) -> None:
        for statement in _CREATE:
            journal.conn.execute(statement)
        journal._run("INSERT INTO alabel_schema (version, applied) SELECT ?, ? "
                     "WHERE NOT EXISTS (SELECT 1 FROM alabel_schema)", (SCHEMA_VERSION, created))

    @staticmethod
    def _migrate(journal: SqlJournal, now: float) -> None:
        version = journal._all("SELECT MAX(version) FROM alabel_schema")[0][0]
        while version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version]:
                journal.conn.execute(statement)
            version += 1
            journal._run("INSERT INTO alabel_schema (version, applied) VALUES (?, ?)", (version, now))

    # -- copies and closing ----------------------------------------------------------------
    def backup(self, dest: Path) -> None:
        """Copy one snapshot of the store into a new SQLite file (a bundle opens it anywhere)."""

        def snapshot(journal: SqlJournal):
            events = journal._all("SELECT " + COLUMNS + " FROM label_events ORDER BY seq")
            created = journal._all("SELECT MIN(applied) FROM alabel_schema")[0][0]
            return events, journal.leases(), journal.metadata(), created

        events, leases, metadata, created = self.read(snapshot)
        copy = SQLiteBackend(dest)
        try:
            copy.prepare(created=created)

            def fill(journal: SqlJournal) -> None:
                # Explicit seq: the copy keeps the journal's positions.
                journal._many("INSERT INTO label_events (" + COLUMNS + ") VALUES ("
                              + ", ".join("?" * 12) + ")", events)
                journal.put_leases(leases)
                journal.set_metadata(metadata)

            copy.write(fill)
        finally:
            copy.close()

    def close(self) -> None:
        with self._guard:
            for _thread, conn in self._connections:
                if self._pid == os.getpid():
                    conn.close()
            self._connections = []
            self._local = threading.local()
            self._closed = True


def _unreachable(exc: BaseException) -> bool:
    """Whether a connection error means the server is not there (yet), as opposed to refusing us."""
    text = str(exc).lower()
    return any(word in text for word in ("no such file", "connection refused", "starting up",
                                         "shutting down", "could not connect", "timeout expired"))
