"""Run the real ``alabel serve`` and drive it with Playwright on Debian's chromium.

Shared by the browser tests, the screenshot script (docs/screenshots) and the
latency benchmark (bench/bench_ui_latency.py). Every wait is bounded.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("ALABEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def example_config(folder: Path, example: str = "digits", **changes) -> Path:
    """A copy of an example config in ``folder``: data read in place, labels stored in ``folder``.

    ``changes`` replace top-level sections (``head={...}``) or, with a dotted
    key in a dict (``{"training.backend": "process"}``), single values.
    """
    source = REPO / "example_data" / f"{example}.yaml" if example != "ogle3" else REPO / "config.yaml"
    raw = yaml.safe_load(source.read_text())
    for entry in raw["data"]["sources"]:
        entry["path"] = str((source.parent / entry["path"]).resolve())
    raw["data"]["root"] = str((source.parent / (raw["data"].get("root") or ".")).resolve())
    raw["labels"] = {"store": "labels.sqlite", "models": "models"}
    raw.setdefault("training", {}).update({"coalesce_s": 0.05, "evaluation_folds": 3})
    for key, value in changes.items():
        if "." in key:
            section, _, name = key.partition(".")
            raw.setdefault(section, {})[name] = value
        else:
            raw[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


class Server:
    """``alabel serve CONFIG`` in a subprocess on a free port."""

    def __init__(self, config: Path, *, port: int | None = None, extra_args: tuple = (), log: Path | None = None,
                 env: dict | None = None):
        self.config = Path(config)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log or self.config.parent / f"server-{self.port}.log"
        environment = dict(os.environ)
        # Test heads (burn_head.BurnHead) are imported by dotted path in the server and its workers.
        environment["PYTHONPATH"] = os.pathsep.join([str(HERE), environment.get("PYTHONPATH", "")]).strip(os.pathsep)
        environment.update(env or {})
        self._log = open(self.log_path, "w")
        command = [sys.executable, "-m", "alabel.dashboard.cli", "serve", str(self.config),
                   "--port", str(self.port), *extra_args]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=environment,
                                        cwd=str(self.config.parent))

    def wait_ready(self, timeout: float = 90.0) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alabel serve exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            time.sleep(0.1)
        raise TimeoutError(f"alabel serve did not answer on port {self.port} within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        return self.process.returncode


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Tab:
    """A dashboard page with the helpers the tests need (console errors are collected)."""

    def __init__(self, page, url: str):
        self.page = page
        self.errors: list[str] = []
        # The page's websockets, for failure messages: a page that never shows a query with no
        # socket open is a connection problem, with one open a server that does not answer.
        self.sockets: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("websocket", self._watch_socket)
        page.goto(url, timeout=60_000)
        self.wait_ready()

    def _watch_socket(self, socket) -> None:
        started = time.monotonic()
        frames = {"sent": 0, "received": 0}
        state = ["open"]
        index = len(self.sockets)
        self.sockets.append("")

        def note(what: str | None = None) -> None:
            if what:
                frames[what] += 1
            self.sockets[index] = (f"{socket.url.split('?')[0]} {state[0]}, {frames['sent']} frames sent, "
                                   f"{frames['received']} received")

        def closed(_socket=None) -> None:
            state[0] = f"closed after {time.monotonic() - started:.1f} s"
            note()

        note()
        socket.on("framesent", lambda _payload: note("sent"))
        socket.on("framereceived", lambda _payload: note("received"))
        socket.on("close", closed)
        socket.on("socketerror", lambda error: self.errors.append(f"websocket error: {error}"))

    def wait_ready(self, what: str = "the first query") -> None:
        """Wait for a query on screen and for the key listener (after opening or reloading)."""
        self.wait(lambda: self.current() != "", timeout=60, what=what)
        # The banner can be on screen before the key listener's module has run (Panel renders
        # ES-module components asynchronously): a key pressed then never reaches the server.
        self.wait(lambda: self.page.locator(".alabel-keys").count() > 0, timeout=30,
                  what=f"the key listener after {what}")

    # -- reading the page ---------------------------------------------------------------
    def attr(self, selector: str, name: str) -> str | None:
        locator = self.page.locator(selector).first
        if not locator.count():
            return None
        return locator.get_attribute(name, timeout=5_000)

    def current(self) -> str:
        """Object id in the labelling banner ('' while waiting)."""
        return self.attr(".banner", "data-object") or ""

    def model_version(self) -> int | None:
        value = self.attr(".model-version", "data-version")
        return int(value) if value else None

    def trainer_state(self) -> str:
        return self.attr(".trainer", "data-state") or ""

    def wait(self, predicate, timeout: float = 30.0, what: str = "condition", interval: float = 0.02):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {what} ({self.describe()})")

    def describe(self) -> str:
        """What the page shows, for failure messages."""
        def read(selector, name):
            try:
                return self.attr(selector, name)
            except Exception as exc:  # the page may be gone
                return f"<{type(exc).__name__}>"
        status = self.page.locator(".status-line")
        message = status.first.inner_text(timeout=2_000) if status.count() else ""
        return (f"query {self.current()!r}, model {read('.model-version', 'data-version')!r} on "
                f"{read('.model-version', 'data-labels')!r} labels, trainer {read('.trainer', 'data-state')!r}, "
                f"status {message!r}, errors {self.errors[-3:]}, websockets {self.sockets[-2:]}")

    # -- acting ------------------------------------------------------------------------------
    def click_class(self, name: str) -> str:
        """Click a class button; returns the object that was labelled (waits for the next one)."""
        before = self.current()
        slug = "".join(ch if ch.isalnum() else "-" for ch in name).strip("-") or "class"
        self.page.locator(f".class-{slug} button").click(timeout=10_000)
        self.wait(lambda: self.current() not in ("", before), what=f"the query after labelling {before}")
        return before

    def press(self, key: str, *, expect_change: bool = True) -> str:
        before = self.current()
        self.page.keyboard.press(key)
        if expect_change:
            self.wait(lambda: self.current() not in ("", before), what=f"the query after key {key!r}")
        return before
