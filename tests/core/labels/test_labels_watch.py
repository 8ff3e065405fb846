"""A session hears of labels other processes write to its store (a second server, ``alabel label``)."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
import yaml
from alabel.core.config import SessionConfig
from alabel.core.labels import LabelStore
from alabel.core.labels.watch import RevisionWatcher
from alabel.core.session import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from session_fixtures import config_dict, write_table  # noqa: E402


def _session(tmp_path, store_url: str, **kwargs) -> Session:
    write_table(tmp_path, n=120)
    cfg = config_dict()
    cfg["labels"] = {"store": store_url}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return Session(SessionConfig.load(path), **kwargs)


def test_labels_from_another_process_are_heard_and_trained_on(tmp_path, store_url):
    url = store_url("team")
    session = _session(tmp_path, url, watch_store_s=0.05)
    heard = threading.Event()
    session.subscribe(lambda kind, payload: heard.set() if kind == "labels" else None)
    try:
        assert session.model is None
        ids = [str(i) for i in session.pool.ids[:6]]
        truth = [str(t) for t in session.pool.ground_truth[:6]]
        with LabelStore.open(url) as other:  # another server, through its own connection
            other.record_many([dict(object_id=o, label=t, annotator="ben") for o, t in zip(ids, truth)])
            revision = other.revision
        assert heard.wait(10), "the session never heard of the other process's labels"
        model = session.wait_for_revision(revision, timeout=60)
        assert model.n_labels == 6
        assert session.n_labels() == 6
    finally:
        session.close()


def test_the_store_tells_its_own_writes_from_others(store_factory):
    mine = store_factory("shared")
    other = store_factory("shared")  # same store, another connection: another process's writes
    assert mine.revision_written_elsewhere() is None
    mine.record("a", "x")
    mine.record_many([dict(object_id="b", label="y"), dict(object_id="c", label="x")])
    mine.undo("anonymous")
    assert mine.revision_written_elsewhere() is None  # its own writes do not echo back
    other.record("d", "y")
    assert mine.revision_written_elsewhere() == other.revision
    assert mine.revision_written_elsewhere() is None  # reported once


def test_a_write_in_flight_is_never_taken_for_a_foreign_one(store_factory):
    store = store_factory("busy")
    reported = []
    inside = threading.Event()
    release = threading.Event()

    def slow_work(journal):  # an own write that has committed nothing yet, held open
        inside.set()
        release.wait(5)

    writer = threading.Thread(target=store._write, args=(slow_work,))
    writer.start()
    assert inside.wait(5)
    reported.append(store.revision_written_elsewhere())
    release.set()
    writer.join()
    assert reported == [None]


def test_the_watcher_calls_back_with_what_the_poll_found():
    answers = iter([None, 7, None])
    seen = threading.Event()
    found = []

    def poll():
        return next(answers, None)

    watcher = RevisionWatcher(poll, lambda rev: (found.append(rev), seen.set()), interval_s=0.01)
    try:
        assert seen.wait(5)
    finally:
        watcher.close()
    assert found == [7]


def test_a_bad_interval_is_refused():
    with pytest.raises(ValueError, match="interval_s"):
        RevisionWatcher(lambda: None, lambda rev: None, interval_s=0)
