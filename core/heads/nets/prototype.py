"""Temperature calibration of the prototype head (numpy, no training loop).

With squared distances ``D_ic = ‖z_i − μ_c‖² / d`` and logits ``−β D_ic``, the
mean log loss ``f(β) = mean_i [β D_iy + log Σ_c e^(−β D_ic)]`` is convex in β
(``f'' = Var_p(D) ≥ 0``), so bisection on the sign of ``f'`` finds the best β.
Each row is scored against its class mean computed *without* that row
(leave-one-out), or the fit would reward β → ∞: a lone example sits on its own
prototype. ``‖z_i − μ_c^(−i)‖ = W_c / (W_c − u_i) · ‖z_i − μ_c‖`` gives that
distance without recomputing any mean, where ``u_i = min(w_i, 1)`` is the
weight left out: one observation, as if a row of weight 3 were three copies,
so that weighting a row is the same as repeating it.
"""
from __future__ import annotations

import numpy as np

#: Bracket of the search for β (inverse temperature), in log10.
LOG10_BETA_RANGE = (-4.0, 4.0)
_ITERATIONS = 60


def fit_inverse_temperature(
    Z: np.ndarray, y: np.ndarray, w: np.ndarray, means: np.ndarray, class_weights: np.ndarray
) -> tuple[float, str]:
    """β minimising the weighted leave-one-out log loss, and a note when it could not be fitted.

    Parameters
    ----------
    Z : (n, d) standardised features; y : (n,) class indices; w : (n,) row weights
    means : (C, d) class means; class_weights : (C,) summed row weights per class
    """
    present = class_weights > 0
    d = Z.shape[1]
    others = class_weights[y] - np.minimum(w, 1.0)
    eligible = (others > 1e-12) & (w > 0)
    if not eligible.any() or present.sum() < 2:
        return 1.0, "prototype: every class has a single label, temperature left at 1"
    Ze, ye, we = Z[eligible], y[eligible], w[eligible]
    # (n_eligible, C) squared distances to the present class means, per feature.
    mu = means[present]
    dist = ((Ze**2).sum(1)[:, None] - 2.0 * Ze @ mu.T + (mu**2).sum(1)[None, :]).clip(min=0.0) / d
    column = np.cumsum(present) - 1  # class index -> column among present classes
    own = column[ye]
    loo = (class_weights[ye] / others[eligible]) ** 2
    rows = np.arange(len(ye))
    dist[rows, own] *= loo

    def slope(beta: float) -> float:
        logits = -beta * dist
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        return float(np.average(dist[rows, own] - (p * dist).sum(axis=1), weights=we))

    lo, hi = LOG10_BETA_RANGE
    if slope(10.0**hi) < 0:
        return 10.0**hi, "prototype: the labels are separable, temperature at its lower bound"
    if slope(10.0**lo) > 0:
        return 10.0**lo, "prototype: class means do not separate the labels, temperature at its upper bound"
    for _ in range(_ITERATIONS):
        mid = 0.5 * (lo + hi)
        if slope(10.0**mid) < 0:
            lo = mid
        else:
            hi = mid
    return float(10.0 ** (0.5 * (lo + hi))), ""
