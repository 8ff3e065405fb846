"""A browser that goes away mid-message is not an error of the server.

When a tab closes, reloads or loses its network while the server is sending it
an update, Tornado's ``write_message`` task ends with ``WebSocketClosedError``;
nobody awaits that task, so asyncio prints "Task exception was never retrieved"
with two tracebacks in the operator's terminal: alarming, and it buries real
errors. :func:`quiet_disconnects` routes exactly those to the debug log and
leaves every other exception to asyncio's default handler.
"""
from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


def _closed_socket_errors() -> tuple[type[BaseException], ...]:
    from tornado.iostream import StreamClosedError
    from tornado.websocket import WebSocketClosedError

    return (WebSocketClosedError, StreamClosedError)


def disconnect_handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """An asyncio exception handler: closed-socket errors to the debug log, the rest as usual."""
    exception = context.get("exception")
    if isinstance(exception, _closed_socket_errors()):
        log.debug("a browser went away while the server was writing to it: %r", exception)
        return
    loop.default_exception_handler(context)


def quiet_disconnects(loop: asyncio.AbstractEventLoop) -> None:
    """Install :func:`disconnect_handler` on ``loop`` (the server's event loop)."""
    loop.set_exception_handler(disconnect_handler)
