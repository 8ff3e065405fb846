"""Torture: 4 label writers and 2 trainers on one SQLite store and one models folder.

Four writer processes (``tests/core/labels/_label_writer.py``) record their
planned events as fast as they can, in single events and batches; one of them
is killed with SIGKILL in the middle and started again, re-sending every event
from the first (a retry from a new process). Meanwhile two trainer processes
(this file run as a script: a :class:`Session` with ``persist_models``, as
``alabel train`` opens it) retrain in a loop on the same config, store and
models folder; one of them is killed with SIGKILL after two versions (maybe
in the middle of a save) and a third trainer takes its place.

Counted, and asserted at the end:

* **acknowledged**: event ids a writer printed after its store call returned;
* **lost**: acknowledged ids missing from the journal (must be 0);
* **duplicated**: event ids stored more than once (must be 0); the journal
  must hold exactly the planned events of every writer, each with its content;
* **versions**: model versions the trainers published; each has one owner
  (the trainers' versions are disjoint), one record in
  ``models/history.jsonl`` and a saved model in its own folder.

Run with ``pytest -s`` to see the counts line (also written to
``torture-writers.txt`` in the test's folder).
"""
from __future__ import annotations

import collections
import importlib.util
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WRITERS = ("w0", "w1", "w2", "w3")
EVENTS_PER_WRITER = 240
VERSIONS_PER_TRAINER = 5


