"""Confirm events (a person kept a label) and the schema migration from version 1."""
from __future__ import annotations

import sqlite3

import pytest

from alabel.core.errors import LabelStoreError
from alabel.core.labels import SCHEMA_VERSION, LabelStore


@pytest.fixture
def store(store_factory):
    """One store per test, on each backend (see conftest.py)."""
    return store_factory("labels", classes=("a", "b"))


def test_a_confirm_is_a_journal_event_that_hides_nothing(store):
    label = store.record(1, "a", annotator="cat", source="catalogue")
    before = store.current()
    confirm = store.confirm(label.event_id, annotator="ana")
    assert (confirm.kind, confirm.object_id, confirm.target_event_id, confirm.label) == (
        "confirm", "1", label.event_id, None)
    assert store.confirmed() == {"1": label.event_id}
    assert store.current().equals(before), "the label in force is unchanged"
    assert store.labelled_ids() == {"1"}
    assert store.history(1)["kind"].tolist() == ["label", "confirm"]
    assert not store.history(1)["retracted"].any()


def test_a_confirm_can_be_withdrawn_and_is_not_undone_by_backspace(store):
    label = store.record(1, "a", annotator="ana")
    confirm = store.confirm(label.event_id, annotator="ana")
    assert store.undo("ana") == label, "undo walks labels, not review decisions"
    store.record(1, "b", annotator="ana")
    relabel = store.current().iloc[0]["event_id"]
    again = store.confirm(relabel, annotator="ana")
    store.retract(again.event_id, annotator="ana")
    assert store.confirmed() == {"1": confirm.target_event_id}
    assert store.current().iloc[0]["label"] == "b"


def test_confirm_refuses_what_is_not_a_label_in_force(store):
    skip = store.record(1, None, kind="skip")
    with pytest.raises(LabelStoreError, match="is a 'skip', not a label"):
        store.confirm(skip.event_id, annotator="ana")
    gone = store.record(2, "a")
    store.retract(gone.event_id, annotator="ana")
    with pytest.raises(LabelStoreError, match="already retracted"):
        store.confirm(gone.event_id, annotator="ana")
    with pytest.raises(LabelStoreError, match="confirm: no event 'nope'"):
        store.confirm("nope", annotator="ana")
    with pytest.raises(LabelStoreError, match="target_event_id of a 'confirm' event"):
        store.record(1, None, kind="confirm")
    assert store.confirmed() == {}


def test_confirmations_survive_reopening(store_url):
    path = store_url("labels")
    with LabelStore.open(path) as first:
        label = first.record("x", "a")
        first.confirm(label.event_id, annotator="ana", event_id="keep-1")
    with LabelStore.open(path) as again:
        assert again.confirmed() == {"x": label.event_id}
        assert again.confirm(label.event_id, annotator="ana", event_id="keep-1").seq == 2  # idempotent


# ------------------------------------------------------------------ schema 1 -> 2

V1 = (
    "CREATE TABLE alabel_schema (version INTEGER PRIMARY KEY, applied REAL NOT NULL)",
    """CREATE TABLE label_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, object_id TEXT NOT NULL,
        label TEXT, kind TEXT NOT NULL CHECK (kind IN ('label', 'skip', 'unsure', 'retract')),
        source TEXT NOT NULL CHECK (source IN ('human', 'catalogue', 'import', 'pseudo')),
        annotator TEXT NOT NULL, split TEXT NOT NULL CHECK (split IN ('train', 'test')),
        event_time REAL NOT NULL, model_version INTEGER, confidence REAL, target_event_id TEXT,
        CHECK ((kind = 'label') = (label IS NOT NULL)),
        CHECK ((kind = 'retract') = (target_event_id IS NOT NULL)))""",
    "CREATE INDEX label_events_by_object ON label_events (object_id)",
    "CREATE INDEX label_events_by_target ON label_events (target_event_id)",
    "CREATE INDEX label_events_by_annotator ON label_events (annotator, seq)",
    """CREATE TRIGGER label_events_no_update BEFORE UPDATE ON label_events
        BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END""",
    """CREATE TRIGGER label_events_no_delete BEFORE DELETE ON label_events
        BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END""",
    "CREATE TABLE label_leases (object_id TEXT PRIMARY KEY, annotator TEXT NOT NULL, expires REAL NOT NULL)",
    "INSERT INTO alabel_schema VALUES (1, 0)",
    "PRAGMA user_version = 1",
    "INSERT INTO label_events VALUES (1, 'e1', '7', 'a', 'label', 'human', 'ana', 'train', 10, 3, NULL, NULL)",
    "INSERT INTO label_events VALUES (2, 'e2', '8', 'b', 'label', 'pseudo', 'model', 'train', 11, 3, 0.9, NULL)",
    "INSERT INTO label_events VALUES (3, 'e3', '7', NULL, 'retract', 'human', 'ana', 'train', 12, NULL, NULL, 'e1')",
    "INSERT INTO label_events VALUES (4, 'e4', '7', 'b', 'label', 'human', 'bob', 'test', 13, NULL, NULL, NULL)",
    "INSERT INTO label_leases VALUES ('9', 'ana', 1e12)",
)


def test_a_version_1_store_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for statement in V1:
            conn.execute(statement)
    conn.close()
    with LabelStore(path) as store:
        journal = store.events()
        assert journal["event_id"].tolist() == ["e1", "e2", "e3", "e4"]
        assert journal["seq"].tolist() == [1, 2, 3, 4] and journal["retracted"].tolist() == [True, False, False, False]
        assert store.current()[["object_id", "label", "split"]].values.tolist() == [["8", "b", "train"],
                                                                                     ["7", "b", "test"]]
        assert store.leased_by_others("bob") == {"9"}
        assert store.record(10, "a").seq == 5, "the journal goes on after its last position"
        store.confirm("e4", annotator="ana")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [v for (v,) in conn.execute("SELECT version FROM alabel_schema ORDER BY version")] == [1, 2]
        for statement in ("UPDATE label_events SET label = 'a'", "DELETE FROM label_events"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
    conn.close()
    with LabelStore(path) as again:
        assert len(again.events()) == 6
