"""Pure scoring functions: probabilities (or features) in, one score per row out.

Every function returns "higher = query first" scores as a float array of
length N and never looks at a model: the selectors in this package feed them
probabilities the session already computed. They are vectorised over numpy;
the committee/MC functions work in row chunks so that temporary arrays stay
bounded for pools of millions of rows.

Shapes: ``proba`` is (N, C); ``member_probas`` is (M, N, C) for M committee
members; ``mc_probas`` is (S, N, C) for S stochastic forward passes. C = 1
(one known class) is allowed everywhere and scores every row alike.

The uncertainty measures are modAL's (``_proba_uncertainty``, ``_proba_margin``,
``_proba_entropy``), rewritten as the same one-liners rather than imported:
importing modAL imports torch (``modAL.utils.data``), which the engine must not
do outside the torch heads. The tests check them against modAL.
"""
from __future__ import annotations

import numpy as np
from scipy.special import entr, rel_entr
from sklearn.metrics import pairwise_distances_chunked

#: Rows per chunk for the (M, N, C) functions: bounds temporaries to ~M*C*64k floats.
CHUNK_ROWS = 65_536


def _check_proba(proba, name: str = "proba") -> np.ndarray:
    proba = np.asarray(proba)
    if proba.ndim != 2 or proba.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n_rows, n_classes >= 1), got {proba.shape}")
    return proba


def _check_stack(probas, name: str) -> np.ndarray:
    probas = np.asarray(probas)
    if probas.ndim != 3 or probas.shape[0] < 1 or probas.shape[2] < 1:
        raise ValueError(f"{name} must have shape (n_members, n_rows, n_classes), got {probas.shape}")
    return probas


#: Up to this many classes ``margin`` uses a running top-two over columns.
_FEW_CLASSES = 16


def least_confidence(proba) -> np.ndarray:
    """``1 - max_c p(c)``: how unsure the top prediction is (as modAL's ``_proba_uncertainty``).

    Parameters
    ----------
    proba : array of shape (N, C)

    Returns
    -------
    ndarray of shape (N,)
        In ``[0, 1 - 1/C]``.
    """
    proba = _check_proba(proba)
    return 1.0 - proba.max(axis=1) if proba.shape[0] else np.zeros(0)


def margin(proba) -> np.ndarray:
    """Negative margin ``-(p_top1 - p_top2)`` (modAL's ``_proba_margin``, negated).

    Negated so that, like every score here, higher means "query first": a
    margin of 0.03 scores -0.03 and beats a margin of 0.5 (-0.5).

    Returns
    -------
    ndarray of shape (N,)
        In ``[-1, 0]``. With one class the margin is ``p - 0 = 1`` for every row
        (modAL returns 0 there, which would read as "maximally uncertain").
    """
    proba = _check_proba(proba)
    if proba.shape[1] == 1:
        return -proba[:, 0].astype(np.float64)
    if proba.shape[1] > _FEW_CLASSES:
        top2 = -np.partition(-proba, 1, axis=1)[:, :2]
        return top2[:, 1] - top2[:, 0]
    # Few classes: running top-two over contiguous columns is ~2x faster than
    # np.partition along a short axis on million-row pools.
    columns = np.ascontiguousarray(proba.T)
    top1 = columns[0].copy()
    top2 = np.full(len(top1), -np.inf, dtype=columns.dtype)
    for column in columns[1:]:
        np.maximum(top2, np.minimum(top1, column), out=top2)
        np.maximum(top1, column, out=top1)
    return (top2 - top1).astype(np.float64)


def entropy(proba) -> np.ndarray:
    """Shannon entropy (nats) of each row (as modAL's ``_proba_entropy``).

    Returns
    -------
    ndarray of shape (N,)
        In ``[0, log C]``.
    """
    proba = _check_proba(proba)
    out = np.empty(proba.shape[0])
    for sl in _row_chunks(proba.shape[0]):
        part = proba[sl].astype(np.float64)
        # scipy.stats.entropy (what modAL calls) normalises each row first; so do we.
        out[sl] = entr(part / part.sum(axis=1, keepdims=True)).sum(axis=1)
    return out


def _row_chunks(n: int):
    for start in range(0, n, CHUNK_ROWS):
        yield slice(start, min(n, start + CHUNK_ROWS))


