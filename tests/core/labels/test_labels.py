"""Rules of the label store: journal, precedence, undo, skips, leases, files."""
from __future__ import annotations

import sqlite3
import threading
import uuid

import pandas as pd
import pytest

from alabel.core.errors import LabelStoreError
from alabel.core.labels import (
    CURRENT_COLUMNS, EVENT_COLUMNS, SCHEMA_VERSION, LabelEvent, LabelStore, PseudoUpdate,
)

CLASSES = ("RRLyr", "Cep", "LPV")


class FakeClock:
    """A clock the test moves by hand, so lease expiry needs no sleeping."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(store_factory, clock):
    """The store of one test, on each backend (see conftest.py)."""
    return store_factory("labels", classes=CLASSES, clock=clock)


def one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def winner(store: LabelStore, object_id) -> dict:
    rows = store.current()
    rows = rows[rows["object_id"] == str(object_id)]
    assert len(rows) == 1, f"object {object_id} has {len(rows)} current rows"
    return rows.iloc[0].to_dict()


# ------------------------------------------------------------------ opening


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_new_store_uses_wal_full_sync_and_versioned_schema(tmp_path, store):
    assert store._db.connection().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with sqlite3.connect(tmp_path / "labels.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT version FROM alabel_schema").fetchall() == [(SCHEMA_VERSION,)]


def test_new_store_records_its_schema_version(store_url, store, raw):
    assert raw(store_url("labels"), "SELECT version FROM alabel_schema") == [(SCHEMA_VERSION,)]


def test_journal_rows_cannot_be_edited_or_deleted(store_url, store, raw):
    store.record(1, "Cep")
    statements = ["UPDATE label_events SET label = 'LPV'", "DELETE FROM label_events"]
    if "://" in store_url("labels"):
        statements.append("TRUNCATE label_events")  # PostgreSQL only: SQLite has no TRUNCATE
    for statement in statements:
        with pytest.raises(Exception, match="append-only"):
            raw(store_url("labels"), statement)
    assert store.current()["label"].tolist() == ["Cep"]


def test_reopened_store_keeps_its_labels(store_url):
    with LabelStore.open(store_url("l")) as first:
        event = first.record(5, "x")
    with LabelStore.open(store_url("l")) as again:
        assert again.current()[["object_id", "label", "event_id"]].values.tolist() == [["5", "x", event.event_id]]


def test_missing_folder_is_named(tmp_path):
    path = tmp_path / "nowhere" / "labels.db"
    with pytest.raises(LabelStoreError) as excinfo:
        LabelStore(path)
    assert str(tmp_path / "nowhere") in one_line_error(excinfo)
    assert not path.parent.exists()


def test_foreign_sqlite_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE galaxies (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(LabelStoreError) as excinfo:
        LabelStore(path)
    message = one_line_error(excinfo)
    assert str(path) in message and "not an alabel label store" in message and "galaxies" in message
    assert path.read_bytes() == before  # not switched to WAL, nothing created


@pytest.mark.parametrize("content", [b"object_id,label\n1,a\n", b"\x00garbage" * 100])
def test_file_that_is_not_a_database_is_refused(tmp_path, content):
    path = tmp_path / "labels.db"
    path.write_bytes(content)
    with pytest.raises(LabelStoreError) as excinfo:
        LabelStore(path)
    assert str(path) in one_line_error(excinfo)
    assert path.read_bytes() == content


def test_store_from_a_newer_alabel_is_refused(store_url, raw):
    url = store_url("labels")
    LabelStore.open(url).close()
    raw(url, "INSERT INTO alabel_schema VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    if "://" not in url:
        raw(url, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LabelStoreError, match="newer alabel") as excinfo:
        LabelStore.open(url)
    assert url in one_line_error(excinfo)


def test_store_with_mismatched_version_stamps_is_damaged(tmp_path):
    path = tmp_path / "labels.db"
    LabelStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 0")
    with pytest.raises(LabelStoreError, match="damaged"):
        LabelStore(path)


def test_open_accepts_sqlite_urls(tmp_path):
    with LabelStore.open(f"sqlite:///{tmp_path}/u.db") as s:
        s.record(1, "a")
    assert (tmp_path / "u.db").exists()


@pytest.mark.parametrize(
    "url, expected",
    [("mysql://bob:s3cret@db/labels", "unknown label store URL scheme 'mysql'")],
)
def test_open_refuses_other_urls_without_leaking_passwords(url, expected):
    with pytest.raises(LabelStoreError) as excinfo:
        LabelStore.open(url)
    message = one_line_error(excinfo)
    assert expected in message and "db" in message and "s3cret" not in message


# ------------------------------------------------------------------ recording


def test_record_returns_the_stored_event(store, clock):
    event = store.record(42, "Cep", annotator="ana", model_version=3)
    assert isinstance(event, LabelEvent)
    assert (event.object_id, event.label, event.kind, event.source, event.annotator, event.split) == (
        "42", "Cep", "label", "human", "ana", "train")
    assert event.time == clock.now and event.model_version == 3 and event.seq == 1
    assert uuid.UUID(event.event_id)
    assert event.time_iso.startswith("2023-11-14T22:13:20")
    with pytest.raises(AttributeError):
        event.label = "LPV"  # frozen


def test_int_and_str_ids_are_the_same_object(store):
    store.record(7, "Cep", annotator="a")
    store.record("7", "LPV", annotator="a")
    assert store.current()["object_id"].tolist() == ["7"]
    assert winner(store, 7)["label"] == "LPV"


def test_repeated_event_id_is_applied_once(store):
    first = store.record(1, "Cep", event_id="e-1")
    again = store.record(1, "Cep", event_id="e-1")
    assert again == first
    assert len(store.events()) == 1 and store.revision == 1


def test_same_event_id_with_other_content_is_refused(store):
    store.record(1, "Cep", event_id="e-1")
    with pytest.raises(LabelStoreError) as excinfo:
        store.record(1, "LPV", event_id="e-1")
    message = one_line_error(excinfo)
    assert "'e-1'" in message and "label 'Cep' vs 'LPV'" in message
    assert len(store.events()) == 1


def test_unknown_class_is_refused_with_the_valid_ones(store):
    with pytest.raises(LabelStoreError) as excinfo:
        store.record(1, "RRlyr")
    message = one_line_error(excinfo)
    assert "'RRlyr'" in message and "did you mean 'RRLyr'" in message and "RRLyr, Cep, LPV" in message
    assert store.revision == 0


def test_set_classes_changes_what_is_accepted(store):
    store.set_classes(["RRLyr", "Cep", "LPV", "DSCT"])
    store.record(1, "DSCT")
    store.set_classes(None)
    store.record(2, "anything")
    with pytest.raises(LabelStoreError, match="repeat Cep"):
        store.set_classes(["Cep", "Cep"])
    with pytest.raises(LabelStoreError, match="must not be empty"):
        store.set_classes([])
    assert store.n_labels() == 2


def test_integer_classes_are_compared_as_text(store_factory):
    with store_factory("d", classes=range(10)) as digits:
        assert digits.record(0, 7).label == "7"
        with pytest.raises(LabelStoreError, match="unknown class '12'"):
            digits.record(1, 12)


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(split="val"), "split 'val'"),
        (dict(source="humna"), "did you mean 'human'"),
        (dict(kind="lable"), "did you mean 'label'"),
        (dict(confidence=1.5), "confidence"),
        (dict(confidence="high"), "confidence"),
        (dict(model_version="v2"), "model_version"),
        (dict(model_version=True), "model_version"),
        (dict(annotator=""), "annotator"),
        (dict(event_id=""), "event_id"),
        (dict(time="yesterday"), "time"),
        (dict(target_event_id="e-0"), "target_event_id"),
        (dict(kind="skip"), "carries no class label"),
        (dict(kind="retract"), "carries no class label"),
    ],
)
def test_bad_record_arguments_are_refused(store, kwargs, key):
    with pytest.raises(LabelStoreError) as excinfo:
        store.record(1, "Cep", **kwargs)
    assert key in one_line_error(excinfo)
    assert store.revision == 0


@pytest.mark.parametrize("object_id", [None, float("nan"), ""])
def test_missing_object_id_is_refused(store, object_id):
    with pytest.raises(LabelStoreError, match="object_id"):
        store.record(object_id, "Cep")


def test_label_needs_a_class(store):
    with pytest.raises(LabelStoreError, match="needs a class label"):
        store.record(1, None)


def test_times_are_stored_as_utc_unix_seconds(store):
    iso = store.record(1, "Cep", time="2024-06-01T12:00:00+02:00")
    naive = store.record(2, "Cep", time="2024-06-01T10:00:00")
    unix = store.record(3, "Cep", time=1717236000)
    assert iso.time == naive.time == unix.time == 1717236000.0
    assert naive.time_iso == "2024-06-01T10:00:00+00:00"


# ------------------------------------------------------------------ precedence

H, C, I, P = "human", "catalogue", "import", "pseudo"


@pytest.mark.parametrize(
    "events, expected",
    [
        ([(P, "Cep", "m"), (H, "LPV", "a")], ("LPV", H, False)),
        ([(H, "LPV", "a"), (P, "Cep", "m")], ("LPV", H, False)),  # a later pseudo-label never hides a human one
        ([(C, "Cep", "cat"), (P, "LPV", "m")], ("Cep", C, False)),
        ([(P, "LPV", "m"), (C, "Cep", "cat")], ("Cep", C, False)),
        ([(H, "RRLyr", "a"), (C, "Cep", "cat")], ("RRLyr", H, False)),
        ([(C, "Cep", "cat"), (H, "RRLyr", "a")], ("RRLyr", H, False)),
        ([(I, "RRLyr", "imp"), (H, "Cep", "a"), (I, "LPV", "imp")], ("Cep", H, False)),
        ([(C, "Cep", "cat"), (I, "LPV", "imp")], ("LPV", I, False)),  # same rank: latest wins
        ([(I, "LPV", "imp"), (C, "Cep", "cat")], ("Cep", C, False)),
        ([(P, "LPV", "m"), (P, "Cep", "m")], ("Cep", P, False)),
        ([(H, "Cep", "a"), (H, "LPV", "b")], ("LPV", H, True)),  # latest wins, conflict visible
        ([(H, "LPV", "b"), (H, "Cep", "a")], ("Cep", H, True)),
        ([(H, "Cep", "a"), (H, "LPV", "a")], ("LPV", H, False)),  # relabel by the same annotator
        ([(H, "Cep", "a"), (H, "LPV", "b"), (H, "LPV", "a")], ("LPV", H, False)),  # a came round: agreed
        ([(H, "Cep", "a"), (H, "Cep", "b")], ("Cep", H, False)),
        ([(H, "Cep", "a"), (H, "LPV", "b"), (P, "RRLyr", "m")], ("LPV", H, True)),
    ],
)
def test_precedence_table(store, events, expected):
    for source, label, annotator in events:
        store.record("obj", label, source=source, annotator=annotator,
                     confidence=0.9 if source == P else None)
    row = winner(store, "obj")
    assert (row["label"], row["source"], row["conflict"]) == expected


def test_current_has_the_documented_columns_and_one_row_per_object(store):
    store.record(1, "Cep", annotator="a")
    store.record(1, "LPV", annotator="b")
    store.record(2, "RRLyr", source="pseudo", confidence=0.75, model_version=4, annotator="model")
    store.record(3, "Cep", split="test", annotator="a")
    view = store.current()
    assert tuple(view.columns) == CURRENT_COLUMNS
    assert view["object_id"].tolist() == ["1", "2", "3"]
    pseudo = winner(store, 2)
    assert pseudo["confidence"] == 0.75 and pseudo["model_version"] == 4 and pseudo["annotator"] == "model"
    assert winner(store, 1)["annotator"] == "b"


def test_conflicts_list_each_annotators_latest_label(store):
    store.record(1, "Cep", annotator="a")
    store.record(1, "RRLyr", annotator="a")  # a corrected themself
    store.record(1, "LPV", annotator="b")
    store.record(2, "Cep", annotator="a")
    store.record(2, "Cep", annotator="b")  # agreement is no conflict
    conflicts = store.conflicts()
    assert conflicts[["object_id", "annotator", "label"]].values.tolist() == [
        ["1", "a", "RRLyr"], ["1", "b", "LPV"]]
    assert store.current()["conflict"].tolist() == [True, False]


def test_pseudo_labels_do_not_count_in_conflicts(store):
    store.record(1, "Cep", annotator="a")
    store.record(1, "LPV", source="pseudo", annotator="model")
    store.record(1, "RRLyr", source="catalogue", annotator="cat")
    assert store.conflicts().empty and not winner(store, 1)["conflict"]


def test_filters_select_after_precedence(store):
    store.record(1, "Cep", annotator="a")
    store.record(1, "LPV", source="pseudo", annotator="model")
    store.record(2, "LPV", source="pseudo", annotator="model")
    store.record(3, "RRLyr", source="catalogue", split="test")
    assert store.current(sources=["pseudo"])["object_id"].tolist() == ["2"]
    assert store.current(sources="human")["object_id"].tolist() == ["1"]
    assert store.current(split="test")["object_id"].tolist() == ["3"]
    assert store.current(split="train", sources=("human", "pseudo"))["object_id"].tolist() == ["1", "2"]
    with pytest.raises(LabelStoreError, match="split 'valid'"):
        store.current(split="valid")
    with pytest.raises(LabelStoreError, match="did you mean 'pseudo'"):
        store.current(sources=["psuedo"])


def test_empty_store_views(store):
    assert store.current().empty and tuple(store.current().columns) == CURRENT_COLUMNS
    assert store.conflicts().empty
    assert tuple(store.events().columns) == EVENT_COLUMNS
    assert store.revision == 0 and store.n_labels() == 0 and store.skipped() == set()
    assert store.counts().to_dict("index") == {c: {"train": 0, "test": 0} for c in CLASSES}


# ------------------------------------------------------------------ retract / undo


def test_retracted_events_are_ignored_but_kept(store):
    first = store.record(1, "Cep", annotator="a")
    store.record(1, "LPV", annotator="b")
    retracted = store.retract(first.event_id, annotator="reviewer")
    assert retracted == first
    assert not winner(store, 1)["conflict"]  # a's label no longer counts
    journal = store.events()
    assert len(journal) == 3
    assert journal["retracted"].tolist() == [True, False, False]
    assert journal.iloc[2]["kind"] == "retract" and journal.iloc[2]["target_event_id"] == first.event_id


def test_retract_refuses_unknown_repeated_and_retract_targets(store):
    event = store.record(1, "Cep")
    with pytest.raises(LabelStoreError, match="no event 'nope'"):
        store.retract("nope", annotator="a")
    with pytest.raises(LabelStoreError, match="target_event_id of a 'retract' event"):
        store.record(1, None, kind="retract")
    store.retract(event.event_id, annotator="a", event_id="r-1")
    assert store.retract(event.event_id, annotator="a", event_id="r-1") == event  # idempotent retry
    with pytest.raises(LabelStoreError, match="already retracted"):
        store.retract(event.event_id, annotator="a")
    with pytest.raises(LabelStoreError, match="itself a retract"):
        store.retract("r-1", annotator="a")
    with pytest.raises(LabelStoreError, match="about object '1', not '2'"):
        store.record(2, None, kind="retract", target_event_id=store.record(1, "LPV").event_id)
    assert len(store.events()) == 3


def test_undo_retracts_only_the_annotators_own_latest_event(store):
    a1 = store.record(1, "Cep", annotator="a")
    a2 = store.record(1, "LPV", annotator="a")  # relabel
    b1 = store.record(2, "RRLyr", annotator="b")
    assert store.undo("a") == a2
    assert winner(store, 1)["label"] == "Cep"  # the relabel is undone, the first label is back
    assert winner(store, 2)["event_id"] == b1.event_id
    assert store.undo("a") == a1
    assert store.current()["object_id"].tolist() == ["2"]
    assert store.undo("a") is None
    assert store.undo("nobody") is None
    assert store.current()["object_id"].tolist() == ["2"]
    journal = store.events()
    assert len(journal) == 5  # nothing deleted: 3 labels + 2 retracts
    assert set(journal.loc[journal["retracted"], "event_id"]) == {a1.event_id, a2.event_id}


def test_undo_of_a_skip_makes_the_object_servable_again(store):
    store.record(1, None, kind="skip", annotator="a")
    assert store.skipped("a") == {"1"}
    assert store.undo("a").kind == "skip"
    assert store.skipped() == set()


# ------------------------------------------------------------------ skip / unsure


def test_skip_after_a_label_does_not_erase_it(store):
    store.record(1, "Cep", annotator="a")
    store.record(1, None, kind="skip", annotator="a")
    store.record(2, None, kind="unsure", annotator="b")
    assert winner(store, 1)["label"] == "Cep"
    assert store.current()["object_id"].tolist() == ["1"]
    assert store.skipped() == {"1", "2"}
    assert store.skipped("a") == {"1"} and store.skipped("b") == {"2"} and store.skipped("c") == set()


# ------------------------------------------------------------------ bulk writes


def test_record_many_writes_all_rows_in_one_transaction(store):
    events = store.record_many(
        [{"object_id": 1, "label": "Cep"}, (2, "LPV"), {"object_id": 3, "label": "RRLyr", "split": "test"}],
        annotator="lasso",
    )
    assert [e.seq for e in events] == [1, 2, 3]
    assert store.current()[["object_id", "annotator", "split"]].values.tolist() == [
        ["1", "lasso", "train"], ["2", "lasso", "train"], ["3", "lasso", "test"]]


def test_record_many_is_all_or_nothing(store):
    store.record(0, "Cep")
    rows = [{"object_id": i, "label": "Cep"} for i in range(1, 5)] + [{"object_id": 9, "label": "Nova"}]
    with pytest.raises(LabelStoreError) as excinfo:
        store.record_many(rows)
    assert "row 5" in one_line_error(excinfo) and "'Nova'" in str(excinfo.value)
    assert store.revision == 1 and store.current()["object_id"].tolist() == ["0"]


def test_record_many_refuses_unknown_fields(store):
    with pytest.raises(LabelStoreError, match="row 1: unknown field 'labl' \\(did you mean 'label'"):
        store.record_many([{"object_id": 1, "labl": "Cep"}])
    with pytest.raises(LabelStoreError, match="row 1: expected a mapping"):
        store.record_many(["Cep"])


def test_record_many_dedupes_event_ids_and_accepts_frames(store):
    frame = pd.DataFrame({"object_id": [1, 2, 2], "label": ["Cep", "LPV", "LPV"],
                          "event_id": ["e1", "e2", "e2"], "confidence": [None, 0.5, 0.5]})
    first = store.record_many(frame, source="pseudo", model_version=2)
    assert first[1] == first[2] and len(store.events()) == 2
    assert store.record_many(frame, source="pseudo", model_version=2) == first
    assert len(store.events()) == 2
    assert first[1].confidence == 0.5 and first[0].confidence is None and first[0].model_version == 2


def test_record_many_handles_thousands_of_pseudo_labels(store):
    rows = [{"object_id": i, "label": CLASSES[i % 3], "confidence": 0.5} for i in range(5000)]
    events = store.record_many(rows, source="pseudo", annotator="model", model_version=1)
    assert len(events) == 5000 and store.revision == 5000
    assert store.n_labels(sources=["pseudo"]) == 5000 and store.record_many([]) == []


def test_replace_pseudo_keeps_confirmed_and_retracts_the_rest(store):
    store.record(9, "Cep", annotator="a")
    first = store.replace_pseudo({1: ("Cep", 0.9), 2: ("LPV", 0.8), 3: ("RRLyr", 0.7), 9: ("LPV", 0.6)}, 1)
    assert first == PseudoUpdate(added=4, retracted=0, kept=0, revision=5)
    second = store.replace_pseudo({1: ("Cep", 0.95), 2: ("RRLyr", 0.6), 4: "LPV"}, 2)
    assert (second.added, second.retracted, second.kept) == (2, 3, 1)  # 2 changed, 3 and 9 dropped
    pseudo = store.current(sources=["pseudo"]).set_index("object_id")
    assert pseudo["label"].to_dict() == {"1": "Cep", "2": "RRLyr", "4": "LPV"}
    assert pseudo["model_version"].to_dict() == {"1": 1, "2": 2, "4": 2}
    assert pd.isna(pseudo.loc["4", "confidence"])
    assert winner(store, 9)["source"] == "human"
    unchanged = store.revision
    again = store.replace_pseudo({1: ("Cep", 0.9), 2: ("RRLyr", 0.6), 4: ("LPV", None)}, 3)
    assert (again.added, again.retracted, again.kept, again.revision) == (0, 0, 3, unchanged)


def test_replace_pseudo_validates_before_writing(store):
    store.replace_pseudo({1: ("Cep", 0.9)}, 1)
    revision = store.revision
    with pytest.raises(LabelStoreError, match="unknown class 'Nova'"):
        store.replace_pseudo({2: ("LPV", 0.5), 3: ("Nova", 0.5)}, 2)
    with pytest.raises(LabelStoreError, match="confidence"):
        store.replace_pseudo({2: ("LPV", 7)}, 2)
    with pytest.raises(LabelStoreError, match="model_version is required"):
        store.replace_pseudo({2: ("LPV", 0.5)}, None)
    assert store.revision == revision


# ------------------------------------------------------------------ revision, history, stats


def test_revision_moves_with_every_write_from_any_handle(store_url, store):
    seen = [store.revision]
    store.record(1, "Cep")
    seen.append(store.revision)
    store.lease([5], "a")  # leases are not label events
    store.current()
    seen.append(store.revision)
    with LabelStore.open(store_url("labels")) as other:
        other.record(2, "LPV")
    seen.append(store.revision)
    store.undo("anonymous")
    seen.append(store.revision)
    assert seen == [0, 1, 1, 2, 3]
    assert store.current()["object_id"].tolist() == ["1"]  # the cached view saw the other handle's write


def test_history_of_one_object(store):
    store.record(1, "Cep", annotator="a")
    store.record(2, "Cep", annotator="a")
    store.record(1, None, kind="unsure", annotator="b")
    assert store.history(1)["kind"].tolist() == ["label", "unsure"]


def test_counts_and_n_labels(store):
    store.record_many([(1, "Cep"), (2, "Cep"), (3, "LPV")])
    store.record(4, "Cep", split="test")
    store.record(5, "RRLyr", source="pseudo", annotator="model")
    store.record(6, "LPV", source="catalogue")
    counts = store.counts()
    assert list(counts.index) == list(CLASSES) and list(counts.columns) == ["train", "test"]
    assert counts.to_dict("index") == {"RRLyr": {"train": 1, "test": 0}, "Cep": {"train": 2, "test": 1},
                                       "LPV": {"train": 2, "test": 0}}
    assert store.counts(sources=["human"]).loc["LPV", "train"] == 1
    assert store.n_labels() == 4
    assert store.n_labels(split="test") == 1
    assert store.n_labels(split=None, sources=None) == 6


# ------------------------------------------------------------------ leases


def test_leases_grant_only_free_objects(store):
    assert store.lease([1, 2, 3], "a") == ["1", "2", "3"]
    assert store.lease([3, 2, 4], "b") == ["4"]
    assert store.leased_by_others("b") == {"1", "2", "3"}
    assert store.leased_by_others("a") == {"4"}
    assert store.lease(2, "a") == ["2"]  # own lease: extended, still granted


def test_leases_expire_and_renewal_extends_them(store, clock):
    store.lease([1, 2], "a", ttl_s=60)
    clock.advance(50)
    store.lease([1], "a", ttl_s=60)  # renew 1 only
    clock.advance(20)  # 2 has expired, 1 has 40 s left
    assert store.leased_by_others("b") == {"1"}
    assert store.lease([1, 2], "b", ttl_s=60) == ["2"]
    clock.advance(41)
    assert store.lease([1], "b") == ["1"]
    assert store.leased_by_others("b") == set()


def test_release_and_recording_end_own_leases_only(store):
    store.lease([1, 2, 3], "a")
    store.release([1], "b")  # not b's lease: nothing happens
    assert store.lease([1], "b") == []
    store.release([1], "a")
    store.record(2, "Cep", annotator="a")  # answering the query ends a's lease
    store.record(3, "Cep", annotator="b")  # b labelling does not end a's lease
    assert store.lease([1, 2, 3], "b") == ["1", "2"]


def _count_writes(store) -> list[bool]:
    """Record the ``durable`` flag of every write transaction the store makes from now on."""
    writes: list[bool] = []
    write = store._db.write

    def counting(work, *, durable=True):
        writes.append(durable)
        return write(work, durable=durable)

    store._db.write = counting
    return writes


def test_a_lease_keeps_only_what_the_caller_keeps_in_one_write_without_fsync(store):
    store.lease([3], "a")  # a's own earlier lease on an object this call will not keep
    store.lease([2], "b")
    writes = _count_writes(store)
    offered: list[list[str]] = []

    def keep(grantable):
        offered.append(grantable)
        return grantable[:1]

    assert store.lease([1, 2, 3, 4], "a", keep=keep) == ["1"]
    assert offered == [["1", "3", "4"]]  # b's object is never offered
    assert writes == [False]  # one transaction, not fsynced: no release write after it
    # 4 was never held; a's earlier lease on 3 stays (a tab may have 3 queued: dropping it let
    # another annotator be served the same object, seen in the two-annotator browser test).
    assert store.leased_by_others("b") == {"1", "3"}
    assert store.lease([3, 4], "b") == ["4"]
    store.release([1], "a")
    assert writes[-2:] == [False, False]


def test_bad_lease_arguments(store):
    with pytest.raises(LabelStoreError, match="ttl_s"):
        store.lease([1], "a", ttl_s=0)
    with pytest.raises(LabelStoreError, match="annotator"):
        store.lease([1], "")
    assert store.lease([], "a") == []


# ------------------------------------------------------------------ files


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_import_round_trip(tmp_path, store, store_factory, suffix):
    store.record("007", "Cep", annotator="a")
    store.record(8, "LPV", annotator="a", split="test")
    store.record(9, "RRLyr", source="pseudo", annotator="model", confidence=0.5)
    out = store.export(tmp_path / f"labels{suffix}")
    with store_factory("copy", classes=CLASSES) as copy:
        events = copy.import_labels(out, annotator="bob", split_column="split", confidence_column="confidence")
        assert len(events) == 3 and {e.source for e in events} == {"import"}
        imported = copy.current()
    assert imported[["object_id", "label", "split", "annotator"]].values.tolist() == [
        ["007", "Cep", "train", "bob"], ["8", "LPV", "test", "bob"], ["9", "RRLyr", "train", "bob"]]
    assert imported["confidence"].tolist()[2] == 0.5


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_of_the_journal(tmp_path, store, suffix):
    event = store.record(1, "Cep")
    store.undo("anonymous")
    journal = pd.read_csv(p) if (p := store.export(tmp_path / f"j{suffix}", include_events=True)).suffix == ".csv" \
        else pd.read_parquet(p)
    assert list(journal.columns) == list(EVENT_COLUMNS)
    assert journal["kind"].tolist() == ["label", "retract"] and journal["target_event_id"].iloc[1] == event.event_id


def test_export_refuses_unknown_formats_and_missing_folders(tmp_path, store):
    with pytest.raises(LabelStoreError) as excinfo:
        store.export(tmp_path / "labels.xlsx")
    assert str(tmp_path / "labels.xlsx") in one_line_error(excinfo) and ".csv" in str(excinfo.value)
    with pytest.raises(LabelStoreError, match="does not exist"):
        store.export(tmp_path / "no" / "labels.csv")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("labels.db")) == []


def test_import_a_dataframe_with_other_column_names(store):
    frame = pd.DataFrame({"id": [1, 2], "class": ["Cep", "LPV"]})
    store.import_labels(frame, source="catalogue", annotator="ogle", id_column="id", label_column="class")
    assert store.current()[["object_id", "source", "annotator"]].values.tolist() == [
        ["1", "catalogue", "ogle"], ["2", "catalogue", "ogle"]]


def write_table(path, frame):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(
    "frame, kwargs, expected",
    [
        (pd.DataFrame({"object_id": [1], "class": ["Cep"]}), {}, "no column 'label'"),
        (pd.DataFrame({"id": [1], "label": ["Cep"]}), {}, "no column 'object_id'"),
        (pd.DataFrame({"object_id": [1], "label": ["Cep"]}), {"split_column": "splt"}, "no column 'splt'"),
        (pd.DataFrame({"object_id": [1, 2], "label": ["Cep", "Nova"]}), {}, "unknown class 'Nova'"),
        (pd.DataFrame({"object_id": [1, None], "label": ["Cep", "LPV"]}), {},
         "column 'object_id' is empty in data row 2"),
        (pd.DataFrame({"object_id": [1, 2], "label": ["Cep", None]}), {}, "column 'label' is empty in data row 2"),
        (pd.DataFrame({"object_id": [1, 5], "label": ["Cep", "LPV"]}), {"known_ids": ["1", "2"]},
         "not in the data, first '5' in data row 2"),
        (pd.DataFrame({"object_id": [1], "label": ["Cep"], "s": ["dev"]}), {"split_column": "s"}, "split 'dev'"),
    ],
)
def test_bad_imports_leave_the_store_unchanged(tmp_path, store, suffix, frame, kwargs, expected):
    store.record(0, "Cep")
    path = write_table(tmp_path / f"in{suffix}", frame)
    with pytest.raises(LabelStoreError) as excinfo:
        store.import_labels(path, **kwargs)
    message = one_line_error(excinfo)
    assert str(path) in message and expected in message
    assert store.revision == 1


def test_import_refuses_missing_files_unknown_formats_and_sources(tmp_path, store):
    with pytest.raises(LabelStoreError, match="no such file") as excinfo:
        store.import_labels(tmp_path / "gone.csv")
    assert "gone.csv" in str(excinfo.value)
    (tmp_path / "labels.txt").write_text("object_id,label\n1,Cep\n")
    with pytest.raises(LabelStoreError, match="unknown label file format '.txt'"):
        store.import_labels(tmp_path / "labels.txt")
    with pytest.raises(LabelStoreError, match="source 'oracle'"):
        store.import_labels(pd.DataFrame({"object_id": [1], "label": ["Cep"]}), source="oracle")
    assert store.revision == 0


def test_backup_is_a_complete_self_contained_store(tmp_path, store_url, store):
    store.record_many([(1, "Cep"), (2, "LPV")])
    store.undo("anonymous")
    dest = store.backup(tmp_path / "bundle.sqlite")
    assert not (tmp_path / "bundle.sqlite-wal").exists()
    with LabelStore(dest) as copy:
        pd.testing.assert_frame_equal(copy.events(), store.events())
    with pytest.raises(LabelStoreError, match="already exists"):
        store.backup(dest)
    store.record(3, "RRLyr")
    store.backup(dest, overwrite=True)
    with LabelStore(dest) as copy:
        assert copy.revision == store.revision
    if store.path is not None:  # a file store only: PostgreSQL is not a file to overwrite
        with pytest.raises(LabelStoreError, match="onto itself"):
            store.backup(store.path, overwrite=True)


# ------------------------------------------------------------------ threads


def test_threads_share_one_store(store):
    errors = []

    def work(tag):
        try:
            for i in range(25):
                store.record(f"{tag}-{i}", CLASSES[i % 3], annotator=tag)
                if i % 5 == 0:
                    store.current()  # reads race with the other threads' writes
        except Exception as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    journal = store.events()
    assert len(journal) == 100 and journal["event_id"].is_unique and journal["seq"].tolist() == list(range(1, 101))
    assert store.n_labels() == 100


def test_closed_store_refuses_work(store_url):
    s = LabelStore.open(store_url("c"))
    s.close()
    with pytest.raises(LabelStoreError, match="closed"):
        s.record(1, "a")


def test_labelled_ids_matches_the_precedence_view(store_factory):
    """The fast query-path set equals the objects whose label in force is not pseudo."""
    store = store_factory("fast")
    store.record("1", "a", annotator="x")
    store.record("2", "b", annotator="x", split="test")
    store.record("3", "a", source="pseudo", annotator="model")
    store.record("4", "a", source="import", annotator="imp")
    store.record("4", "b", source="pseudo", annotator="model")
    undone = store.record("5", "a", annotator="y")
    store.undo("y")
    store.record("6", None, kind="skip", annotator="x")
    expected = set(store.current(sources=("human", "catalogue", "import"))["object_id"])
    assert store.labelled_ids() == expected == {"1", "2", "4"}
    assert store.labelled_ids(sources=["pseudo"]) == {"3", "4"}
    assert undone.object_id not in store.labelled_ids()
    with pytest.raises(LabelStoreError, match="labelled_ids: source 'psuedo' is not one of"):
        store.labelled_ids(sources=["psuedo"])


def test_replace_pseudo_never_restores_a_rejected_pseudo_label(store_factory):
    """A person's rejection written while a pseudo-label round was computing wins."""
    store = store_factory("race")
    store.replace_pseudo({"1": ("a", 0.99), "2": ("b", 0.98)}, model_version=1)
    first = store.current(sources=["pseudo"]).set_index("object_id")
    store.record("1", None, kind="retract", source="pseudo", annotator="ana",
                 target_event_id=first.loc["1", "event_id"])
    # The round computed before the rejection still proposes object 1.
    update = store.replace_pseudo({"1": ("a", 0.99), "2": ("b", 0.98)}, model_version=2)
    assert set(store.current(sources=["pseudo"])["object_id"]) == {"2"}
    assert update.added == 0 and update.kept == 1


# ------------------------------------------------------------------ identity (metadata)


def test_store_identity_is_kept_and_another_session_is_refused(store_url, store):
    ids = ["1", "2", "3"]
    assert store.identity() is None
    assert store.claim(id_column="obj", ids=ids, classes=list(CLASSES)) == list(CLASSES)
    store.note_added_class("Mira")
    with LabelStore.open(store_url("labels")) as again:  # another process, later
        identity = again.identity()
        assert (identity.id_column, identity.n_ids, identity.added) == ("obj", 3, ("Mira",))
        assert again.claim(id_column="obj", ids=ids[::-1], classes=list(CLASSES)) == [*CLASSES, "Mira"]
        with pytest.raises(LabelStoreError, match="belongs to another session") as excinfo:
            again.claim(id_column="obj", ids=["9"], classes=list(CLASSES))
        assert again._db.name in one_line_error(excinfo)
        again.claim(id_column="obj", ids=["9"], classes=list(CLASSES), foreign="adopt")
        assert again.identity().n_ids == 1
