"""``panel serve dashboard/app.py`` (the script entry) refuses requests for host names it does not answer.

Panel's own server gets no router-level Host guard (that is ``alabel serve``'s),
so the script checks the request that starts each session before it opens
the session: a DNS-rebinding page (Host ``evil.example``) gets no page, and
the label store is not even opened.
"""
from __future__ import annotations

import contextlib
import http.client
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def test_the_script_answers_loopback_names_and_the_listed_ones_only():
    from alabel.dashboard.app import script_request_allowed

    assert script_request_allowed({"Host": "localhost:5006"}, {})
    assert script_request_allowed({"Host": "127.0.0.1:1234"}, {})
    assert not script_request_allowed({"Host": "evil.example:5006"}, {})
    assert not script_request_allowed({}, {})
    assert script_request_allowed({"Host": "labels.example.org"}, {"ALABEL_ALLOW_HOSTS": "labels.example.org"})
    assert not script_request_allowed({"Host": "localhost:5006", "Upgrade": "websocket",
                                       "Origin": "http://evil.example:5006"}, {})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/app", headers={"Host": host})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.slow
def test_panel_serve_opens_no_session_for_a_forged_host(tmp_path):
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / "objects.csv").write_text("id,x,y\n" + "".join(f"o{i},{i % 7},{i % 5}\n" for i in range(40)))
    config = {"name": "guard", "data": {"sources": [{"path": "objects.csv"}], "id_column": "id",
                                       "features": {"numeric": ["x", "y"]}},
              "classes": ["a", "b"], "head": {"type": "logistic_regression"}, "strategy": {"type": "random"},
              "labels": {"store": "labels.sqlite", "models": "models"}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    port = _free_port()
    log = open(tmp_path / "panel.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(REPO / "dashboard" / "app.py"),
                                "--port", str(port), "--args", "config.yaml"],
                               cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (tmp_path / "panel.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            assert time.monotonic() < deadline, "panel serve did not answer"
            time.sleep(0.1)
        _get(port, f"evil.example:{port}")
        assert not (folder / "labels.sqlite").exists(), "a forged Host opened the session (and created its store)"
        assert "does not answer to that host name" in (tmp_path / "panel.log").read_text()
        assert _get(port, f"localhost:{port}") == 200
        assert (folder / "labels.sqlite").exists(), "the loopback page did not open the session"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()