def _writer_module():
    spec = importlib.util.spec_from_file_location(
        "_label_writer", REPO / "tests" / "core" / "labels" / "_label_writer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_session_folder(folder: Path, classes, n_objects: int) -> Path:
    """A config over ``n_objects`` synthetic objects whose ids are the writers' ("0".."n-1")."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": [str(i) for i in range(n_objects)], "x": rng.normal(size=n_objects),
                  "y": rng.normal(size=n_objects)}).to_csv(folder / "objects.csv", index=False)
    config = {
        "name": "torture", "seed": 0,
        "data": {"sources": [{"path": "objects.csv"}], "id_column": "id", "features": {"numeric": ["x", "y"]}},
        "classes": list(classes),
        "head": {"type": "logistic_regression"},
        "strategy": {"type": "random"},
        "labels": {"store": "labels.sqlite", "models": "models"},
        "training": {"evaluation_folds": 2},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def trainer_main(config: str, versions: int, deadline_s: float) -> None:
    """Trainer process: retrain until ``versions`` new versions are published; print each one."""
    from alabel.core.session import Session

    end = time.monotonic() + deadline_s
    seen: set[int] = set()
    with Session.from_config(config, background=False, persist_models=True) as session:
        print("ready", flush=True)
        while len(seen) < versions and time.monotonic() < end:
            model = session.retrain()
            if model is not None and model.version not in seen:
                seen.add(model.version)
                print(f"version {model.version}", flush=True)
            else:
                time.sleep(0.05)  # no new labels yet: wait for the writers


class Trainer:
    """A trainer process and the versions it printed (read as they come)."""

    def __init__(self, config: Path, versions: int):
        self.proc = subprocess.Popen([sys.executable, __file__, "trainer", str(config), str(versions), "90"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.versions: list[int] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("version ") and line.endswith("\n"):
                self.versions.append(int(line.split()[1]))

    def finish(self, timeout: float = 120.0) -> tuple[int, str]:
        self.proc.wait(timeout)
        self._reader.join(timeout)
        return self.proc.returncode, self.proc.stderr.read()


def test_four_writers_and_two_trainers_lose_and_duplicate_nothing(tmp_path):
    writer = _writer_module()
    config = make_session_folder(tmp_path / "session", writer.CLASSES, writer.N_OBJECTS)
    store_path = tmp_path / "session" / "labels.sqlite"
    from alabel.core.session import Session

    with Session.from_config(config, background=False):
        pass  # creates the store and records its identity, as the first command that labels does

    rng = random.Random(20261202)
    # Trainer 0 would retrain for ever: it is killed once it has published two versions, and a
    # third trainer takes its place on the models folder it left (maybe with a claimed, unsaved version).
    trainers = [Trainer(config, 10_000), Trainer(config, VERSIONS_PER_TRAINER)]
    children = {tag: writer.WriterProcess(store_path, "write", tag, EVENTS_PER_WRITER, seed=i)
                for i, tag in enumerate(WRITERS)}
    for child in children.values():
        child.go()
    acknowledged: set[str] = set()
    # Kill one writer in the middle of its run and restart it: it re-sends everything from event 0.
    victim = children["w0"]
    kill_after = rng.randint(20, 120)
    assert victim.wait_for(lambda acks: len(acks) >= kill_after, timeout=60), (
        f"w0 stopped after {len(victim.acks)} events (exit {victim.proc.poll()})")
    os.kill(victim.proc.pid, signal.SIGKILL)
    assert victim.finish() == -signal.SIGKILL
    acknowledged.update(victim.acks)
    kills = 1
    children["w0"] = writer.WriterProcess(store_path, "write", "w0", EVENTS_PER_WRITER, seed=99)
    children["w0"].go()
    deadline = time.monotonic() + 90
    while len(trainers[0].versions) < 2:
        assert trainers[0].proc.poll() is None, f"trainer 0 failed:\n{trainers[0].proc.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, "trainer 0 published fewer than two versions in 90 s"
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.3))
    trainers[0].proc.send_signal(signal.SIGKILL)
    kills += 1
    trainers.append(Trainer(config, VERSIONS_PER_TRAINER))
    for tag, child in children.items():
        assert child.finish(timeout=120) == 0, f"writer {tag} failed"
        acknowledged.update(child.acks)

    published: dict[int, list[int]] = {}
    for number, trainer in enumerate(trainers):
        code, err = trainer.finish()
        assert code == (-signal.SIGKILL if number == 0 else 0), f"trainer {number} failed:\n{err[-3000:]}"
        published[number] = trainer.versions

    conn = sqlite3.connect(store_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT event_id, object_id, label FROM label_events").fetchall()
    finally:
        conn.close()
    stored = collections.Counter(event_id for event_id, _, _ in rows)
    duplicated = sum(n - 1 for n in stored.values() if n > 1)
    lost = len(acknowledged - set(stored))
    planned = {row["event_id"]: row for tag in WRITERS for row in
               (writer.planned(tag, i) for i in range(EVENTS_PER_WRITER))}

    history = [json.loads(line) for line in (config.parent / "models" / "history.jsonl").read_text().splitlines()
               if line.strip()]
    recorded = collections.Counter(record["version"] for record in history)
    versions = [v for vs in published.values() for v in vs]
    counts = (f"torture writers: writers {len(WRITERS)}, trainers {len(trainers)}, kills {kills}, "
              f"acknowledged {len(acknowledged)}, found {len(set(stored) & acknowledged)}, lost {lost}, "
              f"duplicated {duplicated}, events {len(rows)}, versions {len(versions)} "
              f"(reused {len(versions) - len(set(versions))})")
    print(counts)
    (tmp_path / "torture-writers.txt").write_text(counts + "\n")

    assert lost == 0, f"{lost} acknowledged events lost"
    assert duplicated == 0, f"{duplicated} events stored twice"
    assert set(stored) == set(planned), "the journal is not exactly the writers' planned events"
    for event_id, object_id, label in rows:
        assert (object_id, label) == (str(planned[event_id]["object_id"]), planned[event_id]["label"])
    assert len(acknowledged) == len(planned)

    # Every trainer published versions, and no version has two owners.
    assert all(len(vs) >= 1 for vs in published.values()), published
    assert len(versions) == len(set(versions)), f"a version was published by both trainers: {published}"
    assert all(n == 1 for n in recorded.values()), f"history records a version twice: {recorded}"
    assert set(versions) <= set(recorded), "a published version has no history record"
    for version in recorded:
        folder = config.parent / "models" / f"model-v{version:05d}.skops"
        assert folder.is_dir() and any(folder.iterdir()), f"version {version} has no saved model"


if __name__ == "__main__":  # a trainer process of the test above
    if sys.argv[1] == "trainer":
        trainer_main(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
