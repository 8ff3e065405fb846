"""Fused linear cross-entropy vs F.cross_entropy on the materialised logits.

Forward and backward run under TRITON_INTERPRET=1 on CPU tensors, on shapes
that are not multiples of the block sizes, with class weights and ignored
rows, inside NaN guard bands. The oracle works in float64.
"""
import pytest
import torch
import torch.nn.functional as F

from alabel.core.heads.kernels import linear_cross_entropy, stats

IGNORE = -100


def make(n, c, d, seed=0, dtype=torch.float32, ignore_frac=0.0, scale=0.4):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g).to(dtype)
    w = (torch.randn(c, d, generator=g) * scale).to(dtype)
    b = torch.randn(c, generator=g).to(dtype)
    y = torch.randint(0, c, (n,), generator=g)
    if ignore_frac:
        y[torch.rand(n, generator=g) < ignore_frac] = IGNORE
    weight = torch.rand(c, generator=g) + 0.1
    return x, w, b, y, weight


def oracle(x, w, b, y, weight, reduction):
    """Loss and gradients from the full float64 logits."""
    xs, ws, bs = (t.detach().double().requires_grad_() for t in (x, w, b))
    loss = F.cross_entropy(xs @ ws.T + bs, y, weight=None if weight is None else weight.double(),
                           ignore_index=IGNORE, reduction=reduction)
    loss.sum().backward()
    return loss.detach(), xs.grad, ws.grad, bs.grad


def fused(x, w, b, y, weight, reduction, nan_guarded, **kw):
    """Loss and gradients of the kernel, with every input inside NaN guard bands."""
    xs, ws, bs = (nan_guarded(t.detach()).requires_grad_() for t in (x, w, b))
    loss = linear_cross_entropy(xs, ws, y, bs, weight=weight, ignore_index=IGNORE, reduction=reduction, **kw)
    loss.sum().backward()
    return loss.detach(), xs.grad, ws.grad, bs.grad


def assert_matches(got, want, rtol=1e-5):
    names = ("loss", "dx", "dw", "db")
    for name, g, o in zip(names, got, want):
        assert torch.isfinite(g).all(), name
        scale = o.abs().max().item()
        torch.testing.assert_close(g.double(), o, rtol=rtol, atol=rtol * scale, msg=name)


CASES = [
    # n, c, d, blocks, weighted, ignore_frac, reduction
    (37, 2, 20, None, False, 0.0, "mean"),
    (37, 2, 20, None, True, 0.2, "mean"),
    (300, 10, 70, None, True, 0.3, "sum"),
    (300, 10, 70, None, False, 0.1, "none"),
    (500, 1000, 64, None, True, 0.25, "mean"),
    (203, 300, 70, (64, 128, 32), True, 0.2, "mean"),
]


@pytest.mark.parametrize("n,c,d,blocks,weighted,ignore_frac,reduction", CASES)
def test_triton_forward_backward_match_oracle(n, c, d, blocks, weighted, ignore_frac, reduction, nan_guarded):
    x, w, b, y, weight = make(n, c, d, ignore_frac=ignore_frac)
    weight = weight if weighted else None
    stats.reset()
    got = fused(x, w, b, y, weight, reduction, nan_guarded, backend="triton", blocks=blocks)
    assert stats.ce_forward_triton == 1 and stats.ce_backward_triton == 1
    assert stats.ce_forward_torch == stats.ce_backward_torch == 0
    assert_matches(got, oracle(x, w, b, y, weight, reduction))
    if ignore_frac:
        ignored = y == IGNORE
        assert ignored.any()
        if reduction == "none":
            assert (got[0][ignored] == 0).all()


def test_triton_fp16(nan_guarded):
    x, w, b, y, weight = make(150, 257, 40, seed=5, dtype=torch.float16, ignore_frac=0.2)
    got = fused(x, w, b, y, weight, "mean", nan_guarded, backend="triton", blocks=(64, 128, 16))
    assert got[1].dtype == torch.float16 and got[2].dtype == torch.float16
    # Gradients are rounded to fp16 (and G is cast to fp16 before tl.dot, as in Cut Cross-Entropy).
    assert_matches(got, oracle(x, w, b, y, weight, "mean"), rtol=2e-3)


