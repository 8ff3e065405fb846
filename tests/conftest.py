"""Test-wide settings.

``TRITON_INTERPRET=1`` must be in the environment before any ``@triton.jit``
decorator runs, so that the Triton kernels run on CPU tensors in CI (no GPU).
Setting it here, at import time, precedes every test module's imports.
"""
import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest


@pytest.fixture
def nan_guarded():
    """Copy a 1-D/2-D tensor into a NaN-padded buffer and return the view of the original.

    The Triton interpreter does not fault on out-of-bounds loads; padding
    every edge with NaN makes an unmasked load poison the result instead.
    The view is strided like a slice of a larger matrix, which also tests
    that kernels honour strides.
    """

    def make(t, pad: int = 7):
        import torch

        if t.ndim == 1:
            buf = torch.full((t.shape[0] + 2 * pad,), float("nan"), dtype=t.dtype)
            buf[pad:pad + t.shape[0]] = t
            return buf[pad:pad + t.shape[0]]
        rows, cols = t.shape
        buf = torch.full((rows + 2 * pad, cols + 2 * pad), float("nan"), dtype=t.dtype)
        buf[pad:pad + rows, pad:pad + cols] = t
        return buf[pad:pad + rows, pad:pad + cols]

    return make
