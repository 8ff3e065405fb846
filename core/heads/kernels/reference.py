"""Chunked torch versions of the fused kernels (CPU path and fallback).

They compute exactly what the Triton kernels compute, a block of rows at a
time, so peak memory is one ``rows × C`` block (``chunk_elems`` floats) rather
than the full ``N × C`` logits. Arithmetic is float32 whatever the input dtype,
as in the kernels' accumulators.
"""
from __future__ import annotations

import torch

#: Floats in one block of logits (64 MiB at float32); bounds the reference's memory.
#: Smaller blocks cost time at large C: a 32-row × 131k-class block made the
#: matmuls 2-3× slower on a 2-core CPU than 128 rows did.
DEFAULT_CHUNK_ELEMS = 1 << 24


def rows_per_chunk(n_classes: int, chunk_elems: int | None = None) -> int:
    """Rows whose ``rows × n_classes`` logits fit in ``chunk_elems`` floats (at least 1)."""
    return max(1, (chunk_elems or DEFAULT_CHUNK_ELEMS) // max(1, n_classes))


def _logits(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    if b is None:
        return x.float() @ w.float().T
    return torch.addmm(b.float(), x.float(), w.float().T)


def pool_scores_torch(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None, *, chunk_elems: int | None = None
) -> dict[str, torch.Tensor]:
    """Per-row softmax statistics of ``x @ w.T + b``, one block of rows at a time.

    Returns the same dict as :func:`alabel.core.heads.kernels.pool_scores`.
    """
    n, c = x.shape[0], w.shape[0]
    f32 = dict(dtype=torch.float32, device=x.device)
    out = {key: torch.empty(n, **f32) for key in ("lse", "top1", "top2", "entropy")}
    out["argmax"] = torch.empty(n, dtype=torch.int64, device=x.device)
    # Reductions over a short last dimension are slow on the CPU: with few
    # classes, lay the block out as classes × rows and reduce across rows' lanes.
    by_column = c < 64
    step = rows_per_chunk(c, chunk_elems)
    for start in range(0, n, step):
        sl = slice(start, min(n, start + step))
        if by_column:
            z = _logits(w, x[sl], None)
            if b is not None:
                z += b.float()[:, None]
        else:
            z = _logits(x[sl], w, b)
        for key, value in _softmax_stats(z, dim=0 if by_column else 1).items():
            out[key][sl] = value
    return out


def _softmax_stats(z: torch.Tensor, dim: int) -> dict[str, torch.Tensor]:
    """The pool statistics of a block of logits ``z`` (modified in place), classes along ``dim``."""
    top1, arg = z.max(dim=dim)  # first index among tied maxima, as the kernel
    zc = z.sub_(top1.unsqueeze(dim))  # z - max: <= 0, exact 0 at the argmax
    if z.shape[dim] > 1:
        second = zc.scatter(dim, arg.unsqueeze(dim), float("-inf")).amax(dim=dim)
    else:
        second = torch.full_like(top1, float("-inf"))
    e = zc.exp()
    s = e.sum(dim=dim)
    t = e.mul_(zc).sum(dim=dim)  # Σ e^(z-m) (z-m)
    log_s = s.log()
    return {
        "lse": top1 + log_s,
        "top1": s.reciprocal(),
        "top2": second.exp() / s,
        "entropy": (log_s - t / s).clamp_min(0.0),
        "argmax": arg,
    }


def ce_forward_torch(
    x: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor | None,
    y: torch.Tensor,
    *,
    chunk_elems: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row log-sum-exp and target logit (0 where ``y < 0``), chunked over rows."""
    n = x.shape[0]
    lse = torch.empty(n, dtype=torch.float32, device=x.device)
    zy = torch.zeros(n, dtype=torch.float32, device=x.device)
    step = rows_per_chunk(w.shape[0], chunk_elems)
    for start in range(0, n, step):
        sl = slice(start, min(n, start + step))
        z = _logits(x[sl], w, b)
        lse[sl] = torch.logsumexp(z, dim=1)
        yc = y[sl]
        picked = z.gather(1, yc.clamp_min(0)[:, None]).squeeze(1)
        zy[sl] = torch.where(yc >= 0, picked, torch.zeros_like(picked))
    return lse, zy


def ce_backward_torch(
    x: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor | None,
    y: torch.Tensor,
    lse: torch.Tensor,
    coef: torch.Tensor,
    *,
    chunk_elems: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Gradients of ``Σ coef_i · (lse_i − z_{i,y_i})`` w.r.t. ``x``, ``w`` and ``b``.

    Recomputes each block of logits instead of keeping them from the forward.
    """
    n, c = x.shape[0], w.shape[0]
    dx = torch.empty(x.shape, dtype=torch.float32, device=x.device)
    dw = torch.zeros(w.shape, dtype=torch.float32, device=w.device)
    db = torch.zeros(c, dtype=torch.float32, device=w.device) if b is not None else None
    wf = w.float()
    step = rows_per_chunk(c, chunk_elems)
    for start in range(0, n, step):
        sl = slice(start, min(n, start + step))
        xc = x[sl].float()
        # In place: one block of logits becomes its gradient without temporaries.
        g = _logits(xc, w, b).sub_(lse[sl, None]).exp_()
        yc = y[sl]
        rows = torch.nonzero(yc >= 0).squeeze(1)
        g[rows, yc[rows]] -= 1.0
        g.mul_(coef[sl, None])
        torch.mm(g, wf, out=dx[sl])
        dw.addmm_(g.T, xc)
        if db is not None:
            db += g.sum(dim=0)
    return dx.to(x.dtype), dw.to(w.dtype), (db.to(b.dtype) if db is not None else None)
