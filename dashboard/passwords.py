"""The password file of ``alabel serve --password-file``: salted scrypt hashes, never passwords.

One user a line, ``user:scrypt$N$r$p$SALT$HASH`` (base64 salt and hash), the
shape of an htpasswd file. ``alabel passwd FILE USER`` writes it (mode 0600,
temp file + rename, so a server reading it never sees half a file); the
server re-reads it at every login, so adding a user needs no restart.

Panel's own ``--basic-auth`` compares plaintext passwords; this module is the
check behind alabel's login page instead (``dashboard/auth.py``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from pathlib import Path

from alabel.core.errors import ConfigError

#: scrypt cost: 2**14 × 8 × 128 bytes = 16 MiB and ~50 ms a check, the interactive-login
#: setting of the scrypt paper; stored per line so that it can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
_USER = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")
_MAXMEM = 64 * 1024 * 1024
# Checked against when the user is unknown, so that a wrong name costs the same time as a wrong password.
_DUMMY = None


def check_user_name(user: str, where: str = "user") -> str:
    """``user`` if it is a valid login name (letters, digits, ``._@+-``, at most 64), else ConfigError."""
    if not isinstance(user, str) or not _USER.match(user):
        raise ConfigError(f"{where}: invalid user name {str(user)[:70]!r}: use 1-64 letters, digits or ._@+-")
    return user


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A fresh salted hash of ``password``: ``scrypt$N$r$p$SALT$HASH``."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=HASH_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (constant time; False for a malformed hash)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt, validate=True),
                                n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def read_password_file(path: str | Path) -> dict[str, str]:
    """``{user: hash}`` of a password file; ConfigError (one line, file and line) when it is not one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: password file not found (create it with: alabel passwd {path} USER)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the password file ({getattr(exc, 'strerror', None) or exc})") \
            from None
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not stored.startswith("scrypt$") or stored.count("$") != 5:
            raise ConfigError(f"{path}: line {number}: expected USER:scrypt$... (written by alabel passwd), "
                              "not a plaintext password")
        users[check_user_name(user, f"{path}: line {number}")] = stored
    return users


def check_login(path: str | Path, user: str, password: str) -> bool:
    """Whether ``user``/``password`` match the password file (same cost whether or not the user exists)."""
    global _DUMMY
    try:
        stored = read_password_file(path).get(user)
    except ConfigError:
        return False
    if stored is None:
        _DUMMY = _DUMMY or hash_password(secrets.token_hex(8))
        verify_password(password, _DUMMY)
        return False
    return verify_password(password, stored)


def set_password(path: str | Path, user: str, password: str | None) -> bool:
    """Add or replace ``user`` (``password=None`` removes it); returns whether the user existed.

    The file is written whole to a temp file in the same folder and renamed
    over the old one, mode 0600 from the start.
    """
    path = Path(path)
    check_user_name(user)
    users = read_password_file(path) if path.exists() else {}
    existed = user in users
    if password is None:
        users.pop(user, None)
    else:
        users[user] = hash_password(password)
    lines = "".join(f"{name}:{stored}\n" for name, stored in users.items())
    try:
        _write_private(path, lines)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the password file ({exc.strerror or exc})") from None
    return existed


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