def peaked_problem(n=256, c=1000, d=32, seed=6):
    """Targets in the first class tile and the other classes far below them.

    With BLOCK_C=256, class tiles 1-3 have softmax ~e^-60 for every row, so
    their gradient tiles are below float32 precision; rows of the last row
    block are all ignored, so that block's tiles are skipped too.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(c, d, generator=g) * 0.3
    b = torch.zeros(c)
    b[256:] = -60.0
    y = torch.randint(0, 256, (n,), generator=g)
    y[192:] = IGNORE
    return x, w, b, y


def test_tile_skipping_triggers_and_keeps_gradients_exact(nan_guarded):
    x, w, b, y = peaked_problem()
    blocks = (64, 256, 32)  # 4 row blocks × 4 class tiles, in each of the two backward kernels
    stats.reset()
    got = fused(x, w, b, y, None, "mean", nan_guarded, backend="triton", blocks=blocks)
    # Per kernel: 3 far-away class tiles for each of the 3 live row blocks, all 4 tiles of the ignored block.
    assert stats.ce_tiles_total == 2 * 16
    assert stats.ce_tiles_skipped == 2 * (3 * 3 + 4)
    assert_matches(got, oracle(x, w, b, y, None, "mean"))

    stats.reset()
    unfiltered = fused(x, w, b, y, None, "mean", nan_guarded, backend="triton", blocks=blocks, filter_eps=None)
    assert stats.ce_tiles_skipped == 0
    for a, c in zip(got, unfiltered):
        torch.testing.assert_close(a, c, rtol=1e-6, atol=1e-12)


def test_no_skipping_when_softmax_is_spread(nan_guarded):
    x, w, b, y, _ = make(300, 700, 24, seed=7)
    stats.reset()
    fused(x, w, b, y, None, "mean", nan_guarded, backend="triton", blocks=(128, 256, 32))
    assert stats.ce_tiles_total > 0 and stats.ce_tiles_skipped == 0


@pytest.mark.parametrize("chunk_elems", [None, 2000])
def test_torch_reference_matches_oracle(chunk_elems):
    x, w, b, y, weight = make(300, 700, 50, seed=8, ignore_frac=0.2)
    stats.reset()
    xs, ws, bs = (t.clone().requires_grad_() for t in (x, w, b))
    loss = linear_cross_entropy(xs, ws, y, bs, weight=weight, ignore_index=IGNORE, backend="torch",
                                chunk_elems=chunk_elems)
    loss.backward()
    assert stats.ce_forward_torch == 1 and stats.ce_backward_torch == 1 and stats.ce_forward_triton == 0
    assert_matches((loss.detach(), xs.grad, ws.grad, bs.grad), oracle(x, w, b, y, weight, "mean"))


def test_sample_weight_is_a_row_weight():
    x, w, b, y, weight = make(64, 5, 8, seed=9)
    sw = torch.rand(64, generator=torch.Generator().manual_seed(1))
    got = linear_cross_entropy(x, w, y, b, weight=weight, sample_weight=sw)
    per_row = F.cross_entropy(x @ w.T + b, y, reduction="none")
    row_w = weight[y] * sw
    torch.testing.assert_close(got, (per_row * row_w).sum() / row_w.sum(), rtol=1e-5, atol=0)


def test_only_needed_gradients_are_computed():
    x, w, b, y, _ = make(50, 20, 16, seed=10)
    ws = w.clone().requires_grad_()
    linear_cross_entropy(x, ws, y, None, backend="triton").backward()
    assert ws.grad is not None and torch.isfinite(ws.grad).all()


def test_all_rows_ignored_gives_zero_gradient():
    x, w, b, y, _ = make(40, 6, 8, seed=11)
    y[:] = IGNORE
    xs, ws = x.clone().requires_grad_(), w.clone().requires_grad_()
    loss = linear_cross_entropy(xs, ws, y, b, ignore_index=IGNORE, reduction="sum", backend="triton")
    loss.backward()
    assert loss.item() == 0.0
    assert (xs.grad == 0).all() and (ws.grad == 0).all()


def test_bad_arguments():
    x, w, b, y, _ = make(10, 3, 4)
    with pytest.raises(ValueError, match="reduction"):
        linear_cross_entropy(x, w, y, b, reduction="avg")
    bad = y.clone()
    bad[0] = 3
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 3\)"):
        linear_cross_entropy(x, w, bad, b)
    with pytest.raises(ValueError, match="y must have shape"):
        linear_cross_entropy(x, w, y[:5], b)
