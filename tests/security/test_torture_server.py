"""Torture: ``kill -9`` of ``alabel serve`` while a real browser labels, 20 times.

A chromium page (Playwright) labels a small synthetic session by key and by
click at a human-ish pace (a pause of 0.05 to 0.4 s between labels). At a
random moment, from another thread, the server's whole process group gets
SIGKILL, often while a label is on its way; the page then reconnects to the
next server of the same config and store and goes on labelling.

Every server runs on the same port and store as the one killed before it, so
it opens the store after a ``kill -9`` of a server that had it open (with its
leases and a live WAL). To keep 20 restarts within about a minute and a half
on a small busy machine, the servers are forked from a zygote that did
``alabel serve``'s imports once (see :class:`Zygote`): a restart costs what
the server does after them.

Definitions (the counts are printed, run with ``pytest -s``, and written to
``torture-server.txt`` in the test's folder):

* **acknowledged**: a label whose object the page stopped showing, i.e. the
  banner moved on to the next object after the key press or click. The
  server records the label in the store *before* it moves the page on
  (``TabState.label``), so an acknowledged label was committed.
* **found**: acknowledged labels in the store, each exactly once (one label
  event of the torture annotator for that object, with the class given).
* **lost**: acknowledged labels missing from the store (must be 0).
* **duplicated**: objects with more than one label event (must be 0: an
  object labelled, then shown again after a restart, would be labelled twice).
* **in flight**: labels the store holds that were never acknowledged (sent
  just before a kill); allowed.

Also asserted: after each restart, once the page shows an object, no lease of
a killed server is left in ``label_leases``; at the end the last server
answers HTTP and its log holds no traceback.
"""
from __future__ import annotations

import collections
import contextlib
import importlib.util
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
KILLS = 20
N_OBJECTS = 400
CLASSES = ("a", "b")
KEYS = {"a": "a", "b": "b"}  # a class named by one character is its own key
ANNOTATOR = "torturer"


