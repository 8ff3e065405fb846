"""The Panel app: one page per browser tab over a shared session hub.

``alabel serve CONFIG`` calls :func:`serve`; ``panel serve dashboard/app.py
--args CONFIG`` (or with ``ALABEL_CONFIG`` set) serves the same page, for
deployments that prefer Panel's own command line.

Per tab, :func:`create_page` makes a :class:`~alabel.dashboard.state.TabState`
whose ``schedule`` hands worker-thread results to the tab's Bokeh document, a
:class:`DashboardPage` with the components of the chosen layout, and the
keyboard capture; closing the tab releases its leases. The hub (engine
session, trainer, label store) is opened once, before the server starts.
"""
from __future__ import annotations

import html
import logging
import os
import signal
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import panel as pn
from alabel.core.errors import AlabelError, ConfigError

# Absolute imports: ``panel serve dashboard/app.py`` runs this file as a script, not as a module.
from alabel.dashboard.access import (
    ANNOTATOR_COOKIE,
    ServerAccess,
    allowed_hosts,
    check_host_entry,
    install_host_guard,
    is_loopback,
    page_identity,
    request_allowed,
)
from alabel.dashboard.auth import (
    AuthOptions,
    check_auth_options,
    cookie_secret,
    password_provider,
    signed_in_user,
)
from alabel.dashboard.components import KeyCapture
from alabel.dashboard.components.base import held
from alabel.dashboard.components.identity import AnnotatorMemory, annotator_field
from alabel.dashboard.disconnects import quiet_disconnects
from alabel.dashboard.hub import ServerHub, close_all, open_hub, resolve_alias
from alabel.dashboard.layout import LayoutCatalog, build_layout, resolve_layout
from alabel.dashboard.redact import redact_paths
from alabel.dashboard.shell import app_shell
from alabel.dashboard.state import TabState

log = logging.getLogger(__name__)

#: GIL switch interval of the server (Python's default is 5 ms).
SWITCH_INTERVAL_S = 0.001

_CSS = """
.alabel-card { border: 1px solid #e3e3e3; border-radius: 6px; padding: 4px 6px; margin: 4px; background: #fff; }
.alabel-title { margin: 2px 0 4px 0; font-size: 1.05em; color: #333; }
.badge-test { background: #b00020; color: white; border-radius: 3px; padding: 0 4px; font-weight: 600; }
.banner { font-size: 1.1em; padding: 4px 0; }
"""


def _document_scheduler(doc) -> Callable[[Callable[[], None]], None]:
    """``schedule(fn)``: run ``fn`` on the tab's event loop with the document current."""
    from panel.io.state import set_curdoc

    def schedule(fn: Callable[[], None]) -> None:
        if doc.session_context is None or getattr(doc.session_context, "_destroyed", False):
            return

        def run():
            with set_curdoc(doc):
                fn()
        try:
            doc.add_next_tick_callback(run)
        except Exception:  # the document went away between the check and the call
            log.debug("tab closed before an update could be applied")
    return schedule


