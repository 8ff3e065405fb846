"""Fused kernels for the torch heads: pool scoring and linear cross-entropy.

Both have a Triton implementation (used on CUDA when Triton imports) and a
chunked torch reference (CPU and fallback), chosen by ``backend=``:

- :func:`pool_scores` — per-row log-sum-exp, top-1/top-2 probabilities, argmax
  and entropy of ``softmax(x @ w.T + b)`` without the N×C logits;
- :func:`linear_cross_entropy` — ``F.cross_entropy`` of a linear layer with
  class weights and ``ignore_index``, forward and backward without the logits.

:data:`stats` counts which path ran (tests assert on it). This package imports
torch; Triton is imported only when a Triton kernel is launched.
"""
from .cross_entropy import linear_cross_entropy
from .dispatch import BACKENDS, interpreting, resolve_backend, stats, triton_importable
from .pool import POOL_KEYS, pool_scores

__all__ = [
    "BACKENDS",
    "POOL_KEYS",
    "interpreting",
    "linear_cross_entropy",
    "pool_scores",
    "resolve_backend",
    "stats",
    "triton_importable",
]
