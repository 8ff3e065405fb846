"""Tile sizes and operand precision for the Triton kernels.

On a GPU, tiles are sized for registers/shared memory. In the interpreter
(``TRITON_INTERPRET=1``) every program and every inner-loop step is a round of
numpy calls, so few, large tiles are what keeps CI fast.
"""
from __future__ import annotations

import torch

from .dispatch import interpreting

# tl.dot needs every dimension >= 16; tl.arange needs powers of two.
MIN_BLOCK = 16

_GPU = {"pool": (64, 128, 64), "ce": (64, 128, 64)}
_INTERPRETER = {"pool": (256, 512, 128), "ce": (256, 512, 128)}


def _fit(limit: int, size: int) -> int:
    """Smallest power of two >= ``size``, clipped to [MIN_BLOCK, limit]."""
    p = MIN_BLOCK
    while p < size and p < limit:
        p *= 2
    return p


def pick_blocks(n: int, c: int, d: int, device: torch.device, *, kind: str) -> tuple[int, int, int]:
    """Return ``(BLOCK_N, BLOCK_C, BLOCK_D)`` for a problem of ``n`` rows, ``c`` classes, ``d`` features."""
    table = _GPU if (device.type == "cuda" and not interpreting()) else _INTERPRETER
    bn, bc, bd = table[kind]
    return _fit(bn, n), _fit(bc, c), _fit(bd, d)


def check_blocks(blocks: tuple[int, int, int]) -> tuple[int, int, int]:
    """Validate user-forced tile sizes (tests force small tiles to get several of them)."""
    for b in blocks:
        if b < MIN_BLOCK or b & (b - 1):
            raise ValueError(f"kernel block sizes must be powers of two >= {MIN_BLOCK}, got {blocks}")
    return tuple(blocks)


def upcast_operands(dtype: torch.dtype, device: torch.device) -> bool:
    """Whether the kernel must cast operands to float32 before ``tl.dot``.

    float16 runs natively everywhere. bfloat16 runs natively on GPUs only: the
    interpreter returns garbage for bf16 ``tl.dot``.
    """
    if dtype == torch.float16:
        return False
    if dtype == torch.bfloat16:
        return device.type != "cuda" or interpreting()
    return True


def dot_precision(upcast: bool, allow_tf32: bool = False) -> str:
    """``tl.dot`` input precision: exact IEEE float32 unless TF32 is allowed."""
    return "tf32" if (allow_tf32 or not upcast) else "ieee"
