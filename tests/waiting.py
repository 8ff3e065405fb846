"""Polling helper of the tests (importable from every test folder: tests/ is on sys.path)."""
from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
