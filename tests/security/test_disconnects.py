"""A browser that goes away mid-message leaves no traceback in the server's terminal; real errors still do."""
from __future__ import annotations

import asyncio
import gc
import logging
import threading

from alabel.dashboard.disconnects import quiet_disconnects
from tornado.websocket import WebSocketClosedError


def _orphan_task_failing_with(loop, exc):
    async def fail():
        raise exc
    return loop.create_task(fail())


def test_closed_websocket_goes_to_the_debug_log_and_other_errors_still_print(caplog):
    caplog.set_level(logging.DEBUG)

    def run():  # in a thread of its own: an earlier test may leave a loop marked running in this one
        loop = asyncio.new_event_loop()
        try:
            quiet_disconnects(loop)  # without it, both exceptions are logged as errors
            for exc in (WebSocketClosedError(), RuntimeError("a real bug")):
                task = _orphan_task_failing_with(loop, exc)
                loop.run_until_complete(asyncio.wait([task]))
                del task  # never retrieved: asyncio reports it when the task is collected
            gc.collect()
        finally:
            loop.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "a real bug" in (errors[0].exc_text or str(errors[0].exc_info))
    quiet = [r for r in caplog.records if r.name == "alabel.dashboard.disconnects"]
    assert len(quiet) == 1 and quiet[0].levelno == logging.DEBUG
