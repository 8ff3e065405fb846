"""The session a notebook gets from ``alabel.open``: the engine, plus the dashboard inline.

``NotebookSession`` is an engine :class:`~alabel.core.session.Session` (label,
query and train from code) that can also show the labelling app in the
notebook: ``s.dashboard()`` returns the same page ``alabel serve`` serves
to a browser tab, over this very session, so labels given in the page and
in code land in one store and train one model. Panel is imported only when
``dashboard()`` is called.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alabel.core.config import SessionConfig
from alabel.core.session import Session


#: Panel extensions the dashboard's components use (tables in the finder and the review tab).
_EXTENSIONS = ("tabulator",)


class NotebookSession(Session):
    """A :class:`Session` with ``dashboard()`` and ``train()`` for interactive use.

    Parameters are those of :class:`Session`; models are saved under
    ``labels.models`` as ``alabel train`` and the server save them.
    """

    def __init__(self, config: SessionConfig, **kwargs):
        kwargs.setdefault("persist_models", True)
        super().__init__(config, **kwargs)
        self._hub = None

    def train(self, timeout: float | None = None):
        """Train on every label recorded so far; returns the newest :class:`ModelVersion`."""
        return self.wait_for_model(timeout=timeout)

    def dashboard(self, layout: str | None = None, *, annotator: str | None = None):
        """The labelling app over this session, for display in a notebook cell.

        Parameters
        ----------
        layout
            A shipped layout's name or a layout file (default: the config's ``ui.layout``).
        annotator
            Name recorded with labels given in the page (default: the session's annotator).
        """
        import panel as pn

        from .app import DashboardPage
        from .layout import resolve_layout
        from .state import TabState

        # Panel's JavaScript, and the widgets' that load on demand (a served page loads them itself).
        pn.extension(*_EXTENSIONS)
        hub = self._shared_hub()
        name = layout or self.config.ui.layout
        resolve_layout(name, self)  # a bad layout fails here, in one line
        state = TabState(hub, schedule=_kernel_scheduler(), annotator=annotator or self.annotator,
                             layout_name=name)
        return DashboardPage(state)

    def _shared_hub(self):
        from .hub import ServerHub

        if self._hub is None or self._hub.closed:
            self._hub = ServerHub(self.config.source, session=self, workers=2)
        return self._hub

    def close(self) -> None:
        if self._hub is not None and not self._hub.closed:
            self._hub.close()  # closes this session too
            return
        super().close()


def _kernel_scheduler() -> Callable[[Callable[[], None]], None] | None:
    """``schedule(fn)`` running ``fn`` on the kernel's event loop (worker results reach the page there).

    None (run at once) outside an event loop, e.g. a plain script.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        try:
            from tornado.ioloop import IOLoop

            loop = IOLoop.current().asyncio_loop
        except Exception:  # no tornado loop either: updates run where they happen
            return None

    def schedule(fn: Callable[[], None]) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(fn)
    return schedule


def open_session(config, **kwargs) -> NotebookSession:
    """``alabel.open``: load ``config`` (a path) and open its session."""
    return NotebookSession(SessionConfig.load(Path(config)), **kwargs)