def vote_entropy(member_probas) -> np.ndarray:
    """Entropy of the committee's votes (each member votes for its argmax class).

    modAL's ``vote_entropy`` needs a modAL ``Committee`` that predicts by
    itself; alabel already holds the member probabilities, so this works on them.

    Parameters
    ----------
    member_probas : array of shape (M, N, C)

    Returns
    -------
    ndarray of shape (N,)
        In ``[0, log min(M, C)]``; 0 when all members agree.
    """
    probas = _check_stack(member_probas, "member_probas")
    n_members, n, n_classes = probas.shape
    out = np.empty(n)
    for sl in _row_chunks(n):
        votes = probas[:, sl].argmax(axis=2)  # (M, rows)
        counts = np.zeros((votes.shape[1], n_classes))
        rows = np.arange(votes.shape[1])
        for member_votes in votes:
            counts[rows, member_votes] += 1.0
        out[sl] = entr(counts / n_members).sum(axis=1)
    return out


def kl_max_disagreement(member_probas) -> np.ndarray:
    """Largest KL divergence of a member from the consensus (mean) distribution.

    Same quantity as modAL's ``KL_max_disagreement``, computed from member
    probabilities because that function needs a modAL ``Committee`` object.

    Returns
    -------
    ndarray of shape (N,)
        ``max_m KL(p_m || mean_m p_m)``, >= 0.
    """
    probas = _check_stack(member_probas, "member_probas")
    out = np.empty(probas.shape[1])
    for sl in _row_chunks(probas.shape[1]):
        part = probas[:, sl].astype(np.float64)
        consensus = part.mean(axis=0)
        out[sl] = rel_entr(part, consensus[None]).sum(axis=2).max(axis=0)
    return out


def bald(mc_probas) -> np.ndarray:
    """BALD: mutual information between the prediction and the model parameters.

    ``H[mean_s p_s] - mean_s H[p_s]`` over S posterior samples (MC-dropout
    passes of a torch head, or the members of a committee).

    Parameters
    ----------
    mc_probas : array of shape (S, N, C)

    Returns
    -------
    ndarray of shape (N,)
        >= 0 (clipped at 0 against rounding); high where the samples are each
        confident but disagree.
    """
    probas = _check_stack(mc_probas, "mc_probas")
    out = np.empty(probas.shape[1])
    for sl in _row_chunks(probas.shape[1]):
        part = probas[:, sl].astype(np.float64)
        predictive = entr(part.mean(axis=0)).sum(axis=1)
        expected = entr(part).sum(axis=2).mean(axis=0)
        out[sl] = np.maximum(predictive - expected, 0.0)
    return out


def column_scale(X) -> tuple[np.ndarray, np.ndarray]:
    """NaN-ignoring column means and standard deviations of ``X`` (float64).

    Accumulated over row chunks, so a pool of millions of rows needs no
    full-size temporary. All-NaN columns get mean 0; constant ones std 1.
    """
    X = np.asarray(X)
    count = np.zeros(X.shape[1])
    mean = np.zeros(X.shape[1])
    m2 = np.zeros(X.shape[1])
    for sl in _row_chunks(X.shape[0]):
        part = X[sl].astype(np.float64)
        seen = np.isfinite(part)
        n_b = seen.sum(axis=0).astype(np.float64)
        safe_b = np.maximum(n_b, 1.0)
        mean_b = np.where(seen, part, 0.0).sum(axis=0) / safe_b
        m2_b = np.where(seen, (part - mean_b) ** 2, 0.0).sum(axis=0)
        # Chan et al.'s pairwise merge: stable where sum-of-squares formulas cancel.
        total = count + n_b
        safe = np.maximum(total, 1.0)
        delta = mean_b - mean
        mean = mean + delta * n_b / safe
        m2 = m2 + m2_b + delta * delta * count * n_b / safe
        count = total
    std = np.sqrt(m2 / np.maximum(count, 1.0))
    return mean, np.where(std > 0, std, 1.0)


