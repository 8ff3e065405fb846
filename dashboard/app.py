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
from alabel.dashboard.shell import app_shell
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
        return pn.Column(header, self.message, pn.Row(self.sidebar, self.main, sizing_mode="stretch_width"),
                         self.keys, self.layout_marker, sizing_mode="stretch_width", stylesheets=[_CSS],
                         css_classes=["alabel-page"])

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
        return [self.message, self.main, self.keys, self.layout_marker]

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


def serve(config_path: str | Path, *, address: str = "127.0.0.1", port: int = 5006, show: bool = False,
          num_threads: int = 0, layout: str | None = None) -> None:
    """Open the session of ``config_path`` and serve the dashboard until interrupted.

    Everything a user can get wrong (config, data, layout) is checked before
    the server starts, so it fails with a one-line error instead of a page
    that never loads.
    """
    # Worker threads (queries, label re-reads, the trainer's bookkeeping) share the GIL with
    # the event loop; a shorter switch interval gives a click back the interpreter sooner.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    hub = open_hub(config_path)
    try:
        resolve_layout(layout or hub.session.config.ui.layout, hub.session)
        if num_threads:
            pn.config.nthreads = int(num_threads)
        origins = sorted({f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"})
        def page():  # a plain function: Panel calls functions once per browser session
            return app_shell(create_page(hub, layout))
        server = pn.serve({"/": page}, address=address, port=port, show=show,
                          start=False, title=f"alabel · {hub.session.config.name}", websocket_origin=origins,
                          verbose=False)

        def stop(*_):
            server.io_loop.add_callback_from_signal(server.io_loop.stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        server.start()
        print(f"alabel: serving {hub.session.config.name} ({hub.session.pool.n:,} objects) at "
              f"http://{address}:{server.port}/  (Ctrl-C stops)", file=sys.stderr, flush=True)
        server.io_loop.start()
    finally:
        close_all()


# ``panel serve dashboard/app.py --args CONFIG``: Panel imports this module as a script.
if __name__.startswith("bokeh_app"):
    _config = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ALABEL_CONFIG", "config.yaml")
    app_shell(create_page(open_hub(_config))).servable(title="alabel")


__all__ = ["DashboardPage", "create_page", "serve"]
