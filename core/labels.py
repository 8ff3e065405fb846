"""The label store: an append-only journal of label events in SQLite.

Every click in the dashboard, every imported catalogue row and every
pseudo-label becomes one *event* in a journal that is never edited: a wrong
label is corrected by a new label, undone by a ``retract`` event. The labels
the engine trains on (:meth:`LabelStore.current`) are derived from the journal
by fixed precedence rules, so the full history of who said what stays
available for audits, conflict review and reproducible exports.

Design points
-------------
* Durability: a write is committed with ``synchronous=FULL`` in WAL mode
  before the call returns, so an acknowledged label survives a crash.
* Concurrency: several processes may open the same file; each opens its own
  connections, writes run in ``BEGIN IMMEDIATE`` transactions with a busy
  timeout and a retry loop. Within a process each thread gets its own
  connection.
* Idempotency: callers make event ids; recording an event id twice stores it
  once, so a client can retry a write whose acknowledgement was lost.
* Portability: all SQL lives in :class:`_SQL` and all connection handling in
  :class:`_SQLiteBackend`, so a PostgreSQL backend (``postgresql://`` URL in
  :meth:`LabelStore.open`) can be added without touching the rules.
"""
from __future__ import annotations

import math
import os
import sqlite3
import threading
import time as _time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import LabelStoreError, did_you_mean

__all__ = [
    "KINDS",
    "SOURCES",
    "SPLITS",
    "SOURCE_RANK",
    "SCHEMA_VERSION",
    "LabelEvent",
    "PseudoUpdate",
    "LabelStore",
]

#: Event kinds. ``skip``/``unsure`` record that an annotator passed on a
#: query; ``retract`` cancels an earlier event (undo).
KINDS = ("label", "skip", "unsure", "retract")
#: Where a label came from.
SOURCES = ("human", "catalogue", "import", "pseudo")
#: Which split a labelled object belongs to.
SPLITS = ("train", "test")
#: Precedence of sources in the current-labels view: lower rank wins, so a
#: pseudo-label never hides a human one.
SOURCE_RANK = {"human": 0, "catalogue": 1, "import": 1, "pseudo": 2}
#: Version of the on-disk schema (also written to ``PRAGMA user_version``).
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of alabel stores ("alab"), so ``file`` tools can tell them apart.
APPLICATION_ID = 0x616C6162

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
#: Fields a row given to :meth:`LabelStore.record_many` may carry.
ROW_FIELDS = (
    "object_id", "label", "annotator", "source", "split", "kind",
    "model_version", "confidence", "event_id", "time", "target_event_id",
)
# SQLite's default limit on bound variables is 32766; stay far below it (and
# below PostgreSQL's 65535) when building IN (...) lists.
_CHUNK = 500


