"""Several processes share one label store: nothing lost, nothing doubled, no shared lease."""
from __future__ import annotations

import importlib.util
import sqlite3
import threading
from pathlib import Path

import pytest

from alabel.core.errors import LabelStoreError

from alabel.core.labels import LabelStore

_spec = importlib.util.spec_from_file_location("_label_writer", Path(__file__).with_name("_label_writer.py"))
writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(writer)


def run_together(path: str, mode: str, amount: int, tags=("A", "B")) -> dict[str, list[str]]:
    """Start one writer per tag, release them at once, return each one's acknowledgements."""
    peers = dict(zip(tags, tags[::-1]))
    children = {tag: writer.WriterProcess(path, mode, tag, amount, seed=seed, peer=peers[tag])
                for seed, tag in enumerate(tags, start=11)}
    for child in children.values():
        child.go()
    for tag, child in children.items():
        assert child.finish() == 0, f"writer {tag} failed"
    return {tag: child.acks for tag, child in children.items()}


def test_two_processes_write_interleaved_bursts(store_url):
    path = store_url("labels")
    count = 120
    acks = run_together(path, "write", count)
    with LabelStore.open(path) as store:
        journal = store.events()
        current = store.current()
    ids = journal["event_id"].tolist()
    assert len(ids) == len(set(ids)) == 2 * count
    # Each writer waited for the other's first burst, so the journal alternates.
    writers = journal["annotator"]
    assert (writers != writers.shift()).sum() >= 3
    for tag in ("A", "B"):
        planned = {writer.planned(tag, i)["event_id"] for i in range(count)}
        assert acks[tag] and set(acks[tag]) == planned
        assert planned <= set(ids)
        assert (journal["annotator"] == tag).sum() == count
    # Both wrote the same objects: each ends with exactly one current label,
    # the one written last, and disagreements between A and B are flagged.
    assert current["object_id"].is_unique and len(current) == writer.N_OBJECTS
    last = journal.drop_duplicates("object_id", keep="last").set_index("object_id")["label"]
    assert current.set_index("object_id")["label"].to_dict() == last.to_dict()


def test_eight_writer_processes_lose_and_double_nothing(store_url):
    """A team: eight processes write at once (bursts, batches, re-sent ids) into one store."""
    path = store_url("labels")
    tags = tuple("ABCDEFGH")
    count = 40
    acks = run_together(path, "write", count, tags=tags)
    with LabelStore.open(path) as store:
        journal = store.events()
        # Each writer re-sends its first 10 events (a retry after a lost answer): applied once.
        for tag in tags:
            store.record_many([writer.planned(tag, i) for i in range(10)])
        assert store.revision == journal["seq"].max()
    ids = journal["event_id"].tolist()
    planned = {writer.planned(tag, i)["event_id"] for tag in tags for i in range(count)}
    acknowledged = [event_id for tag in tags for event_id in acks[tag]]
    assert len(acknowledged) == len(set(acknowledged)) == len(planned)
    assert set(acknowledged) == planned
    assert len(ids) == len(set(ids)) == len(planned), "0 duplicated"
    assert set(ids) == planned, "0 lost"
    assert journal["seq"].is_monotonic_increasing


def test_two_processes_never_lease_the_same_object(store_url):
    path = store_url("labels")
    rounds = 15
    granted = run_together(path, "lease", rounds)
    a, b = set(granted["A"]), set(granted["B"])
    assert len(a) == len(granted["A"]) and len(b) == len(granted["B"])  # nothing granted twice to one
    assert a and b  # each waited for the other's first lease, so both competed
    assert a.isdisjoint(b), f"both processes hold {sorted(a & b)[:5]}"
    everything = {oid for r in range(rounds) for oid in writer.lease_objects(r)}
    assert a | b == everything  # every object went to someone
    with LabelStore.open(path) as store:
        assert store.leased_by_others("A") == b and store.leased_by_others("B") == a


def test_a_write_waits_for_another_connections_transaction(tmp_path):
    path = tmp_path / "labels.db"
    with LabelStore(path) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        done = threading.Event()
        worker = threading.Thread(target=lambda: (store.record(1, "x"), done.set()))
        worker.start()
        assert not done.wait(0.2)  # still waiting for the lock ...
        blocker.execute("COMMIT")
        worker.join(30)
        assert done.is_set() and store.n_labels() == 1  # ... and written once it is free
        blocker.close()


def test_a_write_gives_up_after_the_busy_timeout(tmp_path):
    path = tmp_path / "labels.db"
    with LabelStore(path, busy_timeout_s=0.2) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(LabelStoreError, match="stayed locked") as excinfo:
                store.record(1, "x")
            assert str(path) in str(excinfo.value)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.revision == 0
