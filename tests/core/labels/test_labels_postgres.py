"""What only a PostgreSQL store has: URLs and passwords, a server that goes away, a team of servers.

The contract shared with SQLite is tested on both backends by the other
modules of this folder; everything here runs against the real throwaway
cluster of ``conftest.pg_cluster``.
"""
from __future__ import annotations

import sys
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml

from alabel.core.errors import LabelStoreError
from alabel.core.labels import SCHEMA_VERSION, LabelStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from session_fixtures import config_dict, write_table  # noqa: E402

SECRET = "s3cret-Pa55"


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and SECRET not in message, message
    return message


# ------------------------------------------------------------------ URLs


@pytest.mark.parametrize("url, expected", [
    (f"postgresql://alice:{SECRET}@/labels?host=/nonexistent-alabel&port=1", "cannot connect"),
    (f"postgres://alice:{SECRET}@/labels?host=/nonexistent-alabel&port=1", "cannot connect"),
    (f"postgresql://alice:{SECRET}@db.example:notaport/labels", "not a valid PostgreSQL URL"),
    (f"postgresql://alice:{SECRET}@db.example/labels?colour=blue", "not a valid PostgreSQL URL"),
    (f"postgresql://alice:{SECRET}@[::1/labels", "not a valid PostgreSQL URL"),
    (f"postgresql://alice:{SECRET}@db.example", "names no database"),
    (f"postgresql:///labels?host=/nonexistent-alabel&password={SECRET}", "cannot connect"),
])
def test_bad_urls_are_one_line_without_the_password(url, expected):
    with pytest.raises(LabelStoreError) as excinfo:
        LabelStore.open(url)
    message = one_line(excinfo)
    assert expected in message and message.startswith("postgres"), message
    assert "alice" in message or "password" not in url.partition("?")[0]


def test_a_database_that_does_not_exist_is_named(pg_cluster):
    url = pg_cluster.url(database="no_such_db", password=SECRET)
    with pytest.raises(LabelStoreError) as excinfo:
        LabelStore.open(url)
    message = one_line(excinfo)
    assert "no_such_db" in message and "does not exist" in message


def test_tables_that_are_not_a_label_store_are_refused_and_left_alone(pg_cluster):
    schema = pg_cluster.new_schema("foreign")
    pg_cluster.sql(f"CREATE TABLE {schema}.galaxies (id INTEGER)")
    with pytest.raises(LabelStoreError) as excinfo:
        LabelStore.open(pg_cluster.url(schema))
    message = one_line(excinfo)
    assert "not an alabel label store" in message and "galaxies" in message
    tables = pg_cluster.sql("SELECT tablename FROM pg_tables WHERE schemaname = %s", params=(schema,))
    assert tables == [("galaxies",)]


def test_a_store_that_must_exist_is_not_created(pg_cluster):
    schema = pg_cluster.new_schema("empty")
    with pytest.raises(LabelStoreError, match="no label store here"):
        LabelStore.open(pg_cluster.url(schema), create=False)
    assert pg_cluster.sql("SELECT tablename FROM pg_tables WHERE schemaname = %s", params=(schema,)) == []
    LabelStore.open(pg_cluster.url(schema)).close()
    with LabelStore.open(pg_cluster.url(schema), create=False) as store:
        assert store.revision == 0


def test_a_missing_schema_is_named(pg_cluster):
    with pytest.raises(LabelStoreError, match="no schema to keep the labels in"):
        LabelStore.open(pg_cluster.url("nowhere_" + uuid.uuid4().hex[:8]))


def test_two_processes_creating_one_store_at_once(pg_cluster):
    url = pg_cluster.url(pg_cluster.new_schema("race"))
    errors, barrier = [], threading.Barrier(4)

    def open_it():
        try:
            barrier.wait()
            with LabelStore.open(url) as store:
                store.record(uuid.uuid4().hex, "a")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with LabelStore.open(url) as store:
        assert store.n_labels() == 4
    assert pg_cluster.sql(f"SELECT version FROM {url.rpartition('%3D')[2]}.alabel_schema") == [(SCHEMA_VERSION,)]


# ------------------------------------------------------------------ locks


