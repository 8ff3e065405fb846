"""Authentication of ``alabel serve``: Panel's login flow over a hashed password file, or OAuth.

Panel's ``--basic-auth`` compares the typed password with a plaintext one.
:class:`HashedPasswordProvider` keeps Panel's login and logout pages and its
signed ``user`` cookie (so ``pn.state.user`` works as usual) and swaps only
the check: a salted scrypt hash from the file ``alabel passwd`` writes
(:mod:`alabel.dashboard.passwords`), verified in a worker thread so that a
login never stalls the pages of others; repeated failures lock the name and
the client address for a while (:mod:`alabel.dashboard.login_throttle`).

OAuth goes straight to Panel (``--oauth-provider github`` and friends, with
``PANEL_OAUTH_KEY`` / ``PANEL_OAUTH_SECRET``).

Both need a cookie secret to sign the login cookie: ``PANEL_COOKIE_SECRET``
when set, else one generated once and kept in a file only its owner can read
(:func:`cookie_secret`), so that logins survive a restart.
"""
from __future__ import annotations

import asyncio
import math
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from alabel.core.errors import ConfigError, did_you_mean

from .login_throttle import LoginThrottle
from .passwords import check_login, read_password_file

#: A wrong user name or password is answered after this long.
FAILED_LOGIN_DELAY_S = 1.0


@dataclass(frozen=True)
class AuthOptions:
    """What ``alabel serve`` was told about authentication."""

    password_file: Path | None = None
    oauth_provider: str | None = None
    oauth_key: str | None = None
    oauth_redirect_uri: str | None = None
    cookie_secret_file: Path | None = None

    @property
    def kind(self) -> str | None:
        """``"password"``, ``"oauth"`` or None."""
        return "password" if self.password_file else "oauth" if self.oauth_provider else None


def check_auth_options(options: AuthOptions) -> None:
    """ConfigError (one line) for options that cannot work, before anything starts."""
    if options.password_file and options.oauth_provider:
        raise ConfigError("--password-file and --oauth-provider: give one of them, not both")
    if options.password_file:
        if not read_password_file(options.password_file):
            raise ConfigError(f"{options.password_file}: no user in the password file "
                              f"(add one with: alabel passwd {options.password_file} USER)")
    if options.oauth_provider:
        from panel.auth import AUTH_PROVIDERS

        if options.oauth_provider not in AUTH_PROVIDERS:
            raise ConfigError(f"--oauth-provider: unknown provider {options.oauth_provider!r}"
                              f"{did_you_mean(options.oauth_provider, AUTH_PROVIDERS)}; "
                              f"known: {', '.join(sorted(AUTH_PROVIDERS))}")
        if not (options.oauth_key or os.environ.get("PANEL_OAUTH_KEY")):
            raise ConfigError("--oauth-provider: give the client id with --oauth-key or PANEL_OAUTH_KEY")
        if not os.environ.get("PANEL_OAUTH_SECRET"):
            raise ConfigError("--oauth-provider: set the client secret in PANEL_OAUTH_SECRET "
                              "(not on the command line, where other users can read it)")


def cookie_secret(path: Path) -> str:
    """``PANEL_COOKIE_SECRET``, or the secret kept in ``path`` (created 0600 on first use).

    A file others can read is refused: whoever holds the secret can forge any login.
    """
    from_env = os.environ.get("PANEL_COOKIE_SECRET")
    if from_env:
        return from_env
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the cookie secret ({exc.strerror or exc}); "
                          "choose another place with --cookie-secret-file or set PANEL_COOKIE_SECRET") from None
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"{path}: the cookie secret is readable by others (mode {mode:04o}): "
                              f"chmod 600 {path}")
        secret = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the cookie secret ({getattr(exc, 'strerror', None) or exc})") \
            from None
    if len(secret) < 32:
        raise ConfigError(f"{path}: the cookie secret is too short ({len(secret)} characters, at least 32): "
                          "delete the file to have a new one made")
    return secret


def password_provider(password_file: Path, throttle: LoginThrottle | None = None):
    """A Panel auth provider: Panel's login pages, checked against ``password_file``'s hashes.

    ``throttle`` locks a name or a client address after repeated failures
    (default: 5 failures in 15 minutes lock it for 5 minutes).
    """
    import tornado.escape
    from panel.auth import BasicAuthProvider, BasicLoginHandler, _validate_next_url
    from panel.io.state import state
    from tornado.ioloop import IOLoop

    password_file = Path(password_file)
    throttle = throttle or LoginThrottle()

    class HashedPasswordLoginHandler(BasicLoginHandler):
        def _validate(self, username, password):
            return check_login(password_file, username, password)

        def _refuse(self, message: str) -> None:
            self.redirect(self.request.path + "?error=" + tornado.escape.url_escape(message))

        async def post(self):
            username = self.get_argument("username", "")
            password = self.get_argument("password", "")
            keys = (f"user:{username.strip().lower()}", f"address:{self.request.remote_ip}")
            wait = throttle.refused_for(*keys)
            if wait > 0:  # locked: the password is not even checked, so no guess can succeed now
                self._refuse(f"Too many failed sign-ins: try again in {math.ceil(wait / 60)} min.")
                return
            # scrypt takes ~50 ms and 16 MiB by design: off the event loop that serves every page.
            ok = await IOLoop.current().run_in_executor(None, self._validate, username, password)
            if ok:  # as Panel's BasicLoginHandler.post does
                throttle.succeeded(keys[0])
                self.set_current_user(username)
                self.redirect(_validate_next_url(self.get_cookie("next_url", state.base_url)))
            else:
                throttle.failed(*keys)
                await asyncio.sleep(FAILED_LOGIN_DELAY_S)  # slows guessing without blocking other pages
                self._refuse("Invalid username or password!")

    class HashedPasswordProvider(BasicAuthProvider):
        @property
        def login_handler(self):
            HashedPasswordLoginHandler._login_endpoint = self._login_endpoint
            HashedPasswordLoginHandler._login_template = self._login_template
            return HashedPasswordLoginHandler

    return HashedPasswordProvider()


def signed_in_user(cookies: dict, secret: str | None) -> str | None:
    """The user of the signed ``user`` cookie Panel's login sets (None when absent or forged)."""
    from tornado.web import decode_signed_value

    value = cookies.get("user") if cookies else None
    if not value or not secret:
        return None
    decoded = decode_signed_value(secret, "user", value)
    return None if decoded is None else decoded.decode("utf-8", "replace")
