"""The Panel app: one page per browser tab over a shared session hub.

``alabel serve CONFIG`` calls :func:`serve`; ``panel serve dashboard/app.py
--args CONFIG`` (or with ``ALABEL_CONFIG`` set) serves the same page, for
deployments that prefer Panel's own command line.

Per tab, :func:`create_page` makes a :class:`~alabel.dashboard.state.SessionState`
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

from alabel.core.errors import AlabelError

# Absolute imports: ``panel serve dashboard/app.py`` runs this file as a script, not as a module.
from alabel.dashboard.components import KeyCapture
from alabel.dashboard.components.base import held
from alabel.dashboard.hub import SessionHub, close_all, open_hub, resolve_alias
from alabel.dashboard.layout import available_layouts, build_layout, resolve_layout
from alabel.dashboard.state import SessionState

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
    """Header (session, annotator, layout picker, status line) over the chosen layout."""

    def __init__(self, state: SessionState, **params):
        super().__init__(**params)
        self.state = state
        session = state.session
        layouts = available_layouts(session.config)
        if state.layout_name not in layouts:
            layouts.append(state.layout_name)
        self.layout_select = pn.widgets.Select.from_param(state.param.layout_name, label="", options=layouts,
                                                          width=130, css_classes=["layout-select"])
        self.annotator = pn.widgets.TextInput.from_param(state.param.annotator, label="", width=150,
                                                         css_classes=["header-annotator"])
        self.message = pn.pane.HTML("", css_classes=["alabel-message"], sizing_mode="stretch_width")
        title = html.escape(session.config.name)
        self.title = pn.pane.HTML(f"<h2 class='alabel-heading' style='margin:4px 0'>alabel · {title} "
                                  f"<small style='color:#666'>({session.pool.n:,} objects)</small></h2>")
        self.layout_marker = pn.pane.HTML("", margin=0, width=0, height=0)
        self.keys = KeyCapture(partial(held, state.press), keys=state.keymap.keys, height=0, width=0, margin=0)
        self.sidebar = pn.Column(width=380)
        self.main = pn.Column(sizing_mode="stretch_width")
        self.components: list = []
        state.param.watch(self._on_layout, "layout_name")
        state.param.watch(self._on_message, ["message", "message_level"])
        state.param.watch(self._on_classes, "classes")
        self._on_layout()
        self._on_message()

    def __panel__(self):
        header = pn.Row(self.title, pn.layout.HSpacer(), pn.pane.HTML("annotator"), self.annotator,
                        pn.pane.HTML("layout"), self.layout_select, sizing_mode="stretch_width")
        return pn.Column(header, self.message, pn.Row(self.sidebar, self.main, sizing_mode="stretch_width"),
                         self.keys, self.layout_marker, sizing_mode="stretch_width", stylesheets=[_CSS],
                         css_classes=["alabel-page"])

    def _on_layout(self, *_) -> None:
        state = self.state
        try:
            spec = resolve_layout(state.layout_name, state.session)
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
        self.message.object = (f"<div class='status-line' data-level='{self.state.message_level}' "
                               f"style='color:{colour};min-height:1.3em'>{html.escape(self.state.message)}</div>")

    def _on_classes(self, *_) -> None:
        self.keys.keys = self.state.keymap.keys

    def dispose(self) -> None:
        for component in self.components:
            component.dispose()
        self.components = []


def create_page(hub: SessionHub, layout: str | None = None) -> pn.viewable.Viewable:
    """The page of one browser tab (Panel calls this once per session)."""
    doc = pn.state.curdoc
    args = pn.state.session_args if doc is not None else {}
    token = _arg(args, "session")
    if token:
        hub = resolve_alias(token) or hub
    params = {}
    annotator = _arg(args, "annotator")
    if annotator:
        params["annotator"] = annotator
    params["layout_name"] = _arg(args, "layout") or layout or hub.session.config.ui.layout
    schedule = _document_scheduler(doc) if doc is not None else None
    state = SessionState(hub, schedule=schedule, **params)
    page = DashboardPage(state)

    def destroyed(_context):
        page.dispose()
        state.close()
    if doc is not None:
        pn.state.on_session_destroyed(destroyed)
    return page


def _arg(args: dict, name: str) -> str | None:
    values = args.get(name)
    if not values:
        return None
    value = values[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def serve(config_path: str | Path | None, *, address: str = "127.0.0.1", port: int = 5006, show: bool = False,
          num_threads: int = 0, layout: str | None = None, setup=None) -> None:
    """Open the session of ``config_path`` and serve the dashboard until interrupted.

    Everything a user can get wrong (config, data, layout) is checked before
    the server starts, so it fails with a one-line error instead of a page
    that never loads. ``setup`` (a :class:`~alabel.dashboard.setup_page.SetupServer`,
    for a data file without a config) serves the setup page instead until a
    config is saved.
    """
    # Worker threads (queries, label re-reads, the trainer's bookkeeping) share the GIL with
    # the event loop; a shorter switch interval gives a click back the interpreter sooner.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    hub = open_hub(config_path) if setup is None else None
    name, n_objects = (setup.title, setup.n_objects) if hub is None else (hub.session.config.name, hub.session.pool.n)
    try:
        if hub is not None:
            resolve_layout(layout or hub.session.config.ui.layout, hub.session)
        if num_threads:
            pn.config.nthreads = int(num_threads)
        origins = sorted({f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"})
        def page():  # a plain function: Panel calls functions once per browser session
            return setup.page(layout) if hub is None else create_page(hub, layout)
        server = pn.serve({"/": page}, address=address, port=port, show=show,
                          start=False, title=f"alabel · {name}", websocket_origin=origins,
                          verbose=False)

        def stop(*_):
            server.io_loop.add_callback_from_signal(server.io_loop.stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        server.start()
        print(f"alabel: serving {name} ({n_objects:,} objects) at "
              f"http://{address}:{server.port}/  (Ctrl-C stops)", file=sys.stderr, flush=True)
        server.io_loop.start()
    finally:
        close_all()


# ``panel serve dashboard/app.py --args CONFIG``: Panel imports this module as a script.
if __name__.startswith("bokeh_app"):
    _config = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ALABEL_CONFIG", "config.yaml")
    create_page(open_hub(_config)).servable(title="alabel")


__all__ = ["DashboardPage", "create_page", "serve"]
