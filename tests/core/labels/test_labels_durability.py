"""An acknowledged label survives the writer being killed at any moment."""
from __future__ import annotations

import importlib.util
import os
import random
import signal
import sqlite3
import time
from pathlib import Path

from alabel.core.labels import LabelStore

_spec = importlib.util.spec_from_file_location("_label_writer", Path(__file__).with_name("_label_writer.py"))
writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(writer)

ROUNDS = 4
PLANNED = 100_000  # far more than a writer gets through before it is killed


def test_acknowledged_labels_survive_sigkill(store_url):
    path = store_url("labels")
    rng = random.Random(20240601)
    acknowledged: set[str] = set()
    for round_ in range(ROUNDS):
        # Every round restarts at event 0, so it also re-sends the events the
        # previous rounds committed: the store must apply each of them once.
        child = writer.WriterProcess(path, "write", "w", PLANNED, seed=7)
        child.go()
        before = len(acknowledged)
        assert child.wait_for(lambda acks: len(set(acks) | acknowledged) > before, timeout=30), (
            f"round {round_}: the writer made no new acknowledgement"
        )
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(child.proc.pid, signal.SIGKILL)
        assert child.finish() == -signal.SIGKILL
        acknowledged.update(child.acks)

    with LabelStore.open(path, classes=writer.CLASSES) as store:
        journal = store.events()
    ids = journal["event_id"].tolist()
    assert len(ids) == len(set(ids)), "an event was stored twice"
    missing = acknowledged - set(ids)
    assert not missing, f"{len(missing)} acknowledged labels were lost"
    # The writer sends events in order, so what was committed is a prefix of
    # the plan, each with the content it was sent with.
    expected = [writer.planned("w", i) for i in range(len(ids))]
    assert set(ids) == {row["event_id"] for row in expected}
    by_id = {row["event_id"]: row for row in expected}
    for event_id, object_id, label in journal[["event_id", "object_id", "label"]].itertuples(index=False):
        assert (object_id, label) == (str(by_id[event_id]["object_id"]), by_id[event_id]["label"])
    assert len(acknowledged) > ROUNDS  # rounds really made progress
    if "://" not in path:
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_write_that_need_not_be_durable_skips_the_fsync_and_only_that_write(tmp_path):
    """Leases commit with ``synchronous=NORMAL``; every other write keeps ``FULL`` (2)."""
    with LabelStore.open(tmp_path / "labels.db") as store:
        seen = []
        store._db.write(lambda journal: seen.append(journal.conn.execute("PRAGMA synchronous").fetchone()[0]),
                        durable=False)
        store._db.write(lambda journal: seen.append(journal.conn.execute("PRAGMA synchronous").fetchone()[0]))
        assert seen == [1, 2]  # NORMAL, then FULL again on the same connection
        assert store._db.connection().execute("PRAGMA synchronous").fetchone()[0] == 2
