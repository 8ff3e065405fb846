"""Linear cross-entropy whose logits are never stored, with an autograd backward."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .dispatch import resolve_backend, stats
from .reference import ce_backward_torch, ce_forward_torch

REDUCTIONS = ("mean", "sum", "none")

# Softmax gradients below these add nothing representable to a gradient of
# that dtype (Cut Cross-Entropy uses 2**-12 for 16-bit floats).
_FILTER_EPS = {torch.float32: 2.0**-24, torch.float16: 2.0**-12, torch.bfloat16: 2.0**-12}


@dataclass(frozen=True)
class _Plan:
    backend: str
    filter_eps: float
    chunk_elems: int | None
    blocks: tuple[int, int, int] | None
    allow_tf32: bool


class _LinearCrossEntropy(torch.autograd.Function):
    """Per-row ``row_w_i · (lse_i − z_{i,y_i})``; rows with ``y < 0`` give 0."""

    @staticmethod
    def forward(ctx, x, w, b, y, row_w, plan: _Plan):
        if plan.backend == "triton":
            from .triton_ce import ce_forward_triton

            stats.bump("ce_forward_triton")
            lse, zy = ce_forward_triton(x, w, b, y, blocks=plan.blocks, allow_tf32=plan.allow_tf32)
        else:
            stats.bump("ce_forward_torch")
            lse, zy = ce_forward_torch(x, w, b, y, chunk_elems=plan.chunk_elems)
        ctx.save_for_backward(x, w, b, y, lse, row_w)
        ctx.plan = plan
        return (lse - zy) * row_w

    @staticmethod
    def backward(ctx, grad_rows):
        x, w, b, y, lse, row_w = ctx.saved_tensors
        plan: _Plan = ctx.plan
        coef = (grad_rows.float() * row_w).contiguous()
        need_dx, need_dw, need_db = ctx.needs_input_grad[:3]
        if plan.backend == "triton":
            from .triton_ce import ce_backward_triton

            stats.bump("ce_backward_triton")
            dx, dw, db, skipped, total = ce_backward_triton(
                x, w, b, y, lse, coef, filter_eps=plan.filter_eps,
                need_dx=need_dx, need_dw=need_dw or need_db,
                blocks=plan.blocks, allow_tf32=plan.allow_tf32,
            )
            stats.add_tiles(skipped, total)
        else:
            stats.bump("ce_backward_torch")
            dx, dw, db = ce_backward_torch(x, w, b, y, lse, coef, chunk_elems=plan.chunk_elems)
        return (dx if need_dx else None, dw if need_dw else None, db if need_db else None,
                None, None, None)


def linear_cross_entropy(
    x: torch.Tensor,
    w: torch.Tensor,
    y: torch.Tensor,
    b: torch.Tensor | None = None,
    *,
    weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    backend: str = "auto",
    filter_eps: float | str | None = "auto",
    chunk_elems: int | None = None,
    blocks: tuple[int, int, int] | None = None,
    allow_tf32: bool = False,
) -> torch.Tensor:
    """``F.cross_entropy(x @ w.T + b, y, weight, ignore_index, reduction)`` without the logits.

    Memory is O(N + C·D) instead of O(N·C): the forward keeps one log-sum-exp
    per row, the backward recomputes logit tiles (Cut Cross-Entropy, Wijmans
    et al. 2024) and skips tiles whose softmax gradient is below precision.

    Parameters
    ----------
    x : Tensor, shape (N, D)
        Inputs of the last linear layer.
    w : Tensor, shape (C, D)
        Its weights.
    y : Tensor of int, shape (N,)
        Targets in ``[0, C)`` or ``ignore_index`` (e.g. unlabelled rows).
    b : Tensor, shape (C,), optional
        Its bias.
    weight : Tensor, shape (C,), optional
        Class weights, as in ``F.cross_entropy`` (``mean`` divides by their sum).
    sample_weight : Tensor, shape (N,), optional
        Row weights, multiplied with the class weights (``mean`` divides by
        the sum of the products).
    ignore_index : int
        Target value whose rows add nothing to the loss or the gradients.
    reduction : {'mean', 'sum', 'none'}
        As in ``F.cross_entropy``; 'none' gives 0 on ignored rows.
    backend : {'auto', 'triton', 'torch'}
        'auto' takes the Triton kernels on CUDA when Triton imports, else the
        chunked torch reference.
    filter_eps : float, 'auto' or None
        Triton backward only: skip tiles where every ``|softmax − onehot|`` is
        below this; 'auto' picks it from the dtype, None or 0 never skips.
    chunk_elems, blocks, allow_tf32
        As in :func:`pool_scores`.

    Returns
    -------
    Tensor
        float32 scalar, or shape (N,) for ``reduction='none'``.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"linear_cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(f"linear_cross_entropy: x (N, D) and w (C, D) must agree on D, got {tuple(x.shape)} and {tuple(w.shape)}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"linear_cross_entropy: y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    n_classes = w.shape[0]
    valid = y != ignore_index
    y_clean = torch.where(valid, y.long(), torch.full_like(y, -1, dtype=torch.long))
    if bool(((y_clean >= n_classes) | (valid & (y_clean < 0))).any()):
        raise ValueError(f"linear_cross_entropy: targets must lie in [0, {n_classes}) or equal ignore_index")
    row_w = valid.float()
    if weight is not None:
        row_w = row_w * weight.float()[y_clean.clamp_min(0)]
    if sample_weight is not None:
        if sample_weight.shape != (x.shape[0],):
            raise ValueError(f"linear_cross_entropy: sample_weight must have shape ({x.shape[0]},), got {tuple(sample_weight.shape)}")
        row_w = row_w * sample_weight.float()
    if filter_eps == "auto":
        filter_eps = _FILTER_EPS.get(x.dtype, 2.0**-24)
    plan = _Plan(
        backend=resolve_backend(backend, x, w, b),
        filter_eps=float(filter_eps or 0.0),
        chunk_elems=chunk_elems,
        blocks=tuple(blocks) if blocks else None,
        allow_tf32=allow_tf32,
    )
    per_row = _LinearCrossEntropy.apply(x, w, b, y_clean.contiguous(), row_w, plan)
    if reduction == "none":
        return per_row
    if reduction == "sum":
        return per_row.sum()
    return per_row.sum() / row_w.sum()
