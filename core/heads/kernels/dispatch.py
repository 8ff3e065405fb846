"""Choose between the Triton kernels and the chunked torch reference.

``backend="auto"`` takes Triton when the tensors live on a CUDA device and
Triton imports; everything else (CPU tensors, no Triton, macOS/Windows) takes
the torch reference, which is chunked so it stays memory-bounded too.
``backend="triton"`` forces the kernels; on CPU tensors that only works under
``TRITON_INTERPRET=1`` (set before Triton compiles anything), which is how CI
tests the kernels without a GPU.

:data:`stats` counts which path ran and how many tiles the cross-entropy
backward skipped, so tests can assert that the kernel they meant to test ran.
"""
from __future__ import annotations

import functools
import os
import threading

import torch

from ...errors import ConfigError

BACKENDS = ("auto", "triton", "torch")


@functools.lru_cache(maxsize=1)
def triton_importable() -> bool:
    """True when ``import triton`` works (Linux wheels only)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def interpreting() -> bool:
    """True when Triton runs kernels in its Python interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def resolve_backend(backend: str, *tensors: torch.Tensor) -> str:
    """Return ``"triton"`` or ``"torch"`` for ``backend`` and the tensors it will see.

    Raises
    ------
    ConfigError
        On an unknown backend name, or when ``"triton"`` is forced where it
        cannot run (no Triton, or CPU tensors without the interpreter).
    """
    if backend not in BACKENDS:
        raise ConfigError(f"kernels: backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    on_cuda = all(t.is_cuda for t in tensors if t is not None)
    if backend == "torch":
        return "torch"
    if backend == "auto":
        return "triton" if on_cuda and triton_importable() and not interpreting() else "torch"
    if not triton_importable():
        raise ConfigError("kernels: backend 'triton' requested but triton is not installed")
    if not on_cuda and not interpreting():
        raise ConfigError(
            "kernels: backend 'triton' on CPU tensors needs TRITON_INTERPRET=1 set before triton loads"
        )
    return "triton"


class KernelStats:
    """Counters of kernel launches, read by tests and benchmarks.

    Tile counts are kept as a device tensor and only turned into a Python int
    when read, so counting never forces a GPU synchronisation in training.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.pool_triton = 0
            self.pool_torch = 0
            self.ce_forward_triton = 0
            self.ce_backward_triton = 0
            self.ce_forward_torch = 0
            self.ce_backward_torch = 0
            self._tiles_skipped: torch.Tensor | int = 0
            self._tiles_total = 0

    def bump(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def add_tiles(self, skipped: torch.Tensor, total: int) -> None:
        """Record the per-program skip counts one backward kernel wrote."""
        with self._lock:
            self._tiles_skipped = self._tiles_skipped + skipped.sum()
            self._tiles_total += int(total)

    @property
    def ce_tiles_skipped(self) -> int:
        """Tiles the Triton cross-entropy backward skipped (both gradient kernels)."""
        return int(self._tiles_skipped)

    @property
    def ce_tiles_total(self) -> int:
        """Tiles the Triton cross-entropy backward visited (both gradient kernels)."""
        return self._tiles_total


#: Process-wide counters; call ``stats.reset()`` before measuring.
stats = KernelStats()
