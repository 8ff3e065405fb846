"""Sign-in material of ``alabel serve``: the hashed password file, the cookie secret, the Host allow-list rules."""
from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from alabel.core.errors import ConfigError
from alabel.dashboard.access import allowed_hosts, host_allowed, is_loopback, request_allowed
from alabel.dashboard.auth import AuthOptions, check_auth_options, cookie_secret
from alabel.dashboard.passwords import check_login, read_password_file, set_password

PASSWORD = "correct horse battery"


def alabel(*args, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alabel.dashboard.cli", *args], input=stdin, text=True,
                          capture_output=True, timeout=60)


def test_passwd_writes_a_salted_hash_readable_by_its_owner_only(tmp_path):
    users = tmp_path / "users.txt"
    result = alabel("passwd", str(users), "ana", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    text = users.read_text()
    assert PASSWORD not in text and text.startswith("ana:scrypt$")
    assert check_login(users, "ana", PASSWORD)
    assert not check_login(users, "ana", PASSWORD + "!") and not check_login(users, "bob", PASSWORD)
    assert alabel("passwd", str(users), "bob", stdin=PASSWORD + "\n").returncode == 0
    assert alabel("passwd", str(users), "ana", stdin="another password\n").returncode == 0
    assert check_login(users, "ana", "another password") and not check_login(users, "ana", PASSWORD)
    assert check_login(users, "bob", PASSWORD)
    same = users.read_text().splitlines()[1].split("$")[-2]
    set_password(users, "carl", PASSWORD)
    assert users.read_text().splitlines()[2].split("$")[-2] != same  # a fresh salt per user
    assert alabel("passwd", str(users), "bob", "--delete").returncode == 0
    assert set(read_password_file(users)) == {"ana", "carl"}


@pytest.mark.parametrize("args, stdin, message", [
    (("ana",), "short\n", "too short"),
    (("a:b",), PASSWORD + "\n", "invalid user name"),
])
def test_passwd_mistakes_are_one_line(tmp_path, args, stdin, message):
    result = alabel("passwd", str(tmp_path / "users.txt"), *args, stdin=stdin)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / "users.txt").exists()


def test_a_plaintext_password_file_is_refused(tmp_path):
    users = tmp_path / "users.json"
    users.write_text('{"ana": "hunter22"}\n')
    with pytest.raises(ConfigError, match=r"users.json: line 1: expected USER:scrypt\$"):
        check_auth_options(AuthOptions(password_file=users))
    assert not check_login(users, "ana", "hunter22")
    with pytest.raises(ConfigError, match="password file not found .* alabel passwd"):
        check_auth_options(AuthOptions(password_file=tmp_path / "missing.txt"))


def test_cookie_secret_is_made_once_0600_and_refused_when_others_can_read_it(tmp_path, monkeypatch):
    monkeypatch.delenv("PANEL_COOKIE_SECRET", raising=False)
    path = tmp_path / ".alabel" / "cookie-secret"
    secret = cookie_secret(path)
    assert len(secret) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cookie_secret(path) == secret  # logins survive a restart
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others .* chmod 600"):
        cookie_secret(path)
    monkeypatch.setenv("PANEL_COOKIE_SECRET", "from-the-environment")
    assert cookie_secret(path) == "from-the-environment"


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("::")
    assert not is_loopback("192.168.1.20")


def test_host_allow_list():
    hosts = allowed_hosts("127.0.0.1", 5006, ["labels.example.org"])
    assert host_allowed("127.0.0.1:5006", hosts) and host_allowed("LOCALHOST:5006", hosts)
    assert host_allowed("[::1]:5006", hosts) and host_allowed("labels.example.org", hosts)
    assert host_allowed("labels.example.org:443", hosts)
    for forged in ("evil.example:5006", "127.0.0.1:5007", "127.0.0.1", "localhost.evil.example:5006", "", None,
                   "127.0.0.1:5006@evil.example", "127.0.0.1:5006/x"):
        assert not host_allowed(forged, hosts), forged
    upgrade = {"Host": "127.0.0.1:5006", "Upgrade": "websocket"}
    assert request_allowed({**upgrade, "Origin": "http://127.0.0.1:5006"}, hosts)
    assert not request_allowed({**upgrade, "Origin": "http://evil.example:5006"}, hosts)
    assert not request_allowed({**upgrade, "Origin": "null"}, hosts)
    # Cross-site request forgery: another site's form posting here (sign-in, upload) is refused;
    # the same post from the page's own origin, a GET from anywhere, a client without Origin pass.
    page = {"Host": "127.0.0.1:5006"}
    assert not request_allowed({**page, "Origin": "https://evil.example"}, hosts, "POST")
    assert not request_allowed({**page, "Origin": "null"}, hosts, "post")
    assert request_allowed({**page, "Origin": "http://127.0.0.1:5006"}, hosts, "POST")
    assert request_allowed({**page, "Origin": "https://evil.example"}, hosts, "GET")
    assert request_allowed(page, hosts, "POST")
    with pytest.raises(ConfigError, match="--allow-host"):
        allowed_hosts("127.0.0.1", 5006, ["http://x/"])
