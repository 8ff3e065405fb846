"""Sign-in guessing is bounded: repeated failures lock a name, and a client address, for a while.

A failed sign-in is already answered after a delay, but an attacker sends many
at once. :class:`LoginThrottle` counts failures per key (the user name, the
client address) in a sliding window; past ``max_failures`` the key is refused
for ``lock_s`` seconds without the password being checked, so no guess in that
time can succeed. Counting both keys means neither spraying one password over
many names from one address, nor many addresses at one name, gets far. A
success clears the name's failures (not the address's). Memory is bounded: old
entries are dropped, and past ``max_keys`` the oldest go first.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginThrottle:
    """Counts failed sign-ins per key and says how long a key is refused."""

    def __init__(self, *, max_failures: int = 5, window_s: float = 900.0, lock_s: float = 300.0,
                 max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        if max_failures < 1 or window_s <= 0 or lock_s <= 0 or max_keys < 1:
            raise ValueError("LoginThrottle: max_failures, window_s, lock_s and max_keys must be positive")
        self.max_failures = int(max_failures)
        self.window_s = float(window_s)
        self.lock_s = float(lock_s)
        self.max_keys = int(max_keys)
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def refused_for(self, *keys: str) -> float:
        """Seconds until every one of ``keys`` may try again (0: none is locked)."""
        now = self._clock()
        with self._lock:
            waits = [record.locked_until - now for key in keys if (record := self._records.get(key)) is not None]
        return max([0.0, *waits])

    def failed(self, *keys: str) -> None:
        """Count one failed sign-in against each key (locking those past the limit)."""
        now = self._clock()
        with self._lock:
            for key in keys:
                record = self._records.pop(key, None) or _Record()
                record.failures = [t for t in record.failures if now - t < self.window_s] + [now]
                if len(record.failures) >= self.max_failures:
                    record.locked_until = now + self.lock_s
                    record.failures = []
                self._records[key] = record  # most recent last
            self._forget(now)

    def succeeded(self, key: str) -> None:
        """A correct password for ``key``: its failures are forgotten."""
        with self._lock:
            self._records.pop(key, None)

    def _forget(self, now: float) -> None:
        stale = [key for key, record in self._records.items()
                 if record.locked_until <= now and not [t for t in record.failures if now - t < self.window_s]]
        for key in stale:
            del self._records[key]
        while len(self._records) > self.max_keys:
            self._records.popitem(last=False)