class DashboardPage(pn.viewable.Viewer):
    """Header (session, annotator, layout picker, status line) over the chosen layout.

    ``catalog`` lists the layouts this page may show (by name only).
    """

    def __init__(self, state: TabState, catalog: LayoutCatalog | None = None, **params):
        super().__init__(**params)
        self.state = state
        session = state.session
        self.catalog = catalog or LayoutCatalog.for_config(session.config)
        self.layout_select = pn.widgets.Select.from_param(state.param.layout_name, label="",
                                                          options=self.catalog.names, width=130,
                                                          css_classes=["layout-select"])
        self.annotator = annotator_field(state)
        self.memory = None
        if not state.annotator_locked:  # the browser keeps the name for the next page load
            self.memory = AnnotatorMemory(annotator=state.annotator, height=0, width=0, margin=0)
            state.param.watch(lambda event: setattr(self.memory, "annotator", event.new), "annotator")
        self.message = pn.pane.HTML("", css_classes=["alabel-message"], sizing_mode="stretch_width")
        title = html.escape(session.config.name)
        self.title_text = f"alabel · {session.config.name}"
        self.title = pn.pane.HTML(f"<h2 class='alabel-heading' style='margin:4px 0'>alabel · {title} "
                                  f"<small style='color:#666'>({session.pool.n:,} objects)</small></h2>")
        self.progress = pn.pane.HTML("", css_classes=["session-progress-pane"], margin=(0, 10))
        self.layout_marker = pn.pane.HTML("", margin=0, width=0, height=0)
        self.keys = KeyCapture(partial(held, state.press), keys=state.keymap.keys, height=0, width=0, margin=0)
        self.sidebar = pn.Column(width=380)
        self.main = pn.Column(sizing_mode="stretch_width")
        self.components: list = []
        state.param.watch(self._on_layout, "layout_name")
        state.param.watch(self._on_message, ["message", "message_level"])
        state.param.watch(self._on_classes, "classes")
        state.param.watch(self._on_progress, ["label_counts", "model_version", "model_n_labels"])
        self._on_layout()
        self._on_message()
        self._on_progress()

    def __panel__(self):
        header = pn.Row(self.title, self.progress, pn.layout.HSpacer(), pn.pane.HTML("annotator"), self.annotator,
                        pn.pane.HTML("layout"), self.layout_select, sizing_mode="stretch_width")
        hidden = [self.keys, self.layout_marker] + ([self.memory] if self.memory is not None else [])
        return pn.Column(header, self.message, pn.Row(self.sidebar, self.main, sizing_mode="stretch_width"),
                         *hidden, sizing_mode="stretch_width", stylesheets=[_CSS], css_classes=["alabel-page"])

    # -- the parts the app shell (dashboard/shell.py) places in its header and main area ----------
    def header_bar(self) -> pn.viewable.Viewable:
        """Progress, annotator and layout picker, for the template's header."""
        # The template's header makes text white, inputs included: dark text on white inputs,
        # white words on the header.
        for widget in (self.annotator, self.layout_select):
            widget.stylesheets = [".bk-input { color: #111 !important; background-color: #fff !important; }"]
        white = [":host, div, span, b { color: #fff !important; }"]
        self.progress.stylesheets = white
        return pn.FlexBox(self.progress, pn.pane.HTML("annotator", stylesheets=white), self.annotator,
                          pn.pane.HTML("layout", stylesheets=white), self.layout_select, align_items="center",
                          flex_wrap="wrap", css_classes=["alabel-header-bar"], sizing_mode="stretch_width",
                          styles={"justify-content": "flex-end", "gap": "6px"})

    def main_parts(self) -> list:
        """Status line, the layout's main components, and the invisible key capture."""
        hidden = [self.keys, self.layout_marker] + ([self.memory] if self.memory is not None else [])
        return [self.message, self.main, *hidden]

    def _on_progress(self, *_) -> None:
        state = self.state
        counts = state.label_counts
        train = int(counts["train"].sum()) if counts is not None else 0
        test = int(counts["test"].sum()) if counts is not None else 0
        version = state.model_version
        model = "no model yet" if version is None else f"model v{version} ({state.model_n_labels} labels)"
        tested = f" + {test} test" if test else ""
        self.progress.object = (
            f"<span class='session-progress' data-labels='{train + test}' data-version='{version or ''}'>"
            f"<b>{train}</b> labels{tested} of {state.session.pool.n:,} objects · {model}</span>")

    def _on_layout(self, *_) -> None:
        state = self.state
        try:
            spec = self.catalog.resolve(state.layout_name, state.session)
        except AlabelError as exc:
            state._say(str(exc), "error")
            return
        sidebar, main, components = build_layout(spec, state)
        self.dispose()
        self.components = components
        self.sidebar.objects = list(sidebar.objects)
        self.sidebar.visible = bool(sidebar.objects)
        self.main.objects = list(main.objects)
        self.layout_marker.object = f"<span class='layout-name' data-layout='{html.escape(spec.name)}'></span>"

    def _on_message(self, *_) -> None:
        colour = {"info": "#1b5e20", "warning": "#8a6d00", "error": "#b00020"}[self.state.message_level]
        # Messages name the file at fault, often by its absolute path: the page shows it relative.
        text = redact_paths(self.state.message, self.state.hub.config_path.parent)
        self.message.object = (f"<div class='status-line' data-level='{self.state.message_level}' "
                               f"style='color:{colour};min-height:1.3em'>{html.escape(text)}</div>")

    def _on_classes(self, *_) -> None:
        self.keys.keys = self.state.keymap.keys

    def dispose(self) -> None:
        for component in self.components:
            component.dispose()
        self.components = []


