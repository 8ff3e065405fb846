"""Notice labels that other processes write to the same store.

Two ``alabel serve`` on one PostgreSQL store serve one team, and ``alabel
label`` may import into a store a server has open: a session only hears of its
own writes, so without a watcher the other server's labels would show (and be
trained on) only after its own next label. The watcher polls the store's
revision (one indexed ``max(seq)``), which costs a query a second and needs no
server-side notification channel, so it works the same on SQLite and
PostgreSQL; the store tells its own writes from others'.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0


class RevisionWatcher:
    """Call ``on_change(revision)`` whenever ``poll()`` returns a revision (not None).

    ``poll`` is :meth:`LabelStore.revision_written_elsewhere`: it tells another
    process's events from the store object's own, so a session's own labels do
    not echo back as foreign ones.
    """

    def __init__(self, poll: Callable[[], int | None], on_change: Callable[[int], None], *,
                 interval_s: float = DEFAULT_INTERVAL_S):
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, not {interval_s!r}")
        self._poll = poll
        self._on_change = on_change
        self.interval_s = float(interval_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alabel-store-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                revision = self._poll()
            except Exception as exc:  # a store that went away is reported by the next write, not here
                log.debug("store revision unreadable: %s", exc)
                continue
            if revision is not None:
                try:
                    self._on_change(int(revision))
                except Exception:
                    log.exception("reacting to labels written elsewhere failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
