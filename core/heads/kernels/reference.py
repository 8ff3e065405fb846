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
    out = {
        "lse": torch.empty(n, dtype=torch.float32, device=x.device),
        "top1": torch.empty(n, dtype=torch.float32, device=x.device),
        "top2": torch.empty(n, dtype=torch.float32, device=x.device),
        "entropy": torch.empty(n, dtype=torch.float32, device=x.device),
        "argmax": torch.empty(n, dtype=torch.int64, device=x.device),
    }
    step = rows_per_chunk(c, chunk_elems)
    for start in range(0, n, step):
        sl = slice(start, min(n, start + step))
        z = _logits(x[sl], w, b)
        lse = torch.logsumexp(z, dim=1)
        logp = z - lse[:, None]
        top = torch.topk(z, k=min(2, c), dim=1)
        out["lse"][sl] = lse
        out["top1"][sl] = torch.exp(top.values[:, 0] - lse)
        out["top2"][sl] = torch.exp(top.values[:, 1] - lse) if c > 1 else 0.0
        out["entropy"][sl] = (-(logp.exp() * logp).sum(dim=1)).clamp_min(0.0)
        # torch.argmax returns the first of tied maxima, as the kernel does.
        out["argmax"][sl] = torch.argmax(z, dim=1)
    return out


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
