"""Writer process for the label-store durability and concurrency tests.

Usage::

    python _label_writer.py STORE write TAG COUNT SEED [PEER]     (STORE: a path or a URL)
    python _label_writer.py STORE lease TAG ROUNDS SEED

The process opens the store, prints ``ready``, waits for one line on stdin
(so that several writers start together), then works and prints one line per
acknowledgement, flushed only *after* the store call has returned:

* ``write``: records events ``0..COUNT-1`` of :func:`planned` with ``record``
  or ``record_many`` (batch sizes drawn from SEED); prints each event id.
  With PEER, the writer waits after its first burst until writer PEER has
  written too, so the two journals are sure to interleave.
* ``lease``: for each round, leases that round's objects in a seeded random
  order and chunks; prints each granted object id. With PEER, it waits after
  the first round until PEER holds a lease.

Event content depends only on the tag and the index, so a restarted writer
re-sends exactly the same events (the store must apply them once).
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from alabel.core.labels import LabelStore

CLASSES = ("RRLyr", "Cep", "LPV")
N_OBJECTS = 97
LEASE_OBJECTS = 16


def planned(tag: str, index: int) -> dict:
    """The ``index``-th event writer ``tag`` sends (same on every run)."""
    return {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"alabel-test/{tag}/{index}")),
        "object_id": index % N_OBJECTS,
        "label": CLASSES[index % len(CLASSES)],
        "annotator": tag,
    }


def lease_objects(round_: int) -> list[str]:
    return [f"r{round_}-o{i}" for i in range(LEASE_OBJECTS)]


def wait_for_peer(store: LabelStore, tag: str, peer: str, leases: bool = False, timeout: float = 30.0) -> None:
    """Wait until ``peer`` has written an event (or, with two writers, holds a lease)."""
    deadline = time.monotonic() + timeout
    while not (store.leased_by_others(tag) if leases else (store.events()["annotator"] == peer).any()):
        if time.monotonic() > deadline:
            raise SystemExit(f"writer {peer} wrote nothing in {timeout} s")
        time.sleep(0.005)


def write(store: LabelStore, tag: str, count: int, rng: random.Random, peer: str | None = None) -> None:
    index = 0
    while index < count:
        size = 1 if rng.random() < 0.5 else rng.randint(2, 8)
        rows = [planned(tag, i) for i in range(index, min(index + size, count))]
        if len(rows) == 1:
            row = rows[0]
            done = [store.record(row["object_id"], row["label"], annotator=tag, event_id=row["event_id"])]
        else:
            done = store.record_many(rows)
        # Acknowledge only now: the call returned, so the events are committed.
        sys.stdout.write("".join(f"{event.event_id}\n" for event in done))
        sys.stdout.flush()
        if peer and index == 0:
            wait_for_peer(store, tag, peer)
        index += len(rows)


def lease(store: LabelStore, tag: str, rounds: int, rng: random.Random, peer: str | None = None) -> None:
    for round_ in range(rounds):
        objects = lease_objects(round_)
        rng.shuffle(objects)
        while objects:
            size = rng.randint(1, 4)
            chunk, objects = objects[:size], objects[size:]
            granted = store.lease(chunk, tag, ttl_s=600)
            sys.stdout.write("".join(f"{oid}\n" for oid in granted))
            sys.stdout.flush()
        if peer and round_ == 0:
            wait_for_peer(store, tag, peer, leases=True)


class WriterProcess:
    """Parent side: start this script as a child and collect its acknowledgements."""

    def __init__(self, store: str | Path, mode: str, tag: str, amount: int, seed: int, peer: str | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(store), mode, tag, str(amount), str(seed)] + ([peer] if peer else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.acks: list[str] = []
        self._changed = threading.Condition()
        ready = self.proc.stdout.readline()
        if ready != b"ready\n":
            self.proc.kill()
            raise RuntimeError(f"writer {tag} did not start (said {ready!r})")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            # A line cut short by SIGKILL has no newline: it was never acknowledged.
            if line.endswith(b"\n"):
                with self._changed:
                    self.acks.append(line.decode().strip())
                    self._changed.notify_all()

    def go(self) -> None:
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def wait_for(self, predicate, timeout: float) -> bool:
        """Wait until ``predicate(acks)`` holds (False on timeout or when the child exits)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: predicate(self.acks) or self.proc.poll() is not None, timeout
            ) and predicate(self.acks)

    def finish(self, timeout: float = 60.0) -> int:
        """Wait for the child to exit and for every acknowledgement to be read."""
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        self.proc.stdin.close()
        self.proc.stdout.close()
        return code


def main(argv: list[str]) -> None:
    path, mode, tag, amount, seed, *peer = argv
    store = LabelStore.open(path, classes=CLASSES)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    rng = random.Random(int(seed))
    {"write": write, "lease": lease}[mode](store, tag, int(amount), rng, *peer)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