def test_a_write_waits_for_the_writer_holding_the_lock_then_gives_up(pg_cluster):
    schema = pg_cluster.new_schema("lock")
    url = pg_cluster.url(schema)
    with LabelStore.open(url, busy_timeout_s=0.3) as store, psycopg.connect(url) as blocker:
        # Another writer inside its transaction holds the store's write lock.
        blocker.execute("SELECT pg_advisory_xact_lock(1634492770, hashtext(current_schema()))")
        with pytest.raises(LabelStoreError, match="stayed locked for 0.3 s") as excinfo:
            store.record(1, "x")
        assert schema in one_line(excinfo)
        done = threading.Event()
        slow = LabelStore.open(url, busy_timeout_s=30)
        worker = threading.Thread(target=lambda: (slow.record(2, "x"), done.set()))
        worker.start()
        assert not done.wait(0.3)  # still waiting for the lock ...
        blocker.rollback()
        worker.join(30)
        assert done.is_set() and store.n_labels() == 1  # ... and written once it is free
        slow.close()


# ------------------------------------------------------------------ the server goes away


def test_a_server_that_goes_away_is_one_line_and_loses_nothing_acknowledged(pg_cluster):
    url = pg_cluster.url(pg_cluster.new_schema("crash"), password=SECRET)
    store = LabelStore.open(url)
    acknowledged = [store.record(i, "a").event_id for i in range(20)]
    acknowledged += [e.event_id for e in store.record_many([(i, "b") for i in range(20, 40)])]
    store.lease(["held"], "ana", ttl_s=3600)
    pg_cluster.stop(mode="immediate")  # like a crash: no shutdown checkpoint
    try:
        for call in (lambda: store.record(99, "a"), store.current, lambda: store.lease(["x"], "bob")):
            with pytest.raises(LabelStoreError) as excinfo:
                call()
            message = one_line(excinfo)
            assert message.startswith(store._db.name), message  # the store, named without its password
            assert "cannot connect" in message or "connection" in message, message
    finally:
        pg_cluster.start()
    # The same store object carries on once the server is back.
    again = store.record(100, "b")
    events = store.events()
    assert set(acknowledged) <= set(events["event_id"]) and events["event_id"].is_unique
    assert again.event_id in set(events["event_id"])
    assert store.leased_by_others("bob") == {"held"}
    store.close()


def test_a_lost_connection_is_replaced_or_one_line(pg_cluster):
    url = pg_cluster.url(pg_cluster.new_schema("lost"), password=SECRET)
    store = LabelStore.open(url)
    first = store.record(1, "a")
    # The server ends every connection of the store (an admin, a failover, a network cut).
    pg_cluster.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE application_name = 'alabel' AND pid <> pg_backend_pid()")
    second = store.record(2, "a")  # a fresh connection, transparently
    assert store.events()["event_id"].tolist() == [first.event_id, second.event_id]

    def cut_every_time(journal):
        journal.conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(LabelStoreError) as excinfo:
        store._db.write(cut_every_time)
    message = one_line(excinfo)
    assert "lost the connection" in message and message.startswith(store._db.name)
    assert store.n_labels() == 2
    store.close()


def test_a_connection_lost_while_committing_is_not_retried(pg_cluster):
    """Whether a COMMIT whose answer never came landed is unknown: say so, never write twice."""
    url = pg_cluster.url(pg_cluster.new_schema("commit"))
    store = LabelStore.open(url)
    backend = store._db
    real = backend.connection

    class CutAtCommit:
        """The real connection, except that the answer to COMMIT is lost after it landed."""

        def __init__(self, conn):
            self._conn = conn

        def __getattr__(self, attr):
            return getattr(self._conn, attr)

        def execute(self, statement, *args, **kwargs):
            result = self._conn.execute(statement, *args, **kwargs)
            if statement == "COMMIT":
                self._conn.close()
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            return result

    backend.connection = lambda: CutAtCommit(real())
    with pytest.raises(LabelStoreError, match="may or may not be recorded") as excinfo:
        store.record(1, "a", event_id="click-1")
    assert "\n" not in str(excinfo.value)
    backend.connection = real
    # The caller repeats the click with the same event id: applied once.
    assert store.record(1, "a", event_id="click-1").seq == 1
    assert len(store.events()) == 1
    store.close()


