"""Triton kernels: linear cross-entropy without the N×C logits (Cut Cross-Entropy idea).

Forward: one program per block of rows walks the class tiles, computing each
tile of logits in registers and folding it into an online log-sum-exp; it also
picks up the target logit. Only ``lse`` (N floats) is kept for the backward.

Backward: the gradient of ``Σ_i coef_i (lse_i − z_{i,y_i})`` w.r.t. the logits
is ``G = coef ⊙ (softmax(z) − onehot(y))``. Two kernels recompute the logit
tiles: one owns a block of rows and accumulates ``dX = G W``, the other owns a
block of classes and accumulates ``dW = Gᵀ X`` and ``db``. Because each output
block has a single owner there are no atomics, so results are deterministic.
A tile whose ``|softmax − onehot|`` is below ``filter_eps`` everywhere adds
nothing representable to the gradient and is skipped (this is most tiles when
C is large and the model is confident). Each program writes how many tiles it
skipped to a buffer, which :data:`..dispatch.stats` sums.

Only imported when the Triton path runs (see ``triton_pool``).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .blocks import check_blocks, dot_precision, pick_blocks, upcast_operands

NEG = -1.0e30


@triton.jit
def _logit_tile(X, W, B, rows, cols, row_ok, col_ok, D,
                stride_xn, stride_xd, stride_wc, stride_wd,
                HAS_BIAS: tl.constexpr, UPCAST: tl.constexpr, PRECISION: tl.constexpr,
                BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_D: tl.constexpr):
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
        acc = acc + tl.load(B + cols, mask=col_ok, other=0.0).to(tl.float32)[None, :]
    return acc


@triton.jit
def _ce_forward_kernel(
    X, W, B, Y, LSE, ZY,
    N, C, D,
    stride_xn, stride_xd, stride_wc, stride_wd,
    HAS_BIAS: tl.constexpr, UPCAST: tl.constexpr, PRECISION: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_D: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    row_ok = rows < N
    y = tl.load(Y + rows, mask=row_ok, other=-1)
    m = tl.full([BLOCK_N], NEG, tl.float32)
    s = tl.zeros([BLOCK_N], tl.float32)
    zy = tl.zeros([BLOCK_N], tl.float32)
    for c0 in range(0, C, BLOCK_C):
        cols = c0 + tl.arange(0, BLOCK_C)
        col_ok = cols < C
        z = _logit_tile(X, W, B, rows, cols, row_ok, col_ok, D,
                        stride_xn, stride_xd, stride_wc, stride_wd,
                        HAS_BIAS, UPCAST, PRECISION, BLOCK_N, BLOCK_C, BLOCK_D)
        z = tl.where(col_ok[None, :], z, NEG)
        m_new = tl.maximum(m, tl.max(z, axis=1))
        e = tl.where(col_ok[None, :], tl.exp(z - m_new[:, None]), 0.0)
        s = s * tl.exp(m - m_new) + tl.sum(e, axis=1)
        m = m_new
        zy += tl.sum(tl.where(cols[None, :] == y[:, None], z, 0.0), axis=1)
    tl.store(LSE + rows, m + tl.log(s), mask=row_ok)
    tl.store(ZY + rows, zy, mask=row_ok)


@triton.jit
def _grad_tile(z, y, lse, coef, rows, cols, row_ok, col_ok):
    """Logit gradient of one tile and the largest ``|softmax − onehot|`` among active rows."""
    live = row_ok[:, None] & col_ok[None, :] & (coef != 0.0)[:, None]
    p = tl.exp(z - lse[:, None])
    g = p - tl.where(cols[None, :] == y[:, None], 1.0, 0.0)
    g = tl.where(live, g, 0.0)
    biggest = tl.max(tl.max(tl.abs(g), axis=1), axis=0)
    return g * coef[:, None], biggest


@triton.jit
def _ce_backward_dx_kernel(
    X, W, B, Y, LSE, COEF, DX, SKIP,
    N, C, D,
    stride_xn, stride_xd, stride_wc, stride_wd,
    FILTER_EPS,
    HAS_BIAS: tl.constexpr, UPCAST: tl.constexpr, PRECISION: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_D: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    row_ok = rows < N
    y = tl.load(Y + rows, mask=row_ok, other=-1)
    lse = tl.load(LSE + rows, mask=row_ok, other=0.0)
    coef = tl.load(COEF + rows, mask=row_ok, other=0.0)
    skipped = 0
    for c0 in range(0, C, BLOCK_C):
        cols = c0 + tl.arange(0, BLOCK_C)
        col_ok = cols < C
        z = _logit_tile(X, W, B, rows, cols, row_ok, col_ok, D,
                        stride_xn, stride_xd, stride_wc, stride_wd,
                        HAS_BIAS, UPCAST, PRECISION, BLOCK_N, BLOCK_C, BLOCK_D)
        g, biggest = _grad_tile(z, y, lse, coef, rows, cols, row_ok, col_ok)
        if biggest >= FILTER_EPS:
            for d0 in range(0, D, BLOCK_D):
                ds = d0 + tl.arange(0, BLOCK_D)
                d_ok = ds < D
                w = tl.load(W + cols[:, None] * stride_wc + ds[None, :] * stride_wd,
                            mask=col_ok[:, None] & d_ok[None, :], other=0.0)
                if UPCAST:
                    upd = tl.dot(g, w.to(tl.float32), input_precision=PRECISION)
                else:
                    upd = tl.dot(g.to(w.dtype), w)
                # This program owns these rows of DX: read-add-write, no atomics.
                ptrs = DX + rows[:, None] * D + ds[None, :]
                mask = row_ok[:, None] & d_ok[None, :]
                tl.store(ptrs, tl.load(ptrs, mask=mask, other=0.0) + upd, mask=mask)
        else:
            skipped += 1
    tl.store(SKIP + pid, skipped)


@triton.jit
def _ce_backward_dw_kernel(
    X, W, B, Y, LSE, COEF, DW, DB, SKIP,
    N, C, D,
    stride_xn, stride_xd, stride_wc, stride_wd,
    FILTER_EPS,
    HAS_BIAS: tl.constexpr, UPCAST: tl.constexpr, PRECISION: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_D: tl.constexpr,
):
    pid = tl.program_id(0)
    cols = pid * BLOCK_C + tl.arange(0, BLOCK_C)
    col_ok = cols < C
    db = tl.zeros([BLOCK_C], tl.float32)
    skipped = 0
    for r0 in range(0, N, BLOCK_N):
        rows = r0 + tl.arange(0, BLOCK_N)
        row_ok = rows < N
        y = tl.load(Y + rows, mask=row_ok, other=-1)
        lse = tl.load(LSE + rows, mask=row_ok, other=0.0)
        coef = tl.load(COEF + rows, mask=row_ok, other=0.0)
        z = _logit_tile(X, W, B, rows, cols, row_ok, col_ok, D,
                        stride_xn, stride_xd, stride_wc, stride_wd,
                        HAS_BIAS, UPCAST, PRECISION, BLOCK_N, BLOCK_C, BLOCK_D)
        g, biggest = _grad_tile(z, y, lse, coef, rows, cols, row_ok, col_ok)
        if biggest >= FILTER_EPS:
            db += tl.sum(g, axis=0)
            gt = tl.trans(g)
            for d0 in range(0, D, BLOCK_D):
                ds = d0 + tl.arange(0, BLOCK_D)
                d_ok = ds < D
                x = tl.load(X + rows[:, None] * stride_xn + ds[None, :] * stride_xd,
                            mask=row_ok[:, None] & d_ok[None, :], other=0.0)
                if UPCAST:
                    upd = tl.dot(gt, x.to(tl.float32), input_precision=PRECISION)
                else:
                    upd = tl.dot(gt.to(x.dtype), x)
                # This program owns these rows of DW: read-add-write, no atomics.
                ptrs = DW + cols[:, None] * D + ds[None, :]
                mask = col_ok[:, None] & d_ok[None, :]
                tl.store(ptrs, tl.load(ptrs, mask=mask, other=0.0) + upd, mask=mask)
        else:
            skipped += 1
    if HAS_BIAS:
        tl.store(DB + cols, db, mask=col_ok)
    tl.store(SKIP + pid, skipped)


def _common(x, w, b, blocks, allow_tf32):
    n, d = x.shape
    c = w.shape[0]
    bn, bc, bd = check_blocks(blocks) if blocks else pick_blocks(n, c, d, x.device, kind="ce")
    upcast = upcast_operands(x.dtype, x.device)
    meta = dict(
        HAS_BIAS=b is not None, UPCAST=upcast, PRECISION=dot_precision(upcast, allow_tf32),
        BLOCK_N=bn, BLOCK_C=bc, BLOCK_D=bd,
    )
    strides = (x.stride(0), x.stride(1), w.stride(0), w.stride(1))
    return n, c, d, meta, strides


def ce_forward_triton(x, w, b, y, *, blocks=None, allow_tf32=False):
    """Per-row ``lse`` and target logit (0 where ``y < 0``); see ``linear_cross_entropy``."""
    n, c, d, meta, strides = _common(x, w, b, blocks, allow_tf32)
    lse = torch.empty(n, dtype=torch.float32, device=x.device)
    zy = torch.empty(n, dtype=torch.float32, device=x.device)
    grid = (triton.cdiv(n, meta["BLOCK_N"]),)
    _ce_forward_kernel[grid](x, w, b if b is not None else lse, y, lse, zy, n, c, d, *strides, **meta)
    return lse, zy


def ce_backward_triton(x, w, b, y, lse, coef, *, filter_eps, need_dx=True, need_dw=True,
                       blocks=None, allow_tf32=False):
    """Gradients of ``Σ coef_i (lse_i − z_{i,y_i})``; returns ``(dx, dw, db, skipped, total)``.

    ``skipped`` is a device tensor of tiles skipped per program, ``total`` the
    number of tiles the launched kernels visited.
    """
    n, c, d, meta, strides = _common(x, w, b, blocks, allow_tf32)
    bias = b if b is not None else lse
    n_row_blocks = triton.cdiv(n, meta["BLOCK_N"])
    n_col_blocks = triton.cdiv(c, meta["BLOCK_C"])
    skips, total = [], 0
    dx = dw = db = None
    if need_dx:
        dx32 = torch.zeros((n, d), dtype=torch.float32, device=x.device)
        skip = torch.zeros(n_row_blocks, dtype=torch.int32, device=x.device)
        _ce_backward_dx_kernel[(n_row_blocks,)](
            x, w, bias, y, lse, coef, dx32, skip, n, c, d, *strides, float(filter_eps), **meta)
        dx = dx32.to(x.dtype)
        skips.append(skip)
        total += n_row_blocks * n_col_blocks
    if need_dw:
        dw32 = torch.zeros((c, d), dtype=torch.float32, device=x.device)
        db32 = torch.zeros(c, dtype=torch.float32, device=x.device)
        skip = torch.zeros(n_col_blocks, dtype=torch.int32, device=x.device)
        _ce_backward_dw_kernel[(n_col_blocks,)](
            x, w, bias, y, lse, coef, dw32, db32, skip, n, c, d, *strides, float(filter_eps), **meta)
        dw = dw32.to(w.dtype)
        db = db32.to(b.dtype) if b is not None else None
        skips.append(skip)
        total += n_row_blocks * n_col_blocks
    skipped = torch.cat(skips) if skips else torch.zeros(1, dtype=torch.int32, device=x.device)
    return dx, dw, db, skipped, total
