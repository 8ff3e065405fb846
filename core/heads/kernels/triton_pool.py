"""Triton kernel: per-row softmax statistics of a linear layer, logits never stored.

One program owns ``BLOCK_N`` rows and walks the classes ``BLOCK_C`` at a time.
For each tile it computes the logits ``z = x Wᵀ + b`` in registers and folds
them into running statistics (online softmax): the running max ``m``,
``s = Σ e^(z−m)`` and ``t = Σ e^(z−m)·(z−m)``, plus the two largest logits and
the index of the largest. At the end ``lse = m + log s``, the entropy is
``H = log s − t/s`` and the top probabilities are ``e^(z_top − lse)``. Memory is
O(N) whatever the number of classes.

Only imported when the Triton path runs: importing Triton is slow, and the
``@triton.jit`` decorator must run after ``TRITON_INTERPRET`` is set.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .blocks import check_blocks, dot_precision, pick_blocks, upcast_operands

# Logit of a padded class: finite so that 0·(z−m) stays 0 instead of NaN.
NEG = -1.0e30


@triton.jit
def _pool_scores_kernel(
    X, W, B, LSE, TOP1, TOP2, ENT, ARG,
    N, C, D,
    stride_xn, stride_xd, stride_wc, stride_wd,
    HAS_BIAS: tl.constexpr,
    UPCAST: tl.constexpr,
    PRECISION: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_C: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    row_ok = rows < N

    m = tl.full([BLOCK_N], NEG, tl.float32)
    s = tl.zeros([BLOCK_N], tl.float32)
    t = tl.zeros([BLOCK_N], tl.float32)
    top1 = tl.full([BLOCK_N], NEG, tl.float32)
    top2 = tl.full([BLOCK_N], NEG, tl.float32)
    arg1 = tl.zeros([BLOCK_N], tl.int32)

    for c0 in range(0, C, BLOCK_C):
        cols = c0 + tl.arange(0, BLOCK_C)
        col_ok = cols < C
        acc = tl.zeros([BLOCK_N, BLOCK_C], tl.float32)
        for d0 in range(0, D, BLOCK_D):
            ds = d0 + tl.arange(0, BLOCK_D)
            d_ok = ds < D
            x = tl.load(X + rows[:, None] * stride_xn + ds[None, :] * stride_xd,
                        mask=row_ok[:, None] & d_ok[None, :], other=0.0)
            w = tl.load(W + cols[:, None] * stride_wc + ds[None, :] * stride_wd,
                        mask=col_ok[:, None] & d_ok[None, :], other=0.0)
            if UPCAST:
                x = x.to(tl.float32)
                w = w.to(tl.float32)
            acc = tl.dot(x, tl.trans(w), acc, input_precision=PRECISION)
        if HAS_BIAS:
            bias = tl.load(B + cols, mask=col_ok, other=0.0).to(tl.float32)
            acc = acc + bias[None, :]
        z = tl.where(col_ok[None, :], acc, NEG)

        # Online softmax: rescale the running sums to the new maximum.
        tile_max = tl.max(z, axis=1)
        m_new = tl.maximum(m, tile_max)
        alpha = tl.exp(m - m_new)
        zc = z - m_new[:, None]
        e = tl.where(col_ok[None, :], tl.exp(zc), 0.0)
        t = alpha * (t + (m - m_new) * s) + tl.sum(e * tl.where(col_ok[None, :], zc, 0.0), axis=1)
        s = alpha * s + tl.sum(e, axis=1)
        m = m_new

        # Top two logits of the tile (first index among ties), merged into the running pair.
        tile_arg = tl.min(tl.where(z == tile_max[:, None], cols[None, :], C), axis=1)
        tile_second = tl.max(tl.where(cols[None, :] == tile_arg[:, None], NEG, z), axis=1)
        arg1 = tl.where(tile_max > top1, tile_arg, arg1)
        top2 = tl.maximum(tl.minimum(top1, tile_max), tl.maximum(top2, tile_second))
        top1 = tl.maximum(top1, tile_max)

    log_s = tl.log(s)
    lse = m + log_s
    ent = tl.maximum(log_s - t / s, 0.0)
    tl.store(LSE + rows, lse, mask=row_ok)
    tl.store(TOP1 + rows, tl.exp(top1 - lse), mask=row_ok)
    tl.store(TOP2 + rows, tl.exp(top2 - lse), mask=row_ok)
    tl.store(ENT + rows, ent, mask=row_ok)
    tl.store(ARG + rows, arg1, mask=row_ok)


def pool_scores_triton(
    x: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor | None = None,
    *,
    blocks: tuple[int, int, int] | None = None,
    allow_tf32: bool = False,
) -> dict[str, torch.Tensor]:
    """Launch the pool-scoring kernel; see :func:`alabel.core.heads.kernels.pool_scores`."""
    n, d = x.shape
    c = w.shape[0]
    bn, bc, bd = check_blocks(blocks) if blocks else pick_blocks(n, c, d, x.device, kind="pool")
    f32 = dict(dtype=torch.float32, device=x.device)
    lse, top1, top2, ent = (torch.empty(n, **f32) for _ in range(4))
    arg = torch.empty(n, dtype=torch.int32, device=x.device)
    if w.dtype != x.dtype:
        w = w.to(x.dtype)
    upcast = upcast_operands(x.dtype, x.device)
    grid = (triton.cdiv(n, bn),)
    _pool_scores_kernel[grid](
        x, w, b if b is not None else lse, lse, top1, top2, ent, arg,
        n, c, d,
        x.stride(0), x.stride(1), w.stride(0), w.stride(1),
        HAS_BIAS=b is not None,
        UPCAST=upcast,
        PRECISION=dot_precision(upcast, allow_tf32),
        BLOCK_N=bn, BLOCK_C=bc, BLOCK_D=bd,
    )
    return {"lse": lse, "top1": top1, "top2": top2, "entropy": ent, "argmax": arg.long()}
