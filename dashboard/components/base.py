"""The base of every dashboard component a layout can place.

A component is a thin :class:`panel.viewable.Viewer` over one tab's
:class:`~alabel.dashboard.state.TabState`: it builds widgets, watches the
state's params and calls the state's methods; it holds no labelling state of
its own. Each declares its layout name once (``type_name``) and its layout
options in ``params_spec`` (:mod:`alabel.core.params` declarations: type,
default, bounds, doc), so ``layouts/*.yaml`` resolve through
:func:`alabel.core.registry.resolve` and are validated before anything is
built.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import panel as pn

from alabel.core.params import Param, validate


class Component(pn.viewable.Viewer):
    """A panel of the dashboard placed by a YAML layout.

    Parameters
    ----------
    state : TabState
        The tab's state.
    **options
        Layout options declared in ``params_spec``; missing ones take their default.
    """

    type_name: ClassVar[str]
    #: One-line description shown in layout errors and docs.
    title: ClassVar[str] = ""
    #: Layout options this component takes.
    params_spec: ClassVar[dict[str, Param]] = {}

    def __init__(self, state, **options):
        super().__init__()
        self.state = state
        # The layout checked them at load (naming its file); this fills in the defaults.
        self.layout_options = dict(validate(self.params_spec, options, where=type(self).__name__,
                                             key="options", noun="option"))
        self._watchers: list = []

    # -- validation (before anything is built) -------------------------------------
    @classmethod
    def check_options(cls, options: Mapping[str, Any], *, where: str, key: str) -> None:
        """Raise ConfigError naming ``where`` and ``key`` for an unknown, mistyped or out-of-range option."""
        validate(cls.params_spec, options, where=where, key=key, owner=f" of component {cls.type_name!r}",
                 noun="option", fill=False)

    @classmethod
    def check_data(cls, options: Mapping[str, Any], session, *, where: str, key: str) -> None:
        """Raise ConfigError when an option names a column the data lack (override per component)."""

    # -- helpers ---------------------------------------------------------------------
    def watch(self, fn, *names: str) -> None:
        """Call ``fn(*events)`` when state params change, where Bokeh models may change.

        The watchers are kept so :meth:`dispose` can drop them.
        """
        def run(*events):
            on_document(self.state, lambda: fn(*events))
        self._watchers.append(self.state.param.watch(run, list(names)))

    def bokeh(self, fn: Callable[[], None]) -> None:
        """Apply a change to raw Bokeh models safely (see :func:`on_document`)."""
        on_document(self.state, fn)

    def dispose(self) -> None:
        """Stop watching the state (the layout was switched or the tab closed)."""
        for watcher in self._watchers:
            self.state.param.unwatch(watcher)
        self._watchers = []

    def card(self, *objects, title: str | None = None, **kwargs) -> pn.Column:
        """The component's body in a titled column with the component's CSS class (``title=""``: untitled)."""
        kwargs.setdefault("sizing_mode", "stretch_width")
        classes = ["alabel-card", f"alabel-{self.type_name}", f"in-layout-{self.state.layout_name}"]
        if title == "":  # no heading: the body says what it is (the labelling banner)
            return pn.Column(*objects, css_classes=classes, **kwargs)
        header = pn.pane.HTML(f"<h3 class='alabel-title'>{title or self.title}</h3>",
                              margin=(0, 5), sizing_mode="stretch_width")
        return pn.Column(header, *objects, css_classes=classes, **kwargs)


def on_document(state, fn: Callable[[], None]) -> None:
    """Run ``fn`` (which changes raw Bokeh models) where the document lock is held.

    Panel widgets and panes dispatch their own changes from any thread, but a
    raw Bokeh model (a ColumnDataSource) may only change on the server's event
    loop, which runs in the main thread, and (as Panel handles widget events
    outside Bokeh's document lock) inside ``pn.io.unlocked()``. From another
    thread (a Panel event thread with ``--num-threads``, a worker) the change
    goes to the tab's next tick instead.
    """
    if threading.current_thread() is threading.main_thread():
        # Panel processes widget changes outside Bokeh's document lock; unlocked()
        # holds the document and writes the resulting patches to the browser itself.
        with pn.io.unlocked():
            fn()
    else:
        state.schedule(fn)


def held(fn: Callable, *args, **kwargs):
    """Run a user action with the document held: all its changes reach the browser as one message.

    A label click changes a dozen models (banner, detail, overlays, lists); sent
    one by one, each makes the browser lay the page out again.
    """
    with pn.io.hold():
        return fn(*args, **kwargs)


def check_columns(columns, session, *, where: str, key: str) -> None:
    """Raise ConfigError for the first column the pool lacks (with a close match)."""
    from alabel.core.errors import ConfigError, did_you_mean

    known = [str(c) for c in session.pool.frame.columns]
    for i, column in enumerate(columns):
        if column not in known:
            raise ConfigError(f"{where}: {key}[{i}]: column {column!r} is not in the data"
                              f"{did_you_mean(str(column), known)}")
