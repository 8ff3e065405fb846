"""Pool scoring: per-row softmax statistics of a linear layer, N×C logits never stored."""
from __future__ import annotations

import torch

from .dispatch import resolve_backend, stats
from .reference import pool_scores_torch

#: Keys of the dict :func:`pool_scores` returns.
POOL_KEYS = ("lse", "top1", "top2", "entropy", "argmax")


def pool_scores(
    x: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor | None = None,
    *,
    backend: str = "auto",
    chunk_elems: int | None = None,
    blocks: tuple[int, int, int] | None = None,
    allow_tf32: bool = False,
) -> dict[str, torch.Tensor]:
    """Softmax statistics of ``x @ w.T + b`` for every row, in one pass.

    Feeds least-confidence (``1 - top1``), margin (``top1 - top2``) and entropy
    query strategies directly, with memory O(N) whatever the number of classes.

    Parameters
    ----------
    x : Tensor, shape (N, D)
        Features (float32, float16 or bfloat16).
    w : Tensor, shape (C, D)
        Weights of the linear layer.
    b : Tensor, shape (C,), optional
        Bias.
    backend : {'auto', 'triton', 'torch'}
        'auto' runs the Triton kernel on CUDA tensors when Triton imports and
        the chunked torch reference otherwise.
    chunk_elems : int, optional
        Torch path only: logits held at once (rows per chunk = chunk_elems // C).
    blocks : (int, int, int), optional
        Triton path only: (BLOCK_N, BLOCK_C, BLOCK_D), powers of two >= 16.
    allow_tf32 : bool
        Triton path only: let float32 ``tl.dot`` use TF32 (faster, ~1e-3 relative).

    Returns
    -------
    dict of Tensor, shape (N,)
        ``lse`` (log-sum-exp of the logits), ``top1`` and ``top2`` (the two
        largest probabilities), ``entropy`` (nats), all float32, and ``argmax``
        (int64, first index among ties).
    """
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(f"pool_scores: x (N, D) and w (C, D) must agree on D, got {tuple(x.shape)} and {tuple(w.shape)}")
    if resolve_backend(backend, x, w, b) == "triton":
        from .triton_pool import pool_scores_triton

        stats.bump("pool_triton")
        return pool_scores_triton(x, w, b, blocks=blocks, allow_tf32=allow_tf32)
    stats.bump("pool_torch")
    return pool_scores_torch(x, w, b, chunk_elems=chunk_elems)
