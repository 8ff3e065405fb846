"""Give freed heap memory back to the operating system after a large load.

Reading a big table makes many short-lived buffers (Parquet pages, string
conversions, joins). glibc keeps the freed ones in its arenas, so the process
stays as large as at its peak although the pool needs far less: at 1M rows
that is more than the pool itself. ``malloc_trim(0)`` returns what is free;
it is glibc-only and a no-op elsewhere. Arrow (which reads Parquet) keeps
its own pool of freed buffers; it is asked to let them go too.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys

log = logging.getLogger(__name__)


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_freed_memory() -> bool:
    """Return freed heap pages to the OS; True when the C library could (glibc)."""
    arrow = sys.modules.get("pyarrow")  # only if something read with it: never imported here
    if arrow is not None:
        try:
            arrow.default_memory_pool().release_unused()
        except Exception as exc:  # an Arrow build without the call: keep its buffers
            log.debug("Arrow kept its freed buffers: %s", exc)
    libc = _libc()
    if libc is None:
        return False
    try:
        return bool(libc.malloc_trim(0))
    except Exception as exc:  # a C library with another signature: keep the memory, not crash
        log.debug("malloc_trim failed: %s", exc)
        return False