def standardise(X, rows=None, scale: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Column-standardised float32 copy of ``X[rows]`` with NaN set to 0 (the column mean).

    Statistics come from all of ``X`` (NaN ignored; pass ``scale`` from
    :func:`column_scale` to reuse them), so rows scored in different calls
    share one scale. Distances on raw features would let the column with the
    largest units decide similarity; imputing the mean keeps NaN rows usable.
    """
    X = np.asarray(X)
    mean, std = column_scale(X) if scale is None else scale
    part = X if rows is None else X[rows]
    Z = ((part - mean) / std).astype(np.float32)
    Z[~np.isfinite(Z)] = 0.0
    return Z


def information_density(
    X,
    reference=None,
    *,
    metric: str = "cosine",
    exact_max: int = 2_000,
    sample_size: int = 500,
    random_state=None,
) -> np.ndarray:
    """Mean similarity of each row of ``X`` to the rows of ``reference`` (default ``X``).

    Similarity is ``1 / (1 + distance)`` as in modAL's ``information_density``
    (whose all-pairs matrix would be O(N²) memory). Rows that sit in dense
    regions score high: querying them teaches the model about many rows.

    Exact when ``reference`` has at most ``exact_max`` rows (chunked, O(N·R)
    time, bounded memory). Above that the mean is taken over ``sample_size``
    reference rows drawn uniformly without replacement: an unbiased estimate
    of the exact value at O(N·sample_size) cost. Features are not transformed
    here; callers pass :func:`standardise`-d features (NaN not allowed).

    Parameters
    ----------
    X : array of shape (N, D)
    reference : array of shape (R, D), optional
    metric : str
        Any metric of :func:`sklearn.metrics.pairwise_distances`.
    exact_max, sample_size : int
        Size threshold for the exact computation and approximation sample size.
    random_state : int, numpy Generator or None
        Seed of the reference sample.

    Returns
    -------
    ndarray of shape (N,)
        In ``(0, 1]``.
    """
    X = np.asarray(X)
    reference = X if reference is None else np.asarray(reference)
    if X.shape[0] == 0:
        return np.zeros(0)
    if reference.shape[0] == 0:
        raise ValueError("information_density: reference has no rows")
    if reference.shape[0] > exact_max:
        rng = np.random.default_rng(random_state)
        reference = reference[np.sort(rng.choice(reference.shape[0], size=sample_size, replace=False))]
    parts = pairwise_distances_chunked(
        X, reference, metric=metric, reduce_func=lambda D, start: (1.0 / (1.0 + D)).mean(axis=1)
    )
    return np.concatenate(list(parts)).astype(np.float64)


def pool_information_density(
    X,
    *,
    metric: str = "cosine",
    exact_max: int = 2_000,
    sample_size: int = 500,
    random_state=None,
) -> np.ndarray:
    """:func:`information_density` of every row of a raw pool ``X`` against the whole pool.

    Features are standardised (NaN -> column mean) chunk by chunk, so memory
    stays bounded for millions of rows. Exact (all pairs) up to ``exact_max``
    rows; above, each row is compared with ``sample_size`` pool rows drawn
    uniformly without replacement (an unbiased estimate, O(N·sample_size)).

    Returns
    -------
    ndarray of shape (N,)
    """
    X = np.asarray(X)
    n = X.shape[0]
    if n == 0:
        return np.zeros(0)
    scale = column_scale(X)
    if n <= exact_max:
        reference_rows = np.arange(n)
    else:
        rng = np.random.default_rng(random_state)
        reference_rows = np.sort(rng.choice(n, size=min(sample_size, n), replace=False))
    reference = standardise(X, reference_rows, scale)
    out = np.empty(n)
    for sl in _row_chunks(n):
        out[sl] = information_density(standardise(X[sl], scale=scale), reference, metric=metric,
                                      exact_max=len(reference))
    return out


def normalised_uncertainty(proba, measure: str) -> np.ndarray:
    """Uncertainty in ``[0, 1]`` (1 = most uncertain) for mixing with other terms.

    ``least_confidence`` is scaled by its maximum ``1 - 1/C``, ``entropy`` by
    ``log C`` and ``margin`` becomes ``1 - margin``; with one class every row is 0.
    """
    proba = _check_proba(proba)
    if measure not in _NORMALISED:
        raise ValueError(f"unknown uncertainty measure {measure!r}; known: {', '.join(_NORMALISED)}")
    if proba.shape[1] == 1:
        return np.zeros(proba.shape[0])
    return _NORMALISED[measure](proba)


_NORMALISED = {
    "least_confidence": lambda p: least_confidence(p) / (1.0 - 1.0 / p.shape[1]),
    "margin": lambda p: 1.0 + margin(p),
    "entropy": lambda p: entropy(p) / np.log(p.shape[1]),
}

#: Uncertainty measures selectable by name (``base`` of the mixed strategies).
UNCERTAINTY_MEASURES = tuple(_NORMALISED)
