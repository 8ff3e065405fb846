"""A real ``alabel serve``: who may connect (issue 11, finding 3; identity of issue 13, finding 3).

* on an address other machines reach, no start without sign-in (one line, exit 2);
* with sign-in: a one-line warning, Panel's login page over hashed passwords, a 0600 cookie secret;
* a Host allow-list before any handler: a DNS-rebinding page (forged Host, Origin equal to it,
  ``Sec-Fetch-Site: same-origin``) gets 403 on the page and on the websocket handshake.
"""
from __future__ import annotations

import base64
import os
import re
import socket
import stat
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
from harness import Server, example_config, free_port  # noqa: E402

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"


def http(port: int, path: str = "/", *, host: str | None = None, method: str = "GET", body: str = "",
         headers: dict | None = None) -> tuple[int, dict, str]:
    """One raw HTTP/1.1 request (so that Host can be anything); (status, headers, body)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    raw = ("\r\n".join(lines) + "\r\n\r\n" + body).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            chunks.append(data)
            if method == "UPGRADE" or b"101 Switching Protocols" in b"".join(chunks)[:40]:
                break
    head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, list[str]] = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        parsed.setdefault(key.strip().lower(), []).append(value.strip())
    return int(status_line.split()[1]), parsed, rest.decode("utf-8", "replace")


def handshake(port: int, token: str, *, host: str, origin: str, cookie: str = "",
              fetch_site: str = "same-origin") -> int:
    """The websocket handshake of a Bokeh page, as a browser at ``origin`` sends it; the status."""
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
               "Sec-WebSocket-Protocol": f"bokeh, {token}", "Origin": origin, "Sec-Fetch-Site": fetch_site}
    if cookie:
        headers["Cookie"] = cookie
    lines = ["GET /ws HTTP/1.1", f"Host: {host}"] + [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split()[1])


def session_token(page: str) -> str:
    match = re.search(r'"token":\s*"([^"]+)"', page) or re.search(r"token&quot;:\s*&quot;([^&]+)&", page)
    assert match, page[:500]
    return match.group(1)


def alabel(*args, cwd: Path, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alabel.dashboard.cli", *args], input=stdin, text=True,
                          capture_output=True, cwd=cwd, timeout=timeout)


# ---------------------------------------------------------------------------
def test_network_address_without_sign_in_is_refused(tmp_path):
    config = example_config(tmp_path, "digits")
    for address in ("0.0.0.0", "::"):
        result = alabel("serve", str(config), "--address", address, "--port", str(free_port()), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "reachable from the network" in lines[0] and "--password-file" in lines[0]


def test_forged_host_is_refused_on_the_page_and_the_websocket(tmp_path):
    server = Server(example_config(tmp_path, "digits")).wait_ready()
    try:
        port = server.port
        status, _, page = http(port)
        assert status == 200
        token = session_token(page)
        for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
            assert http(port, host=host)[0] == 200
        # DNS rebinding: the attacker's name resolves to 127.0.0.1; Host and Origin are its own.
        evil = f"rebind.attacker.example:{port}"
        status, _, body = http(port, host=evil)
        assert status == 403 and "host" in body.lower()
        assert http(port, "/static/js/bokeh.min.js", host=evil)[0] == 403
        assert handshake(port, token, host=evil, origin=f"http://{evil}") == 403
        # a foreign page talking to the real host name: refused by Origin, whatever Sec-Fetch-Site says
        for fetch_site in ("cross-site", "same-origin"):
            assert handshake(port, token, host=f"127.0.0.1:{port}", origin=f"http://{evil}",
                             fetch_site=fetch_site) == 403
        # the page's own handshake still works
        status, _, page = http(port)
        assert handshake(port, session_token(page), host=f"127.0.0.1:{port}",
                         origin=f"http://127.0.0.1:{port}") == 101
    finally:
        server.stop()


def test_allow_host_adds_the_name_a_proxy_forwards(tmp_path):
    server = Server(example_config(tmp_path, "digits"), extra_args=("--allow-host", "labels.example.org")).wait_ready()
    try:
        assert http(server.port, host="labels.example.org")[0] == 200  # behind a proxy: no port
        assert http(server.port, host="other.example.org")[0] == 403
    finally:
        server.stop()


def test_network_server_with_password_sign_in(tmp_path):
    config = example_config(tmp_path, "digits")
    users = tmp_path / "users.txt"
    assert alabel("passwd", str(users), "ana", cwd=tmp_path, stdin=PASSWORD + "\n").returncode == 0
    server = Server(config, extra_args=("--address", "0.0.0.0", "--password-file", str(users))).wait_ready()
    try:
        port = server.port
        warnings = [line for line in server.log().splitlines() if "warning" in line]
        assert len(warnings) == 1 and "reachable from the network" in warnings[0]
        secret = tmp_path / ".alabel" / "cookie-secret"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert secret.read_text().strip() not in server.log()

        status, headers, _ = http(port)  # not signed in: to the login page
        assert status == 302 and "/login" in headers["location"][0]
        status, headers, _ = http(port, "/login", method="POST", body="username=ana&password=wrong")
        assert status == 302 and "error=" in headers["location"][0] and "set-cookie" not in headers
        status, headers, _ = http(port, "/login", method="POST", body="username=nobody&password=" +
                                  urllib.parse.quote(PASSWORD))
        assert status == 302 and "set-cookie" not in headers
        status, headers, _ = http(port, "/login", method="POST",
                                  body="username=ana&password=" + urllib.parse.quote(PASSWORD))
        assert status == 302
        cookie = "; ".join(c.split(";")[0] for c in headers["set-cookie"])
        status, _, page = http(port, headers={"Cookie": cookie})
        assert status == 200
        token = session_token(page)
        assert handshake(port, token, host=f"127.0.0.1:{port}", origin=f"http://127.0.0.1:{port}") != 101
        assert handshake(port, token, host=f"127.0.0.1:{port}", origin=f"http://127.0.0.1:{port}",
                         cookie=cookie) == 101
        forged = re.sub(r"user=[^;]*", 'user="2|1:0|10:1700000000|4:user|8:Ym9i|' + "0" * 64 + '"', cookie)
        assert http(port, headers={"Cookie": forged})[0] == 302
        assert http(port, host=f"rebind.attacker.example:{port}", headers={"Cookie": cookie})[0] == 403
        # Another site's form cannot sign a browser in (login CSRF): its Origin is refused.
        assert http(port, "/login", method="POST", headers={"Origin": "https://evil.example"},
                    body="username=ana&password=" + urllib.parse.quote(PASSWORD))[0] == 403
        # Guessing is bounded: 5 failures from one address lock it (2 above, 3 here), and while
        # locked even the right password is not checked.
        for _ in range(3):
            http(port, "/login", method="POST", body="username=eve&password=guess")
        status, headers, _ = http(port, "/login", method="POST",
                                  body="username=ana&password=" + urllib.parse.quote(PASSWORD))
        assert status == 302 and "set-cookie" not in headers
        assert "Too many failed sign-ins" in urllib.parse.unquote_plus(headers["location"][0])
    finally:
        server.stop()


def test_network_server_with_oauth_sends_people_to_the_provider(tmp_path):
    env = {"PANEL_OAUTH_KEY": "client-id", "PANEL_OAUTH_SECRET": "client-secret"}
    server = Server(example_config(tmp_path, "digits"), env=env,
                    extra_args=("--address", "0.0.0.0", "--oauth-provider", "github")).wait_ready()
    try:
        status, headers, _ = http(server.port)
        assert status == 302
        login = urllib.parse.urlsplit(urllib.parse.urljoin(f"http://127.0.0.1:{server.port}/",
                                                           headers["location"][0]))
        status, headers, _ = http(server.port, f"{login.path}?{login.query}")
        assert status == 302 and headers["location"][0].startswith("https://github.com/login/oauth/authorize")
    finally:
        server.stop()


def test_unknown_oauth_provider_is_one_line(tmp_path):
    config = example_config(tmp_path, "digits")
    result = alabel("serve", str(config), "--address", "0.0.0.0", "--oauth-provider", "githib", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "did you mean 'github'" in result.stderr