# ------------------------------------------------------------------ a team on one store


def _session(folder: Path, url: str, annotator: str):
    from alabel.core.config import SessionConfig
    from alabel.core.session import Session

    folder.mkdir()
    write_table(folder, n=120)
    cfg = config_dict(labels={"store": url, "models": "models"})
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return Session(SessionConfig.load(folder / "config.yaml"), annotator=annotator, background=False,
                   process_leases=True)


def test_two_sessions_on_one_store_share_labels_and_leases(tmp_path, pg_cluster):
    url = pg_cluster.url(pg_cluster.new_schema("team"), password=SECRET)
    ana = _session(tmp_path / "server-a", url, "ana")
    bob = _session(tmp_path / "server-b", url, "bob")
    try:
        served_a = {item.object_id for item in ana.query(10)}
        served_b = {item.object_id for item in bob.query(10)}
        assert len(served_a) == len(served_b) == 10
        assert served_a.isdisjoint(served_b), "a lease of one server holds on the other"
        first = sorted(served_a)[0]
        ana.teach(first, "a")
        snapshot = bob.label_snapshot()
        assert snapshot.revision == ana.labels_revision == 1
        assert snapshot.labels.set_index("object_id").loc[first, "label"] == "a"
        ana.release(served_a - {first})
        later = {item.object_id for item in bob.query(40)}
        assert first not in later and (served_a - {first}) & later, "released objects are servable again"
        assert ana.config.store_name.startswith("postgresql://alabel@") and SECRET not in ana.config.store_name
    finally:
        ana.close()
        bob.close()


def test_a_config_names_a_postgresql_store_by_url(tmp_path, pg_cluster):
    from alabel.core.config import SessionConfig

    url = pg_cluster.url(pg_cluster.new_schema("config"), password=SECRET)
    write_table(tmp_path, n=30)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config_dict(labels={"store": url}), sort_keys=False))
    config = SessionConfig.load(tmp_path / "config.yaml")
    assert config.store_is_url and config.to_dict()["labels"]["store"] == url  # not made a path
    assert SECRET not in config.store_name and config.store_name.startswith("postgresql://alabel@/")
    with pytest.raises(LabelStoreError, match="no label store here") as excinfo:
        config.open_store(create=False)  # commands that only read never create a store
    one_line(excinfo)
    with config.open_store(create=True) as store:
        store.record(1, "a")
    with config.open_store() as store:
        assert store.n_labels() == 1


# ------------------------------------------------------------------ the fixture itself

PROBE = """
def test_probe(pg_cluster):
    pass
"""


@pytest.mark.parametrize("ci, outcome", [("true", "1 error"), ("", "1 skipped")])
def test_without_postgresql_the_tests_fail_in_ci_and_skip_elsewhere(tmp_path, ci, outcome):
    import os
    import subprocess

    here = Path(__file__).parent
    probe = here / f"test_zz_probe_{uuid.uuid4().hex[:8]}.py"  # beside conftest.py, so it uses it
    probe.write_text(PROBE)
    try:
        env = {**os.environ, "CI": ci, "ALABEL_TEST_PG_BIN": str(tmp_path)}  # a folder without initdb
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(probe)],
                              capture_output=True, text=True, env=env, timeout=300, cwd=here)
    finally:
        probe.unlink()
    assert outcome in done.stdout, done.stdout
    assert "PostgreSQL is not installed" in done.stdout and "apt-get install -y postgresql" in done.stdout


def test_threads_that_end_leave_no_connection_behind(pg_cluster):
    """Each connection is a server process: a server's short-lived threads must not pile them up."""
    schema = pg_cluster.new_schema("threads")
    count = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'alabel'"
    before = pg_cluster.sql(count)[0][0]
    store = LabelStore.open(pg_cluster.url(schema))
    for i in range(12):
        worker = threading.Thread(target=store.record, args=(i, "a"))
        worker.start()
        worker.join()
    store.record(99, "a")
    assert pg_cluster.sql(count)[0][0] - before <= 2  # this thread's and the last worker's
    assert store.n_labels() == 13
    store.close()
