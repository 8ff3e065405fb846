"""Who may reach ``alabel serve`` and who a page labels as.

Three rules, each a small function tested without a server:

* **Host allow-list.** Tornado accepts a websocket whose ``Origin`` equals its
  ``Host`` (or that says ``Sec-Fetch-Site: same-origin``) before Bokeh's
  ``allow_websocket_origin`` is consulted, so a DNS-rebinding page at
  ``evil.example`` that resolves to 127.0.0.1 could drive a loopback server.
  :func:`install_host_guard` answers 403 to every request (page, static file,
  websocket handshake, login) whose ``Host`` header is not in the allow-list
  before any handler runs (and to a websocket handshake or a post whose
  ``Origin`` is not); a rebinding page cannot forge ``Host``, and another
  site's form cannot post here (sign-in, uploads).
* **Loopback or authentication.** :func:`is_loopback` decides whether a bound
  address is reachable from other machines; ``serve`` refuses those without
  authentication.
* **Identity.** :func:`page_identity` says who a page labels as: the signed-in
  user when the server has authentication (the page cannot change it); else
  ``?annotator=`` in the address (loopback servers only), else the name this
  browser used last (a cookie), else a fresh one.

This module imports no Panel (Tornado only, for the guard).
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

#: The cookie in which a browser remembers its annotator name (servers without authentication).
ANNOTATOR_COOKIE = "alabel_annotator"
#: Longest annotator name taken from an address or a cookie.
MAX_NAME = 64

_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[^:\[\]/\s]+)(?::(\d{1,5}))?")
_WILDCARD_ADDRESSES = ("", "0.0.0.0", "::", "[::]")


# ---------------------------------------------------------------------------
# where the server listens
# ---------------------------------------------------------------------------
def is_loopback(address: str) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only."""
    address = (address or "").strip().strip("[]")
    if address in _WILDCARD_ADDRESSES:
        return False
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name: loopback only if every address it names is
        try:
            infos = socket.getaddrinfo(address, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def allowed_hosts(address: str, port: int, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The ``Host`` values a server on ``address:port`` answers (``host:port`` entries).

    Always this machine's loopback names; the bound address when it is a
    specific one; this machine's name and addresses when it listens on every
    interface; and ``extra`` (``--allow-host``: ``name`` for any port or
    ``name:port``, e.g. the public name a reverse proxy forwards).
    """
    names = ["localhost", "127.0.0.1", "[::1]"]
    bound = (address or "").strip()
    if bound in _WILDCARD_ADDRESSES:
        names += _machine_names()
    else:
        names.append(f"[{bound.strip('[]')}]" if ":" in bound.strip("[]") else bound)
    hosts = [f"{name.lower()}:{port}" if port else name.lower() for name in names]
    hosts += [check_host_entry(entry) for entry in extra]
    return list(dict.fromkeys(hosts))


def check_host_entry(entry: str) -> str:
    """``entry`` lower-cased if it is ``name`` or ``name:port``; else ConfigError."""
    from alabel.core.errors import ConfigError

    value = str(entry).strip().lower()
    if not _HOST.fullmatch(value):
        raise ConfigError(f"--allow-host: {str(entry)[:80]!r} is not a host name or host:port "
                          "(e.g. labels.example.org or labels.example.org:443)")
    return value


def host_allowed(host: str | None, allowlist: list[str]) -> bool:
    """Whether a request's ``Host`` header matches an entry (an entry without a port takes any port)."""
    match = _HOST.fullmatch((host or "").strip().lower())
    if not match:
        return False
    name, port = match.group(1), match.group(2)
    for entry in allowlist:
        allowed = _HOST.fullmatch(entry)
        if allowed and allowed.group(1) == name and (allowed.group(2) is None or allowed.group(2) == port):
            return True
    return False


#: Methods a page of another site may make a browser send here without changing anything.
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def request_allowed(headers, allowlist: list[str], method: str = "GET") -> bool:
    """Whether a request's ``Host`` is allowed and, for a websocket handshake or a form
    post (``method``), its ``Origin`` too.

    Tornado skips the Origin check when the browser says ``Sec-Fetch-Site:
    same-origin``; checking it here as well does not depend on that. A post
    from another site's page (cross-site request forgery: signing a browser in
    as someone else, an upload) carries that site's ``Origin`` and is refused.
    """
    if not host_allowed(headers.get("Host"), allowlist):
        return False
    changes = headers.get("Upgrade", "").lower() == "websocket" or method.upper() not in _SAFE_METHODS
    if not changes or "Origin" not in headers:
        return True  # clients that are not browsers send no Origin; Host still had to match
    return host_allowed(urlsplit(headers.get("Origin", "")).netloc, allowlist)


def _machine_names() -> list[str]:
    names = {socket.gethostname(), socket.getfqdn()}
    addresses = set()
    for name in list(names):
        try:
            addresses.update(info[4][0] for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    hosts = sorted(n for n in names if n)
    hosts += sorted(f"[{a}]" if ":" in a else a for a in addresses if "%" not in a)
    return hosts


# ---------------------------------------------------------------------------
# the guard in front of every request
# ---------------------------------------------------------------------------
def install_host_guard(application, allowlist: list[str]) -> None:
    """Answer 403 before any handler of ``application`` (a Tornado app) when ``Host`` is not allowed.

    A rule put first in the application's router (Tornado's documented
    host-routing mechanism), so it covers Bokeh's page, static and websocket
    handlers and Panel's login pages alike.
    """
    import tornado.web
    from tornado.routing import Matcher, Rule

    hosts = list(allowlist)

    class RefusedHost(Matcher):
        def match(self, request):
            return None if request_allowed(request.headers, hosts, request.method or "GET") else {}

    class RefusedHostHandler(tornado.web.RequestHandler):
        def prepare(self):
            self.set_status(403)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish("alabel: this server does not answer to that host name (see alabel serve --allow-host)\n")

    router = application.default_router
    router.rules.insert(0, router.process_rule(Rule(RefusedHost(), RefusedHostHandler)))


# ---------------------------------------------------------------------------
# who a page labels as
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ServerAccess:
    """How a server lets people in, as the pages need to know it.

    Parameters
    ----------
    auth : str or None
        ``"password"``, ``"oauth"`` or None (no authentication).
    loopback : bool
        Whether the server listens on this machine only.
    cookie_secret : str or None
        The secret that signs the login cookie (to read the signed-in user).
    """

    auth: str | None = None
    loopback: bool = True
    cookie_secret: str | None = None

    @property
    def url_annotator_allowed(self) -> bool:
        """``?annotator=`` is honoured on a loopback server without authentication only."""
        return self.loopback and not self.auth


@dataclass(frozen=True)
class Identity:
    """Who a page labels as: ``name`` (None: a fresh one), whether the page may change it, a note to show."""

    name: str | None
    locked: bool = False
    note: str = ""


def page_identity(access: ServerAccess, *, user: str | None, url_name: str | None,
                  remembered: str | None) -> Identity:
    """The identity of a new page (see the module docstring for the order)."""
    url_name = clean_name(url_name)
    if access.auth:
        name = user or "guest"
        note = (f"?annotator= ignored: you label as {name}, the signed-in user"
                if url_name and url_name != name else "")
        return Identity(name, locked=True, note=note)
    if url_name and access.url_annotator_allowed:
        return Identity(url_name)
    note = ("?annotator= ignored: a server reachable from the network labels as the signed-in user"
            if url_name else "")
    return Identity(clean_name(remembered and unquote(remembered)), note=note)


def clean_name(value: str | None) -> str | None:
    """``value`` stripped, if it is a usable annotator name (printable, at most MAX_NAME), else None."""
    if not value:
        return None
    value = str(value).strip()
    if not value or len(value) > MAX_NAME or not value.isprintable():
        return None
    return value
