"""BLAS/OpenMP thread limits that several threads of one process can hold at once.

threadpoolctl's limits are process-wide: a query limiting k-means to one
thread and the trainer limiting a fit would each restore "their" original on
exit, and whichever leaves last could leave the process limited (or
unlimited) for good. Here the limits are held by count: the first holder
records the libraries' settings, the last one to leave restores them; while
holders overlap, the most recent request is in force.
"""
from __future__ import annotations

import contextlib
import os
import threading

_lock = threading.Lock()
_holders = 0
_controller = None
_original = None


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def scoring_threads() -> int:
    """BLAS threads for a pass over the pool: every CPU but one, left to the server's interpreter.

    Measured on a shared 2-core machine: two BLAS threads made a 1M-row
    scoring pass ~3x slower than one under load (issue 12).
    """
    return max(1, available_cpus() - 1)


@contextlib.contextmanager
def limited(threads: int):
    """Run the block with BLAS and OpenMP pools of at most ``threads`` threads."""
    global _holders, _controller, _original
    with _lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        if _holders == 0:
            _original = _controller.info()
        _holders += 1
        _controller.limit(limits=int(threads))
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                for pool, before in zip(_controller.lib_controllers, _original):
                    pool.set_num_threads(before["num_threads"])