def create_page(hub: ServerHub, layout: str | None = None,
                access: ServerAccess | None = None) -> pn.viewable.Viewable:
    """The page of one browser tab (Panel calls this once per session).

    ``layout`` is the server's ``--layout``; ``access`` says how the server
    lets people in (who the page labels as depends on it).
    """
    doc = pn.state.curdoc
    args = pn.state.session_args if doc is not None else {}
    cookies = dict(pn.state.cookies or {}) if doc is not None else {}
    schedule = _document_scheduler(doc) if doc is not None else None
    page = build_page(hub, args=args, cookies=cookies, layout=layout, access=access or _script_access(),
                      schedule=schedule)

    def destroyed(_context):
        page.dispose()
        page.state.close()
    if doc is not None:
        pn.state.on_session_destroyed(destroyed)
    return page


def build_page(hub: ServerHub, *, args: dict, cookies: dict, layout: str | None = None,
               access: ServerAccess | None = None, schedule=None) -> DashboardPage:
    """The page for a request's address arguments (``?layout=``, ``?annotator=``, ``?session=``) and cookies.

    What the address asks for is only a choice among what the server offers:
    a layout by name from the catalog, an uploaded session by its token, an
    annotator name only where :func:`~alabel.dashboard.access.page_identity`
    allows it. Anything else is ignored, and the page says so.
    """
    access = access or ServerAccess()
    notes = []
    uploaded = resolve_alias(_arg(args, "session") or "")
    if uploaded is not None:  # a bundle opened from the page: its layout files stay inside it
        hub = uploaded
    try:
        catalog = LayoutCatalog.for_config(hub.session.config, None if uploaded else layout,
                                           confine=uploaded is not None)
    except AlabelError as exc:
        catalog = LayoutCatalog.shipped()
        notes.append(str(exc))
    layout_name = catalog.default
    requested = _arg(args, "layout")
    if requested:
        try:
            layout_name = catalog.check_name(requested)
        except AlabelError as exc:  # the same words for a name, a missing path or a real file
            notes.append(f"?layout= ignored: {exc}")
    identity = page_identity(access, user=signed_in_user(cookies, access.cookie_secret),
                             url_name=_arg(args, "annotator"), remembered=cookies.get(ANNOTATOR_COOKIE))
    notes.append(identity.note)
    params = {"layout_name": layout_name, "annotator_locked": identity.locked}
    if identity.name:
        params["annotator"] = identity.name
    state = TabState(hub, schedule=schedule, **params)
    page = DashboardPage(state, catalog)
    if any(notes):
        state._say("; ".join(n for n in notes if n), "warning")
    return page


def _script_access() -> ServerAccess:
    """``panel serve dashboard/app.py``: Panel's own auth if configured; the address is unknown here."""
    auth = "oauth" if pn.config.oauth_provider else "password" if getattr(pn.config, "basic_auth", None) else None
    return ServerAccess(auth=auth, loopback=False, cookie_secret=pn.config.cookie_secret)


