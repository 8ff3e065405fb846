"""After a ``kill -9`` of a server, its training process does not live on.

A session with ``training.backend: process`` (as ``alabel serve`` runs heavy
heads) trains in a ``concurrent.futures`` worker process. Killing the server
with SIGKILL (its pid only, as a person or the OOM killer does) used to leave
that worker waiting for work for ever, re-parented to init, with its memory.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

PARENT = """
import sys
from alabel.core.session import Session

if __name__ == "__main__":
    session = Session.from_config(sys.argv[1])
    for i in range(10):
        session.teach(f"o{i}", "ab"[i % 2], annotator="x")
    model = session.wait_for_model(timeout=120)
    print("trained", model.version if model else None, flush=True)
    sys.stdin.readline()  # until killed
"""


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process parents from /proc (Linux)")
def test_the_training_process_ends_when_its_server_is_killed(tmp_path):
    (tmp_path / "objects.csv").write_text("id,x,y\n" + "".join(f"o{i},{i % 7},{i % 5}\n" for i in range(40)))
    config = {"name": "orphans", "data": {"sources": [{"path": "objects.csv"}], "id_column": "id",
                                          "features": {"numeric": ["x", "y"]}},
              "classes": ["a", "b"], "head": {"type": "logistic_regression"}, "strategy": {"type": "random"},
              "labels": {"store": "labels.sqlite", "models": "models"}, "training": {"backend": "process"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "parent.py").write_text(PARENT)
    server = subprocess.Popen([sys.executable, str(tmp_path / "parent.py"), str(tmp_path / "config.yaml")],
                              cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    workers = []
    try:
        line = server.stdout.readline()
        assert line.startswith("trained 1"), f"no model from the training process: {line!r}"
        workers = [pid for pid in children_of(server.pid) if running(pid)]
        assert workers, "the session trained without a worker process"
        os.kill(server.pid, signal.SIGKILL)
        server.wait(15)
        deadline = time.monotonic() + 15
        while any(running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if running(pid)]
        assert not left, f"processes of the killed server still run: {left}"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(15)
        for pid in workers:  # on failure: end what the test started, by pid
            if running(pid):
                os.kill(pid, signal.SIGKILL)