@dataclass(frozen=True)
class LabelEvent:
    """One journal entry.

    Attributes
    ----------
    event_id : str
        Caller-made unique id; recording it twice stores it once.
    object_id : str
        Id of the labelled object (always text; ints are stored as ``str(i)``).
    label : str or None
        Class label; ``None`` for ``skip``, ``unsure`` and ``retract``.
    kind : {'label', 'skip', 'unsure', 'retract'}
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
        The event a ``retract`` cancels.
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

    def _content(self) -> dict[str, Any]:
        # What an idempotent retry must repeat exactly. The time is left out:
        # a retry made a moment later is still the same event.
        skip = {"event_id", "time", "seq"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}

    def _row(self) -> tuple:
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


class _SQL:
    """Every SQL statement the store runs, in plain SQL that PostgreSQL also reads.

    Placeholders are ``?`` (sqlite3's paramstyle); a PostgreSQL backend would
    translate them. Only the DDL (``AUTOINCREMENT``, trigger syntax) and
    ``TABLES`` are SQLite-specific.
    """

    COLUMNS = (
        "seq, event_id, object_id, label, kind, source, annotator, split, "
        "event_time, model_version, confidence, target_event_id"
    )
    # "e" is not retracted: no retract event targets it.
    LIVE = "NOT EXISTS (SELECT 1 FROM label_events r WHERE r.target_event_id = e.event_id)"

    CREATE = (
        """CREATE TABLE IF NOT EXISTS alabel_schema (
            version INTEGER PRIMARY KEY,
            applied REAL NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS label_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            object_id TEXT NOT NULL,
            label TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('label', 'skip', 'unsure', 'retract')),
            source TEXT NOT NULL CHECK (source IN ('human', 'catalogue', 'import', 'pseudo')),
            annotator TEXT NOT NULL,
            split TEXT NOT NULL CHECK (split IN ('train', 'test')),
            event_time REAL NOT NULL,
            model_version INTEGER,
            confidence REAL,
            target_event_id TEXT,
            CHECK ((kind = 'label') = (label IS NOT NULL)),
            CHECK ((kind = 'retract') = (target_event_id IS NOT NULL))
        )""",
        "CREATE INDEX IF NOT EXISTS label_events_by_object ON label_events (object_id)",
        "CREATE INDEX IF NOT EXISTS label_events_by_target ON label_events (target_event_id)",
        "CREATE INDEX IF NOT EXISTS label_events_by_annotator ON label_events (annotator, seq)",
        # The journal is append-only: corrections are new events, never edits.
        """CREATE TRIGGER IF NOT EXISTS label_events_no_update BEFORE UPDATE ON label_events
            BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END""",
        """CREATE TRIGGER IF NOT EXISTS label_events_no_delete BEFORE DELETE ON label_events
            BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END""",
        """CREATE TABLE IF NOT EXISTS label_leases (
            object_id TEXT PRIMARY KEY,
            annotator TEXT NOT NULL,
            expires REAL NOT NULL
        )""",
    )
    STAMP_SCHEMA = (
        "INSERT INTO alabel_schema (version, applied) SELECT ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM alabel_schema)"
    )
    TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
    SCHEMA_VERSION = "SELECT MAX(version) FROM alabel_schema"

    REVISION = "SELECT COALESCE(MAX(seq), 0) FROM label_events"
    INSERT = (
        "INSERT INTO label_events (event_id, object_id, label, kind, source, annotator, "
        "split, event_time, model_version, confidence, target_event_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    SEQS_AFTER = "SELECT event_id, seq FROM label_events WHERE seq > ?"
    EVENTS_WHERE_IN = "SELECT " + COLUMNS + " FROM label_events WHERE {column} IN ({marks})"
    EVENTS = (
        "SELECT " + COLUMNS + ", CASE WHEN " + LIVE + " THEN 0 ELSE 1 END "
        "FROM label_events e ORDER BY e.seq"
    )
    HISTORY = (
        "SELECT " + COLUMNS + ", CASE WHEN " + LIVE + " THEN 0 ELSE 1 END "
        "FROM label_events e WHERE e.object_id = ? ORDER BY e.seq"
    )
    LIVE_LABELS = (
        "SELECT " + COLUMNS + " FROM label_events e "
        "WHERE e.kind = 'label' AND " + LIVE + " ORDER BY e.seq"
    )
    LIVE_PSEUDO = (
        "SELECT " + COLUMNS + " FROM label_events e "
        "WHERE e.kind = 'label' AND e.source = 'pseudo' AND " + LIVE + " ORDER BY e.seq"
    )
    # Objects whose pseudo-label someone other than the loop (a person) retracted.
    REJECTED_PSEUDO = (
        "SELECT DISTINCT r.object_id FROM label_events r "
        "WHERE r.kind = 'retract' AND r.source = 'pseudo' AND r.annotator <> ?"
    )
    LAST_OWN = (
        "SELECT " + COLUMNS + " FROM label_events e "
        "WHERE e.annotator = ? AND e.kind <> 'retract' AND " + LIVE
        + " ORDER BY e.seq DESC LIMIT 1"
    )
    LABELLED_BY_SOURCES = (
        "SELECT DISTINCT e.object_id FROM label_events e "
        "WHERE e.kind = 'label' AND e.source IN ({marks}) AND " + LIVE
    )
    SKIPPED = (
        "SELECT DISTINCT e.object_id FROM label_events e "
        "WHERE e.kind IN ('skip', 'unsure') AND " + LIVE
    )
    SKIPPED_BY = SKIPPED + " AND e.annotator = ?"

    RELEASE_OWN = "DELETE FROM label_leases WHERE object_id = ? AND annotator = ?"
    DROP_EXPIRED_LEASES = "DELETE FROM label_leases WHERE expires <= ?"
    LEASES_WHERE_IN = "SELECT object_id, annotator FROM label_leases WHERE object_id IN ({marks})"
    UPSERT_LEASE = (
        "INSERT INTO label_leases (object_id, annotator, expires) VALUES (?, ?, ?) "
        "ON CONFLICT (object_id) DO UPDATE SET annotator = excluded.annotator, "
        "expires = excluded.expires"
    )
    LEASED_BY_OTHERS = "SELECT object_id FROM label_leases WHERE annotator <> ? AND expires > ?"


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class _SQLiteBackend:
    """Connections to one SQLite file: one per thread, writes retried while locked.

    Parameters
    ----------
    path : Path
        The database file.
    busy_timeout_s : float
        How long a write waits for another writer before giving up.
    """

    def __init__(self, path: Path, busy_timeout_s: float):
        self.path = path
        self.busy_timeout_s = float(busy_timeout_s)
        self._guard = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False

    def connection(self) -> sqlite3.Connection:
        """The calling thread's connection (opened on first use)."""
        if self._closed:
            raise LabelStoreError(f"{self.path}: the label store is closed")
        if os.getpid() != self._pid:
            # A forked child must never use its parent's SQLite handles.
            with self._guard:
                self._local = threading.local()
                self._connections = []
                self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # check_same_thread=False only so that close() may close every
            # thread's connection; each connection is still used by one thread.
            conn = sqlite3.connect(
                str(self.path), timeout=self.busy_timeout_s,
                isolation_level=None, check_same_thread=False,
            )
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
        deadline = _time.monotonic() + self.busy_timeout_s
        delay = 0.002
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise LabelStoreError(f"{self.path}: {exc}") from exc
                if _time.monotonic() >= deadline:
                    raise LabelStoreError(
                        f"{self.path}: database stayed locked for {self.busy_timeout_s:g} s "
                        "(another process holds a long write)"
                    ) from exc
            except sqlite3.DatabaseError as exc:
                # Corrupt file, not a database, ...: always name the file.
                raise LabelStoreError(f"{self.path}: {exc}") from exc
            _time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """Run one read statement (its own snapshot) and return all rows."""
        return self._retrying(lambda: self.connection().execute(sql, params).fetchall())

    def write(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``work(conn)`` in one ``BEGIN IMMEDIATE`` transaction and commit.

        ``work`` may run more than once (when the database was locked), so it
        must only touch the database through ``conn``.
        """

        def attempt():
            conn = self.connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
                conn.execute("COMMIT")
                return result
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

        return self._retrying(attempt)

    def prepare(self, created: float) -> None:
        """Check that the file is an alabel store of a version we read; create it when empty.

        A foreign or damaged file is refused *before* anything is written to it.
        """
        tables = {row[0] for row in self.read(_SQL.TABLES)}
        if tables and "alabel_schema" not in tables:
            raise LabelStoreError(
                f"{self.path}: not an alabel label store (it holds tables {', '.join(sorted(tables))})"
            )
        mode = self.read("PRAGMA journal_mode = WAL")[0][0]
        if str(mode).lower() != "wal":
            raise LabelStoreError(f"{self.path}: cannot use WAL journal mode (got {mode!r})")
        if "alabel_schema" not in tables:
            # Two processes may create the same new store at once: the DDL is
            # idempotent and runs under the write lock.
            self.write(lambda conn: self._create_schema(conn, created))
        stamped = self.read(_SQL.SCHEMA_VERSION)[0][0]
        user_version = self.read("PRAGMA user_version")[0][0]
        if stamped is None or stamped != user_version:
            raise LabelStoreError(
                f"{self.path}: damaged label store (schema table says {stamped}, "
                f"PRAGMA user_version says {user_version})"
            )
        if stamped > SCHEMA_VERSION:
            raise LabelStoreError(
                f"{self.path}: written by a newer alabel (schema {stamped}; this one reads {SCHEMA_VERSION})"
            )

    @staticmethod
    def _create_schema(conn: sqlite3.Connection, created: float) -> None:
        for statement in _SQL.CREATE:
            conn.execute(statement)
        conn.execute(_SQL.STAMP_SCHEMA, (SCHEMA_VERSION, created))
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")

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


# ---------------------------------------------------------------- validation


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _text(value: Any) -> str:
    """Normalise an id or label to text: ``7``, ``np.int64(7)`` and ``7.0`` all give ``'7'``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        # Parquet/CSV turn int ids into floats when a column has gaps.
        return str(int(value))
    return str(value)


def _choice(value: Any, choices: Sequence[str], what: str, where: str) -> str:
    if value not in choices:
        raise LabelStoreError(
            f"{where}{what} {value!r} is not one of {', '.join(choices)}{did_you_mean(value, choices)}"
        )
    return value


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


def _optional_int(value: Any, what: str, where: str) -> int | None:
    if _missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        raise LabelStoreError(f"{where}{what} must be an integer, got {value!r}")
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    raise LabelStoreError(f"{where}{what} must be an integer, got {value!r}")


def _confidence(value: Any, where: str) -> float | None:
    if _missing(value):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise LabelStoreError(f"{where}confidence must be a number, got {value!r}") from None
    if not 0.0 <= result <= 1.0:
        raise LabelStoreError(f"{where}confidence must be between 0 and 1, got {value!r}")
    return result


def _name(value: Any, what: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabelStoreError(f"{where}{what} must be a non-empty string, got {value!r}")
    return value


def _object_ids(object_ids: Iterable[Any] | str | int) -> list[str]:
    """Normalise one id or many to a list of unique text ids, keeping order."""
    if isinstance(object_ids, (str, int, np.integer)):
        object_ids = [object_ids]
    seen: dict[str, None] = {}
    for oid in object_ids:
        if _missing(oid):
            raise LabelStoreError(f"object id must not be missing, got {oid!r}")
        seen.setdefault(_text(oid), None)
    return list(seen)


def _chunks(items: Sequence, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _event_from_row(row: Sequence) -> LabelEvent:
    seq, event_id, object_id, label, kind, source, annotator, split, when, version, conf, target = row[:12]
    return LabelEvent(
        event_id=event_id, object_id=object_id, label=label, kind=kind, source=source,
        annotator=annotator, split=split, time=float(when),
        model_version=None if version is None else int(version),
        confidence=None if conf is None else float(conf),
        target_event_id=target, seq=int(seq),
    )


def _frame(rows: list[tuple], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    dtypes = {"seq": "int64", "time": "float64", "model_version": "Int64", "confidence": "float64",
              "conflict": "bool", "retracted": "bool"}
    return frame.astype({col: dtype for col, dtype in dtypes.items() if col in frame.columns})


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise LabelStoreError(f"{path}: no such file to import labels from")
    try:
        if suffix == ".csv":
            # Everything as text: ids such as "007" must keep their zeros.
            return pd.read_csv(path, dtype=str)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise LabelStoreError(f"{path}: cannot read labels ({exc})") from exc
    raise LabelStoreError(f"{path}: unknown label file format {suffix or '(none)'!r} (use .csv or .parquet)")


# -------------------------------------------------------------------- store


class LabelStore:
    """Append-only journal of label events in a SQLite file (WAL mode).

    Parameters
    ----------
    path : str or Path
        The store file; created (with its schema) when it does not exist.
        Its folder must exist.
    classes : sequence of str, optional
        Valid class labels; recording any other label is refused. ``None``
        accepts any label.
    clock : callable, optional
        Returns the current unix time; event times and lease expiry use it
        (tests inject a fake clock instead of sleeping).
    busy_timeout_s : float
        How long a write waits for other writers before failing.

    Notes
    -----
    Several processes may open the same file. Every write is one transaction,
    committed durably before the method returns. Use :meth:`open` to open a
    store from a config value (path or URL).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        classes: Iterable[Any] | None = None,
        clock: Callable[[], float] = _time.time,
        busy_timeout_s: float = 30.0,
    ):
        self.path = Path(path).expanduser()
        self.clock = clock
        self._classes: tuple[str, ...] | None = None
        self.set_classes(classes)
        if self.path.is_dir():
            raise LabelStoreError(f"{self.path}: is a folder, not a label store file")
        if not self.path.parent.is_dir():
            raise LabelStoreError(
                f"{self.path}: folder {self.path.parent} does not exist (create it first)"
            )
        self._db = _SQLiteBackend(self.path, busy_timeout_s)
        self._cache_lock = threading.Lock()
        self._cache: tuple[int, pd.DataFrame, pd.DataFrame] | None = None
        try:
            self._db.prepare(created=self.clock())
        except BaseException:
            self._db.close()
            raise

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, url_or_path: str | os.PathLike, **kwargs: Any) -> "LabelStore":
        """Open the store named by a config value.

        Parameters
        ----------
        url_or_path : str or Path
            A file path, or ``sqlite:///path``. ``postgresql://`` URLs are
            reserved for a future backend.
        **kwargs
            Passed to :class:`LabelStore` (``classes``, ``clock``, ...).
        """
        text = os.fspath(url_or_path)
        if "://" not in text:
            return cls(text, **kwargs)
        scheme, _, rest = text.partition("://")
        if scheme == "sqlite":
            if not rest:
                raise LabelStoreError(f"{text}: sqlite URL names no file (use sqlite:///path/to/labels.db)")
            return cls(rest, **kwargs)
        # Never echo credentials from a URL into logs.
        shown = f"{scheme}://{rest.rpartition('@')[2]}"
        if scheme in ("postgresql", "postgres"):
            raise LabelStoreError(
                f"{shown}: PostgreSQL label stores are not supported yet; use a SQLite file path"
            )
        raise LabelStoreError(
            f"{shown}: unknown label store URL scheme {scheme!r} (use a file path or sqlite:///path)"
        )

    def close(self) -> None:
        """Close every connection this store opened (in all threads)."""
        self._db.close()

    def __enter__(self) -> "LabelStore":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LabelStore({str(self.path)!r})"

    # ------------------------------------------------------------ classes

    @property
    def classes(self) -> tuple[str, ...] | None:
        """Valid class labels, or ``None`` when any label is accepted."""
        return self._classes

    def set_classes(self, classes: Iterable[Any] | None) -> None:
        """Restrict recorded labels to ``classes`` (``None`` lifts the restriction)."""
        if classes is None:
            self._classes = None
            return
        names = tuple(_text(c) for c in classes)
        if not names:
            raise LabelStoreError("label store classes must not be empty (use None to accept any label)")
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise LabelStoreError(f"label store classes repeat {', '.join(dupes)}")
        self._classes = names

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
            The object (stored as ``str(object_id)``).
        label : str or None
            The class; ``None`` for ``skip``/``unsure``/``retract``.
        annotator, source, split, kind
            See :data:`SOURCES`, :data:`SPLITS`, :data:`KINDS`.
        model_version : int, optional
        confidence : float in [0, 1], optional
        event_id : str, optional
            Caller-made id (default: a new UUID). Recording the same id again
            returns the stored event and writes nothing; the same id with
            different content raises :class:`LabelStoreError`.
        time : float, ISO string or datetime, optional
            Event time (default: the store's clock).
        target_event_id : str, optional
            For ``kind='retract'``: the event to cancel.

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
        event = self._event(row, defaults={}, now=self.clock(), where="")
        return self._db.write(lambda conn: self._store_events(conn, [event]))[0]

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
            of :func:`record` (``annotator``, ``source``, ``split``, ``kind``,
            ``model_version``, ``confidence``, ``event_id``, ``time``,
            ``target_event_id``); missing fields take the keyword defaults.
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
            events.append(self._event(row, defaults=defaults, now=now, where=f"{where}row {number}: "))
        if not events:
            return []
        return self._db.write(lambda conn: self._store_events(conn, events))

    def _event(self, row: Mapping[str, Any], *, defaults: Mapping[str, Any], now: float, where: str) -> LabelEvent:
        """Validate one row into an event (no database access)."""
        unknown = [key for key in row if key not in ROW_FIELDS]
        if unknown:
            key = str(unknown[0])
            raise LabelStoreError(
                f"{where}unknown field {key!r}{did_you_mean(key, ROW_FIELDS)} (fields: {', '.join(ROW_FIELDS)})"
            )

        def get(key, fallback=None):
            # A missing value (absent key, None, NaN from a DataFrame) takes the default.
            value = row.get(key)
            return defaults.get(key, fallback) if _missing(value) else value

        kind = _choice(get("kind", "label"), KINDS, "kind", where)
        source = _choice(get("source", "human"), SOURCES, "source", where)
        split = _choice(get("split", "train"), SPLITS, "split", where)
        annotator = _name(get("annotator", "anonymous"), "annotator", where)
        object_id = row.get("object_id")
        if _missing(object_id) or _text(object_id) == "":
            raise LabelStoreError(f"{where}object_id must not be missing, got {object_id!r}")
        label = row.get("label")
        if kind == "label":
            if _missing(label) or _text(label) == "":
                raise LabelStoreError(f"{where}a 'label' event for object {_text(object_id)!r} needs a class label")
            label = _text(label)
            if self._classes is not None and label not in self._classes:
                raise LabelStoreError(
                    f"{where}unknown class {label!r}{did_you_mean(label, self._classes)} "
                    f"(classes: {', '.join(self._classes)})"
                )
        elif not _missing(label):
            raise LabelStoreError(f"{where}a {kind!r} event carries no class label, got {label!r}")
        else:
            label = None
        target = row.get("target_event_id")
        if kind == "retract":
            target = _name(target, "target_event_id of a 'retract' event", where)
        elif not _missing(target):
            raise LabelStoreError(f"{where}target_event_id is only for 'retract' events, got kind {kind!r}")
        else:
            target = None
        event_id = row.get("event_id")
        event_id = str(uuid.uuid4()) if _missing(event_id) else _name(event_id, "event_id", where)
        when = row.get("time")
        return LabelEvent(
            event_id=event_id,
            object_id=_text(object_id),
            label=label,
            kind=kind,
            source=source,
            annotator=annotator,
            split=split,
            time=now if _missing(when) else _unix_time(when, where),
            model_version=_optional_int(get("model_version"), "model_version", where),
            confidence=_confidence(row.get("confidence"), where),
            target_event_id=target,
        )

    def _fetch(self, conn: sqlite3.Connection, column: str, values: Sequence[str]) -> list[LabelEvent]:
        """Events whose ``column`` (event_id or target_event_id) is in ``values``."""
        found = []
        unique = list(dict.fromkeys(values))
        for chunk in _chunks(unique):
            sql = _SQL.EVENTS_WHERE_IN.format(column=column, marks=", ".join("?" * len(chunk)))
            found.extend(_event_from_row(row) for row in conn.execute(sql, chunk))
        return found

    def _store_events(self, conn: sqlite3.Connection, events: list[LabelEvent]) -> list[LabelEvent]:
        """Insert ``events`` inside the caller's transaction; return them as stored."""
        stored = {ev.event_id: ev for ev in self._fetch(conn, "event_id", [e.event_id for e in events])}
        fresh: dict[str, LabelEvent] = {}
        for event in events:
            prior = stored.get(event.event_id) or fresh.get(event.event_id)
            if prior is None:
                fresh[event.event_id] = event
                continue
            old, new = prior._content(), event._content()
            if old != new:
                diff = "; ".join(f"{k} {old[k]!r} vs {new[k]!r}" for k in old if old[k] != new[k])
                raise LabelStoreError(
                    f"event {event.event_id!r} is already recorded with different content ({diff})"
                )
        self._check_retracts(conn, fresh)
        if fresh:
            base = conn.execute(_SQL.REVISION).fetchone()[0]
            conn.executemany(_SQL.INSERT, [ev._row() for ev in fresh.values()])
            seqs = dict(conn.execute(_SQL.SEQS_AFTER, (base,)).fetchall())
            for event_id, event in fresh.items():
                stored[event_id] = replace(event, seq=int(seqs[event_id]))
            # Answering a query ends the annotator's own lease on that object.
            done = {(ev.object_id, ev.annotator) for ev in fresh.values() if ev.kind != "retract"}
            conn.executemany(_SQL.RELEASE_OWN, sorted(done))
        return [stored[ev.event_id] for ev in events]

    def _check_retracts(self, conn: sqlite3.Connection, fresh: Mapping[str, LabelEvent]) -> None:
        retracts = [ev for ev in fresh.values() if ev.kind == "retract"]
        if not retracts:
            return
        wanted = [ev.target_event_id for ev in retracts]
        targets = {ev.event_id: ev for ev in self._fetch(conn, "event_id", wanted)}
        targets.update({eid: ev for eid, ev in fresh.items() if ev.kind != "retract"})
        retracted = {ev.target_event_id for ev in self._fetch(conn, "target_event_id", wanted)}
        for ev in retracts:
            target = targets.get(ev.target_event_id)
            if target is None:
                raise LabelStoreError(
                    f"retract {ev.event_id!r}: no event {ev.target_event_id!r} in {self.path}"
                )
            if target.kind == "retract":
                raise LabelStoreError(f"retract {ev.event_id!r}: event {target.event_id!r} is itself a retract")
            if target.object_id != ev.object_id:
                raise LabelStoreError(
                    f"retract {ev.event_id!r}: event {target.event_id!r} is about object "
                    f"{target.object_id!r}, not {ev.object_id!r}"
                )
            if ev.target_event_id in retracted:
                raise LabelStoreError(
                    f"retract {ev.event_id!r}: event {ev.target_event_id!r} is already retracted"
                )
            retracted.add(ev.target_event_id)

    def _retract_event(self, target: LabelEvent, annotator: str, now: float, event_id: str | None = None,
                       model_version: int | None = None) -> LabelEvent:
        return LabelEvent(
            event_id=event_id or str(uuid.uuid4()), object_id=target.object_id, label=None,
            kind="retract", source=target.source, annotator=annotator, split=target.split,
            time=now, model_version=model_version, target_event_id=target.event_id,
        )

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
        _name(annotator, "annotator", "")
        now = self.clock()

        def work(conn):
            found = self._fetch(conn, "event_id", [target_event_id])
            if not found:
                raise LabelStoreError(f"retract: no event {target_event_id!r} in {self.path}")
            self._store_events(conn, [self._retract_event(found[0], annotator, now, event_id)])
            return found[0]

        return self._db.write(work)

    def undo(self, annotator: str) -> LabelEvent | None:
        """Retract ``annotator``'s own latest event that is still in force.

        Repeated calls walk further back; other annotators' events are never
        touched. Returns the retracted event, or ``None`` when nothing is left.
        """
        _name(annotator, "annotator", "")
        now = self.clock()

        def work(conn):
            row = conn.execute(_SQL.LAST_OWN, (annotator,)).fetchone()
            if row is None:
                return None
            target = _event_from_row(row)
            self._store_events(conn, [self._retract_event(target, annotator, now)])
            return target

        return self._db.write(work)

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
        version = _optional_int(model_version, "model_version", "replace_pseudo: ")
        if version is None:
            raise LabelStoreError("replace_pseudo: model_version is required")
        now = self.clock()
        wanted: dict[str, LabelEvent] = {}
        for number, (oid, value) in enumerate(labels.items(), start=1):
            label, confidence = value if isinstance(value, tuple) else (value, None)
            row = {"object_id": oid, "label": label, "confidence": confidence}
            event = self._event(
                row, defaults={"annotator": annotator, "source": "pseudo", "model_version": version},
                now=now, where=f"replace_pseudo: row {number}: ",
            )
            wanted[event.object_id] = event

        def work(conn):
            # Checked inside the transaction: a rejection written while the loop was
            # computing this round must win over the round's (older) opinion.
            rejected = {row[0] for row in conn.execute(_SQL.REJECTED_PSEUDO, (annotator,))}
            for oid in rejected:
                wanted.pop(oid, None)
            live = [_event_from_row(row) for row in conn.execute(_SQL.LIVE_PSEUDO)]
            latest = {ev.object_id: ev for ev in live}  # ordered by seq: the last one wins
            kept: set[str] = set()
            retracts = []
            for ev in live:
                new = wanted.get(ev.object_id)
                if new is not None and latest[ev.object_id] is ev and new.label == ev.label:
                    kept.add(ev.object_id)
                else:
                    retracts.append(self._retract_event(ev, annotator, now, model_version=version))
            added = [ev for oid, ev in wanted.items() if oid not in kept]
            self._store_events(conn, retracts + added)
            revision = conn.execute(_SQL.REVISION).fetchone()[0]
            return PseudoUpdate(added=len(added), retracted=len(retracts), kept=len(kept), revision=int(revision))

        return self._db.write(work)

    # ------------------------------------------------------------ reading

    @property
    def revision(self) -> int:
        """Monotonic journal position of the latest event (0 when empty).

        Changes with every event written by any process (leases do not
        count), so a trainer can poll it cheaply to detect new labels.
        """
        return int(self._db.read(_SQL.REVISION)[0][0])

    def events(self) -> pd.DataFrame:
        """The full journal in write order (columns :data:`EVENT_COLUMNS`)."""
        return _frame(self._db.read(_SQL.EVENTS), EVENT_COLUMNS)

    def history(self, object_id: Any) -> pd.DataFrame:
        """Every event about one object, in write order (columns :data:`EVENT_COLUMNS`)."""
        if _missing(object_id):
            raise LabelStoreError(f"history: object id must not be missing, got {object_id!r}")
        return _frame(self._db.read(_SQL.HISTORY, (_text(object_id),)), EVENT_COLUMNS)

    def _views(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(current labels, conflicts), recomputed only when the revision moved."""
        revision = self.revision
        with self._cache_lock:
            if self._cache is not None and self._cache[0] == revision:
                return self._cache[1], self._cache[2]
        # Read after the revision: the data is at least that new, so a stale
        # cache entry is never served for a later revision.
        live = _frame(self._db.read(_SQL.LIVE_LABELS), EVENT_COLUMNS[:-1])
        current, conflicts = _resolve(live)
        with self._cache_lock:
            self._cache = (revision, current, conflicts)
        return current, conflicts

    def labelled_ids(self, sources: Iterable[str] = ("human", "catalogue", "import")) -> set[str]:
        """Objects with a live label from one of ``sources``, in either split.

        One indexed SQL query, without building the precedence view: the
        query path asks this at every label, on pools of millions of rows.
        With the default (every non-pseudo source) it is exactly the set of
        objects whose label in force is not a pseudo-label.
        """
        sources = [_choice(s, SOURCES, "source", "labelled_ids: ") for s in _as_list(sources)]
        if not sources:
            return set()
        sql = _SQL.LABELLED_BY_SOURCES.format(marks=", ".join("?" * len(sources)))
        return {row[0] for row in self._db.read(sql, tuple(sources))}

    def current(self, split: str | None = None, sources: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per labelled object: the label in force.

        Rules: retracted events are ignored; ``human`` beats ``catalogue`` and
        ``import``, which beat ``pseudo``; within a rank the latest event wins.
        ``conflict`` is True when annotators' latest human labels of the object
        disagree (an annotator correcting their own label is no conflict).
        ``skip``/``unsure`` events never hide a label.

        Parameters
        ----------
        split : {'train', 'test'}, optional
            Keep objects whose winning label is in this split.
        sources : iterable of str, optional
            Keep objects whose winning label comes from one of these sources
            (applied after precedence: ``sources=['pseudo']`` gives the objects
            labelled only by the model).

        Returns
        -------
        DataFrame
            Columns :data:`CURRENT_COLUMNS`, ordered by write time.
        """
        view, _ = self._views()
        mask = np.ones(len(view), dtype=bool)
        if split is not None:
            mask &= (view["split"] == _choice(split, SPLITS, "split", "current: ")).to_numpy()
        if sources is not None:
            wanted = [_choice(s, SOURCES, "source", "current: ") for s in _as_list(sources)]
            mask &= view["source"].isin(wanted).to_numpy()
        return view[mask].reset_index(drop=True)

    def conflicts(self) -> pd.DataFrame:
        """Objects whose annotators disagree: each annotator's latest human label.

        Returns
        -------
        DataFrame
            Columns object_id, annotator, label, event_id, time; one row per
            (conflicting object, annotator).
        """
        _, conflicts = self._views()
        return conflicts.copy()

    def skipped(self, annotator: str | None = None) -> set[str]:
        """Ids of objects with a ``skip`` or ``unsure`` in force (by ``annotator``, or by anyone)."""
        if annotator is None:
            rows = self._db.read(_SQL.SKIPPED)
        else:
            rows = self._db.read(_SQL.SKIPPED_BY, (annotator,))
        return {row[0] for row in rows}

    def counts(self, sources: Iterable[str] | None = None) -> pd.DataFrame:
        """Number of current labels per class and split.

        Returns
        -------
        DataFrame
            Index: class label (all configured classes, zero when unused);
            columns ``train`` and ``test`` (ints).
        """
        view = self.current(sources=sources)
        table = pd.crosstab(view["label"], view["split"]) if len(view) else pd.DataFrame()
        order = list(self._classes) if self._classes is not None else sorted(set(view["label"]))
        extra = sorted(set(view["label"]) - set(order))  # labels recorded before classes were set
        table = table.reindex(index=order + extra, columns=list(SPLITS), fill_value=0)
        table.index.name = "label"
        table.columns.name = None
        return table.fillna(0).astype("int64")

    def n_labels(
        self, split: str | None = "train", sources: Iterable[str] | None = ("human", "catalogue", "import")
    ) -> int:
        """Number of objects with a current label (``split=None``: both splits)."""
        return len(self.current(split=split, sources=sources))

    # ------------------------------------------------------------ leases

    def lease(self, object_ids: Iterable[Any] | Any, annotator: str, ttl_s: float = 120.0) -> list[str]:
        """Reserve objects for ``annotator`` so no one else is served them.

        Grants, atomically, every object not leased to someone else (a lease
        the annotator already holds is extended). Leases end after ``ttl_s``,
        on :meth:`release`, or when the annotator records an event about the
        object.

        Returns
        -------
        list of str
            The granted object ids, in the order given.
        """
        _name(annotator, "annotator", "lease: ")
        if not (isinstance(ttl_s, (int, float)) and math.isfinite(ttl_s) and ttl_s > 0):
            raise LabelStoreError(f"lease: ttl_s must be a positive number of seconds, got {ttl_s!r}")
        ids = _object_ids(object_ids)
        if not ids:
            return []
        now = self.clock()

        def work(conn):
            conn.execute(_SQL.DROP_EXPIRED_LEASES, (now,))
            holders: dict[str, str] = {}
            for chunk in _chunks(ids):
                sql = _SQL.LEASES_WHERE_IN.format(marks=", ".join("?" * len(chunk)))
                holders.update(conn.execute(sql, chunk).fetchall())
            granted = [oid for oid in ids if holders.get(oid, annotator) == annotator]
            conn.executemany(_SQL.UPSERT_LEASE, [(oid, annotator, now + ttl_s) for oid in granted])
            return granted

        return self._db.write(work)

    def release(self, object_ids: Iterable[Any] | Any, annotator: str) -> None:
        """End ``annotator``'s leases on ``object_ids`` (others' leases are untouched)."""
        _name(annotator, "annotator", "release: ")
        ids = _object_ids(object_ids)
        if ids:
            self._db.write(lambda conn: conn.executemany(_SQL.RELEASE_OWN, [(oid, annotator) for oid in ids]))

    def leased_by_others(self, annotator: str) -> set[str]:
        """Ids of objects currently leased to anyone but ``annotator``."""
        return {row[0] for row in self._db.read(_SQL.LEASED_BY_OTHERS, (annotator, self.clock()))}

    # ------------------------------------------------------------ files

    def export(self, path: str | os.PathLike, *, include_events: bool = False) -> Path:
        """Write the current labels (or the whole journal) to ``.csv`` or ``.parquet``.

        Returns
        -------
        Path
            The written file.
        """
        path = Path(path).expanduser()
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet", ".pq"):
            raise LabelStoreError(f"{path}: unknown export format {suffix or '(none)'!r} (use .csv or .parquet)")
        if not path.parent.is_dir():
            raise LabelStoreError(f"{path}: folder {path.parent} does not exist")
        frame = self.events() if include_events else self.current()
        try:
            if suffix == ".csv":
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)
        except OSError as exc:
            raise LabelStoreError(f"{path}: cannot write labels ({exc})") from exc
        return path

    def backup(self, dest_path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Copy the whole store to ``dest_path`` (consistent even while others write).

        The copy is a self-contained SQLite file that :class:`LabelStore` opens.
        """
        dest = Path(dest_path).expanduser()
        if dest.resolve() == self.path.resolve():
            raise LabelStoreError(f"{dest}: cannot back up a label store onto itself")
        if not dest.parent.is_dir():
            raise LabelStoreError(f"{dest}: folder {dest.parent} does not exist")
        if dest.exists():
            if not overwrite:
                raise LabelStoreError(f"{dest}: already exists (pass overwrite=True to replace it)")
            dest.unlink()
        self._db.backup(dest)
        return dest

    def import_labels(
        self,
        frame_or_path: pd.DataFrame | str | os.PathLike,
        *,
        source: str = "import",
        annotator: str = "import",
        id_column: str = "object_id",
        label_column: str = "label",
        split: str = "train",
        split_column: str | None = None,
        confidence_column: str | None = None,
        time_column: str | None = None,
        known_ids: Collection[Any] | None = None,
        event_id: Callable[[], str] | None = None,
    ) -> list[LabelEvent]:
        """Record labels from a table (CSV/Parquet file or DataFrame), all or nothing.

        Every row is checked (columns present, ids and labels not missing,
        classes known) before anything is written; on any error the store is
        unchanged and the message names the file and the column. ``event_id``
        makes each row's event id (default: a UUID); an id can say how the
        objects were chosen (``core.estimates.random_sample_event_id``).

        Returns
        -------
        list of LabelEvent
            The recorded events, one per row.
        """
        if isinstance(frame_or_path, pd.DataFrame):
            frame, name = frame_or_path, "DataFrame"
        else:
            path = Path(frame_or_path).expanduser()
            frame, name = _read_table(path), str(path)
        _choice(source, SOURCES, "source", f"{name}: ")
        wanted = {"object_id": id_column, "label": label_column, "split": split_column,
                  "confidence": confidence_column, "time": time_column}
        columns = [str(c) for c in frame.columns]
        for field, column in wanted.items():
            if column is not None and column not in frame.columns:
                raise LabelStoreError(
                    f"{name}: no column {column!r}{did_you_mean(column, columns)} "
                    f"(columns: {', '.join(columns)})"
                )
        for column in (id_column, label_column):
            empty = frame[column].isna().to_numpy().nonzero()[0]
            if len(empty):
                raise LabelStoreError(f"{name}: column {column!r} is empty in data row {empty[0] + 1}")
        if known_ids is not None:
            known = {_text(k) for k in known_ids}
            ids = frame[id_column].map(_text)
            stray = (~ids.isin(known)).to_numpy().nonzero()[0]
            if len(stray):
                raise LabelStoreError(
                    f"{name}: column {id_column!r} names {len(stray)} object(s) not in the data, "
                    f"first {ids.iloc[stray[0]]!r} in data row {stray[0] + 1}"
                )
        rows = pd.DataFrame({field: frame[column] for field, column in wanted.items() if column is not None})
        if event_id is not None:
            rows["event_id"] = [event_id() for _ in range(len(rows))]
        return self._record_rows(
            rows,
            defaults={"annotator": annotator, "source": source, "split": split, "kind": "label"},
            where=f"{name}: ",
        )


def _as_list(values: Iterable[str] | str) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def _resolve(live: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the precedence rules to the live label events (in write order).

    Returns the current-labels frame and the conflicts frame.
    """
    rank = live["source"].map(SOURCE_RANK)
    winners = (
        live.assign(_rank=rank.to_numpy())
        .sort_values(["_rank", "seq"], ascending=[True, False], kind="stable")
        .drop_duplicates("object_id", keep="first")
        .sort_values("seq", kind="stable")
    )
    # Each annotator's latest human label: a self-correction is not a conflict.
    human = live[live["source"] == "human"].drop_duplicates(["object_id", "annotator"], keep="last")
    n_labels = human.groupby("object_id")["label"].nunique()
    disputed = set(n_labels.index[n_labels > 1])
    current = winners.assign(conflict=winners["object_id"].isin(disputed).to_numpy())
    current = current.loc[:, list(CURRENT_COLUMNS)].reset_index(drop=True)
    conflicts = (
        human[human["object_id"].isin(disputed)]
        .sort_values(["object_id", "seq"], kind="stable")
        .loc[:, ["object_id", "annotator", "label", "event_id", "time"]]
        .reset_index(drop=True)
    )
    return current, conflicts