def _arg(args: dict, name: str) -> str | None:
    values = args.get(name)
    if not values:
        return None
    value = values[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def serve(config_path: str | Path | None, *, address: str = "127.0.0.1", port: int = 5006, show: bool = False,
          num_threads: int = 0, layout: str | None = None, auth: AuthOptions | None = None,
          allow_hosts: tuple[str, ...] = (), setup=None) -> None:
    """Open the session of ``config_path`` and serve the dashboard until interrupted.

    Everything a user can get wrong (config, data, layout, authentication)
    is checked before the server starts, so it fails with a one-line error
    instead of a page that never loads. A server reachable from the network
    needs authentication (``auth``); every request must name an allowed host.
    ``setup`` (a :class:`~alabel.dashboard.setup_page.SetupServer`, for a data file
    without a config) serves the setup page instead until a config is saved.
    """
    auth = auth or AuthOptions()
    loopback = is_loopback(address)
    if not loopback and not auth.kind:
        raise ConfigError(f"--address {address}: reachable from the network, so it needs authentication: "
                          "--password-file FILE (make one with: alabel passwd FILE USER) or --oauth-provider NAME")
    check_auth_options(auth)
    hosts = allowed_hosts(address, port, allow_hosts)
    # Worker threads (queries, label re-reads, the trainer's bookkeeping) share the GIL with
    # the event loop; a shorter switch interval gives a click back the interpreter sooner.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    hub = open_hub(config_path) if setup is None else None
    name, n_objects = (setup.title, setup.n_objects) if hub is None else (hub.session.config.name, hub.session.pool.n)
    try:
        if hub is not None:
            resolve_layout(layout or hub.session.config.ui.layout, hub.session)
        secret = None
        if auth.kind:
            folder = hub.config_path.parent if hub is not None else setup.out.parent
            secret = cookie_secret(auth.cookie_secret_file or folder / ".alabel" / "cookie-secret")
        access = ServerAccess(auth=auth.kind, loopback=loopback, cookie_secret=secret)
        if num_threads:
            pn.config.nthreads = int(num_threads)

        def page():  # a plain function: Panel calls functions once per browser session
            if hub is None:
                return setup.page(layout, access)
            return app_shell(create_page(hub, layout, access))
        options = {}
        if auth.password_file:
            options["auth_provider"] = password_provider(auth.password_file)
        elif auth.oauth_provider:
            options.update(oauth_provider=auth.oauth_provider, oauth_key=auth.oauth_key,
                           oauth_redirect_uri=auth.oauth_redirect_uri)
        server = pn.serve({"/": page}, address=address, port=port, show=show, start=False,
                          title=f"alabel · {name}",
                          # Bokeh's Origin list cannot spell IPv6 ([::1]); same-origin pages there pass Tornado's check
                          websocket_origin=[h for h in hosts if "[" not in h],
                          cookie_secret=secret, verbose=False, **options)
        install_host_guard(server._tornado, hosts)

        def stop(*_):
            server.io_loop.add_callback_from_signal(server.io_loop.stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        server.start()
        if not loopback:
            print(f"alabel: warning: listening on {address}:{server.port}, reachable from the network "
                  f"({auth.kind} sign-in; answers to {', '.join(hosts)}; use TLS through a reverse proxy)",
                  file=sys.stderr, flush=True)
        print(f"alabel: serving {name} ({n_objects:,} objects) at "
              f"http://{address}:{server.port}/  (Ctrl-C stops)", file=sys.stderr, flush=True)
        quiet_disconnects(server.io_loop.asyncio_loop)
        server.io_loop.start()
    finally:
        close_all()


#: ``panel serve dashboard/app.py`` answers these host names (comma-separated, as ``--allow-host``)
#: besides this machine's loopback names.
SCRIPT_HOSTS_ENV = "ALABEL_ALLOW_HOSTS"
SCRIPT_REFUSED = ("alabel: this server does not answer to that host name (panel serve dashboard/app.py "
                  f"answers localhost, 127.0.0.1 and [::1]; add names with {SCRIPT_HOSTS_ENV}=name,...; "
                  "or use alabel serve --allow-host)")


def script_request_allowed(headers, environ=os.environ) -> bool:
    """Whether ``panel serve dashboard/app.py`` may build a page for the request that started a session.

    That command's server is Panel's, so :func:`serve`'s router-level Host
    guard cannot be installed on it; instead the script checks the request
    that starts each session (the page, or a websocket asking for a new
    session) before it opens anything: a DNS-rebinding page names its own host.
    """
    extra = [check_host_entry(entry) for entry in environ.get(SCRIPT_HOSTS_ENV, "").split(",") if entry.strip()]
    return request_allowed(headers or {}, ["localhost", "127.0.0.1", "[::1]", *extra])


# ``panel serve dashboard/app.py --args CONFIG``: Panel imports this module as a script.
if __name__.startswith("bokeh_app"):
    if script_request_allowed(pn.state.headers):
        _config = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ALABEL_CONFIG", "config.yaml")
        app_shell(create_page(open_hub(_config))).servable(title="alabel")
    else:
        print(f"{SCRIPT_REFUSED}: Host {str(pn.state.headers.get('Host'))[:80]!r}", file=sys.stderr, flush=True)
        pn.pane.Str(SCRIPT_REFUSED).servable(title="alabel")


__all__ = ["DashboardPage", "build_page", "create_page", "serve"]