def _harness():
    spec = importlib.util.spec_from_file_location("_torture_harness", REPO / "tests" / "browser" / "harness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_session_folder(folder: Path) -> Path:
    """A tiny session: 400 objects, two classes, random queries, a page with the labelling panel only."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": [f"o{i:03d}" for i in range(N_OBJECTS)], "x": rng.normal(size=N_OBJECTS),
                  "y": rng.normal(size=N_OBJECTS)}).to_csv(folder / "objects.csv", index=False)
    (folder / "labelling.yaml").write_text(yaml.safe_dump({"name": "labelling", "main": [{"type": "labelling"}]}))
    config = {
        "name": "torture", "seed": 0,
        "data": {"sources": [{"path": "objects.csv"}], "id_column": "id", "features": {"numeric": ["x", "y"]}},
        "classes": list(CLASSES),
        "head": {"type": "logistic_regression"},
        "strategy": {"type": "random"},
        "labels": {"store": "labels.sqlite", "models": "models"},
        "training": {"coalesce_s": 0.05, "evaluation_folds": 2},
        "ui": {"layout": "labelling.yaml"},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Zygote:
    """A process that imported ``alabel serve``'s modules once and forks a server per restart.

    A restart then costs what ``alabel serve`` does after its imports (open
    the store, load the data, serve), not seconds of imports on a busy
    machine. Each server is ``alabel.dashboard.cli.main(["serve", ...])``
    in a forked child with its own session and process group; the zygote
    never opens a session or a store itself.
    """

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, __file__, "zygote"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, start_new_session=True)
        ready = self.process.stdout.readline()
        assert ready == "ready\n", f"the zygote did not start (said {ready!r})"

    def fork(self, config: Path, port: int, log: Path) -> int:
        self.process.stdin.write(f"{config}\t{port}\t{log}\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(30)


def zygote_main() -> None:
    """The zygote (this file run as a script): ``CONFIG\tPORT\tLOG`` on stdin forks a server."""
    import alabel.dashboard.app  # noqa: F401  (the imports every server would repeat)
    from alabel.dashboard import cli

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # servers are reaped as they die
    print("ready", flush=True)
    for line in sys.stdin:
        config, port, log = line.rstrip("\n").split("\t")
        pid = os.fork()
        if pid == 0:  # the server
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.chdir(Path(config).parent)
            code = 1
            try:
                code = cli.main(["serve", config, "--port", port])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(pid, flush=True)


class Serve:
    """One ``alabel serve`` forked by the zygote, in its own process group."""

    def __init__(self, zygote: Zygote, config: Path, port: int, log: Path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        self.log_path = log
        self.pid = zygote.fork(config, port, log)
        # Once seen dead, never signalled again: the zygote reaps its servers at once and this
        # machine's pids wrap (pid_max 32768), so the number may already name another process group.
        self.dead = False

    def wait_ready(self, timeout: float = 120.0) -> Serve:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"alabel serve exited:\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            time.sleep(0.02)
        raise AssertionError(f"alabel serve did not answer within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)

    def stack(self) -> str:
        """The server's Python threads (py-spy, where installed beside this interpreter), for failures."""
        spy = Path(sys.executable).with_name("py-spy")
        if not spy.exists() or not self.alive():
            return "(no stack: py-spy not installed or the server is gone)"
        done = subprocess.run([str(spy), "dump", "--pid", str(self.pid)], capture_output=True, text=True, timeout=60)
        return done.stdout[-6000:] + done.stderr[-1000:]

    def alive(self) -> bool:
        if self.dead:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            self.dead = True
        return not self.dead

    def wait_dead(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.alive():
            assert time.monotonic() < deadline, f"server {self.pid} still runs"
            time.sleep(0.01)

    def stop(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.wait_dead()
            except AssertionError:
                self.kill()
                self.wait_dead()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def leases_of(store: Path, pids) -> list[tuple]:
    if not pids:
        return []
    with contextlib.closing(sqlite3.connect(store, timeout=30)) as conn:
        marks = ",".join("?" * len(pids))
        return conn.execute(f"SELECT object_id, annotator, owner_pid FROM label_leases WHERE owner_pid IN ({marks})",
                            list(pids)).fetchall()


def label_until_killed(tab, server: Serve, rng: random.Random, acknowledged: list, sent: list) -> None:
    """Label at a human pace until ``server`` is gone; record what the page acknowledged."""
    page = tab.page
    while server.alive():
        before = tab.current()
        if not before:
            time.sleep(0.02)
            continue
        name = rng.choice(CLASSES)
        try:
            if rng.random() < 0.5:
                page.keyboard.press(KEYS[name])
            else:
                page.locator(f".class-{name} button").click(timeout=3_000)
        except Exception:  # the page lost its server in the middle of the click
            continue
        sent.append((before, name))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = tab.current()
            if now not in ("", before):
                acknowledged.append((before, name))
                break
            if not server.alive():
                return
            time.sleep(0.01)
        else:
            raise AssertionError(f"the page did not move on from {before} while its server ran ({tab.describe()})")
        time.sleep(rng.uniform(0.05, 0.4))


def test_twenty_kill_9_of_the_server_while_a_browser_labels(tmp_path):
    """Runs in a thread of its own: Playwright's sync API refuses a thread where an earlier test
    in this process left an asyncio loop marked running (it starts its own loop there)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            _torture(tmp_path)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's own thread)
            failures.append(exc)

    worker = threading.Thread(target=run, name="torture-browser")
    worker.start()
    worker.join()
    if failures:
        raise failures[0]


def _torture(tmp_path):
    from playwright.sync_api import sync_playwright

    harness = _harness()
    if not Path(harness.CHROMIUM).exists():
        pytest.fail(f"{harness.CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    config = make_session_folder(tmp_path / "session")
    store = config.parent / "labels.sqlite"
    rng = random.Random(20261202)
    servers: list[Serve] = []
    port = harness.free_port()

    def start() -> Serve:
        server = Serve(zygote, config, port, tmp_path / f"server-{len(servers)}.log")
        servers.append(server)
        return server.wait_ready()

    acknowledged: list[tuple[str, str]] = []
    sent: list[tuple[str, str]] = []
    killed_pids: list[int] = []
    stale_leases: list[tuple] = []
    url = f"http://127.0.0.1:{port}/?annotator={ANNOTATOR}"
    started = time.monotonic()
    zygote = Zygote()
    try:
        with sync_playwright() as playwright:
            browser = harness.launch_browser(playwright)
            page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            page.set_default_timeout(60_000)
            tab = None
            for _ in range(KILLS):
                server = start()  # on the same port and store as the one killed before it
                if tab is None:
                    tab = harness.Tab(page, url)
                else:
                    page.goto(url, timeout=60_000)
                    try:
                        tab.wait_ready("the first query after a restart")
                    except AssertionError as exc:
                        try:
                            shown = page.inner_text("body", timeout=5_000)[:1500]
                        except Exception as error:  # noqa: BLE001  (the page may be gone)
                            shown = f"<{type(error).__name__}>"
                        raise AssertionError(f"{exc}\nthe page shows: {shown!r}\n"
                                             f"server {server.pid} (restart {len(servers) - 1}) log:\n"
                                             f"{server.log()[-2000:]}\nits threads:\n{server.stack()}") from None
                # The page's first query leased objects: the killed servers' leases are gone by now.
                stale_leases += leases_of(store, killed_pids)
                timer = threading.Timer(rng.uniform(0.4, 2.5), server.kill)
                timer.start()
                label_until_killed(tab, server, rng, acknowledged, sent)
                timer.join()
                server.wait_dead()
                killed_pids.append(server.pid)
            last = start()
            page.goto(url, timeout=60_000)
            tab.wait_ready("the first query of the last server")
            stale_leases += leases_of(store, killed_pids)
            with urllib.request.urlopen(last.url, timeout=30) as answer:
                status = answer.status
            browser.close()
    finally:
        for server in servers:
            server.stop()
        zygote.close()
    elapsed = time.monotonic() - started

    with contextlib.closing(sqlite3.connect(store)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = conn.execute("SELECT object_id, label FROM label_events WHERE annotator = ? AND kind = 'label'",
                              (ANNOTATOR,)).fetchall()
    per_object = collections.Counter(object_id for object_id, _ in events)
    stored = dict(events)
    given = dict(acknowledged)
    found = [o for o in given if per_object[o] == 1 and stored[o] == given[o]]
    lost = [o for o in given if o not in stored]
    duplicated = [o for o, n in per_object.items() if n > 1]
    in_flight = [o for o in stored if o not in given]
    counts = (f"torture server: kills {len(killed_pids)}, labels sent {len(sent)}, acknowledged {len(given)}, "
              f"found {len(found)}, lost {len(lost)}, duplicated {len(duplicated)}, in flight {len(in_flight)}, "
              f"stale leases {len(stale_leases)}, {elapsed:.0f} s")
    print(counts)
    (tmp_path / "torture-server.txt").write_text(counts + "\n")

    assert len(killed_pids) == KILLS
    assert len(acknowledged) == len(given), "an object was acknowledged twice"
    assert not lost, f"acknowledged labels lost: {lost}"
    assert not duplicated, f"objects labelled twice: {duplicated}"
    assert len(found) == len(given), "an acknowledged label was stored with another class"
    assert len(given) >= KILLS // 2, "the page hardly labelled between kills"
    assert not stale_leases, f"leases of killed servers left after a restart: {stale_leases[:5]}"
    assert status == 200
    for server in servers:
        assert "Traceback" not in server.log(), server.log()[-3000:]


if __name__ == "__main__":  # the zygote of the test above
    if sys.argv[1] == "zygote":
        zygote_main()
