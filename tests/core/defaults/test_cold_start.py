"""Typical coverage and the ``auto`` strategy's hand-over from coverage to diverse margin sampling."""
from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from alabel.core.errors import ConfigError
from alabel.core.heads import build_head
from alabel.core.strategies import PoolContext, build_strategy
from alabel.core.strategies import scores as score_functions
from alabel.core.strategies.cold_start import embed, typical_coverage

CENTRES = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [5, 20]], dtype=np.float32)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


def blobs(sizes=(400, 200, 100, 60, 40), seed=0):
    """Five blobs of unequal size (the first the largest); labels = blob index."""
    rng = np.random.default_rng(seed)
    X = np.vstack([c + rng.normal(scale=1.0, size=(k, 2)) for c, k in zip(CENTRES, sizes)]).astype(np.float32)
    y = np.repeat(np.arange(len(sizes)), sizes)
    return X, np.array([f"b{i}" for i in y], dtype=object)


def context(X, labelled=(), model=None, seed=0):
    labelled = np.asarray(labelled, dtype=np.int64)
    candidates = np.setdiff1d(np.arange(len(X)), labelled)
    proba = None if model is None else model.predict_proba(X)
    return PoolContext(X=X, candidates=candidates, labelled=labelled, model=model, proba=proba,
                       rng=np.random.default_rng(seed))


def test_coverage_asks_one_typical_row_per_blob_largest_first():
    X, y = blobs()
    selection = build_strategy({"type": "typical"}).select(context(X), 5)
    assert sorted(y[selection.indices]) == ["b0", "b1", "b2", "b3", "b4"]
    assert y[selection.indices[0]] == "b0"  # the largest group comes first
    # Typical = close to its blob's centre (the noise has sd 1 per axis).
    distances = np.linalg.norm(X[selection.indices] - CENTRES[[int(c[1]) for c in y[selection.indices]]], axis=1)
    assert distances.max() < 1.0
    assert np.all(np.diff(selection.scores) <= 0)
    assert "unlabelled cluster" in selection.reason


def test_coverage_skips_groups_that_already_hold_labels():
    X, y = blobs()
    labelled = [int(np.flatnonzero(y == "b0")[0]), int(np.flatnonzero(y == "b1")[0])]
    picks = build_strategy({"type": "typical"}).select(context(X, labelled), 3).indices
    assert sorted(y[picks]) == ["b2", "b3", "b4"]


def test_random_picks_miss_small_blobs_that_coverage_finds():
    """Why coverage first: 5 random picks from this pool usually miss a small blob."""
    X, y = blobs()
    rng = np.random.default_rng(0)
    random_cover = np.mean([len(set(y[rng.choice(len(y), 5, replace=False)])) for _ in range(200)])
    assert random_cover < 3.5
    covered = len(set(y[build_strategy({"type": "typical"}).select(context(X), 5).indices]))
    assert covered == 5


def test_typical_coverage_fills_beyond_the_uncovered_groups():
    Z = np.vstack([np.zeros((5, 2)), np.ones((5, 2)) * 10]).astype(np.float32)
    positions, priorities, shares = typical_coverage(np.zeros((0, 2), np.float32), Z, 6, random_state=0)
    assert len(set(positions.tolist())) == 6
    assert np.all(np.diff(priorities) <= 0)
    assert shares.max() <= 1.0


def test_embed_projects_wide_features():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 100)).astype(np.float32)
    X[::7, 5] = np.nan
    Z = embed(X, np.arange(300), random_state=0)
    assert Z.shape == (300, 32) and np.isfinite(Z).all()
    assert embed(X[:, :8], np.arange(10), random_state=0).shape == (10, 8)


def test_embed_keeps_every_direction_of_fewer_rows_than_components():
    # A small diverse-margin batch on wide features (3 x 9 rows of 64 pixels) spans 27 directions.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 64)).astype(np.float32)
    Z = embed(X, np.arange(27), random_state=0)
    assert Z.shape == (27, 27) and np.isfinite(Z).all()


def test_small_diverse_batches_on_wide_features():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 64)).astype(np.float32)
    y = np.array([f"c{i}" for i in (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)], dtype=object)
    labelled = np.arange(40)
    ctx = context(X, labelled, fitted_model(X, y, labelled))
    picked = build_strategy({"type": "auto", "params": {"explore_labels": 0, "diversity": 3}}).select(ctx, 9)
    assert len(set(picked.indices.tolist())) == 9 and not np.isin(picked.indices, labelled).any()


def fitted_model(X, y, rows):
    return build_head({"type": "logistic_regression"}, classes=sorted(set(y)), random_state=0).fit(X[rows], y[rows])


def test_auto_covers_first_then_hands_over_to_margin():
    X, y = blobs()
    strategy = build_strategy({"type": "auto", "params": {"explore_labels": 20}})
    assert strategy.phase(context(X)) == "coverage"  # no model
    labelled = build_strategy({"type": "typical"}).select(context(X), 10).indices
    model = fitted_model(X, y, labelled)
    early = context(X, labelled, model)
    assert strategy.phase(early) == "coverage"  # a model, but only 10 of 20 labels
    assert strategy.select(early, 5).reason.startswith("exploring (10 of 20 labels)")
    more = np.concatenate([labelled, build_strategy({"type": "typical"}).select(context(X, labelled), 10).indices])
    late = context(X, more, fitted_model(X, y, more))
    assert strategy.phase(late) == "margin"
    selection = strategy.select(late, 5)
    assert selection.reason.startswith("margin")
    assert np.all(np.diff(selection.scores) <= 0)


def test_diverse_margin_takes_small_margins_spread_over_clusters():
    X, y = blobs()
    labelled = np.concatenate([np.flatnonzero(y == c)[:6] for c in sorted(set(y))])
    model = fitted_model(X, y, labelled)
    ctx = context(X, labelled, model)
    margins = score_functions.margin(ctx.proba[ctx.candidates])
    threshold = np.sort(margins)[::-1][10 * 5 - 1]
    diverse = build_strategy({"type": "auto", "params": {"explore_labels": 0}}).select(ctx, 5)
    in_top = score_functions.margin(ctx.proba[diverse.indices]) >= threshold
    assert in_top.all(), "every pick is among the diversity x n least certain rows"
    plain = build_strategy({"type": "auto", "params": {"explore_labels": 0, "diversity": 1}}).select(
        context(X, labelled, model), 5)
    expected = ctx.candidates[np.argsort(-margins, kind="stable")[:5]]
    np.testing.assert_array_equal(np.sort(plain.indices), np.sort(expected))
    spread = lambda rows: np.mean([np.linalg.norm(a - b) for a in X[rows] for b in X[rows]])  # noqa: E731
    assert spread(diverse.indices) >= spread(plain.indices)


def test_diverse_batches_on_a_small_pool_stay_among_its_least_certain_rows():
    X, y = blobs()
    labelled = np.concatenate([np.flatnonzero(y == c)[:6] for c in sorted(set(y))])
    ctx = context(X, labelled, fitted_model(X, y, labelled))
    margins = score_functions.margin(ctx.proba[ctx.candidates])
    share = 0.02  # 2 % of 770 candidates: 16 rows, fewer than diversity x n = 50
    threshold = np.sort(margins)[::-1][int(np.ceil(share * len(margins))) - 1]
    picked = build_strategy({"type": "auto", "params": {"explore_labels": 0, "max_share": share}}).select(ctx, 5)
    assert (score_functions.margin(ctx.proba[picked.indices]) >= threshold).all()
    assert "one of 16 least certain rows" in picked.reason


def test_auto_is_deterministic_under_the_context_seed():
    X, y = blobs()
    strategy = build_strategy({"type": "auto"})
    first = strategy.select(context(X, seed=3), 6)
    second = strategy.select(context(X, seed=3), 6)
    np.testing.assert_array_equal(first.indices, second.indices)


@pytest.mark.parametrize("params, key", [
    ({"explore_labels": -1}, "strategy.params.explore_labels"),
    ({"diversity": 0}, "strategy.params.diversity"),
    ({"max_rows": 5}, "strategy.params.max_rows"),
    ({"max_share": 0}, "strategy.params.max_share"),
    ({"max_share": 1.5}, "strategy.params.max_share"),
    ({"explor_labels": 3}, "strategy.params.explor_labels"),
])
def test_bad_params_name_the_key(params, key):
    with pytest.raises(ConfigError, match=key):
        build_strategy({"type": "auto", "params": params})


def test_large_pools_are_clustered_on_a_sample():
    X, _ = blobs(sizes=(3000, 1500, 500, 300, 200))
    strategy = build_strategy({"type": "typical", "params": {"max_rows": 500}})
    selection = strategy.select(context(X), 5)
    assert len(set(selection.indices.tolist())) == 5


# -- queries answer from what is computed once (per pool, per model) ------------------------
def test_coverage_summarises_the_pool_once(monkeypatch):
    import alabel.core.strategies.cold_start as cold_start

    X, y = blobs()
    passes = []
    real = score_functions.column_scale
    monkeypatch.setattr(score_functions, "column_scale", lambda X: passes.append(len(X)) or real(X))
    strategy = build_strategy({"type": "typical"})
    labelled = np.zeros(0, dtype=np.int64)
    for _ in range(4):  # four queries, the labels growing between them
        picks = strategy.select(context(X, labelled), 3).indices
        labelled = np.sort(np.concatenate([labelled, picks[:2]]))
    assert passes == [len(X)], "one pass over the pool for the whole session, not one per query"
    assert isinstance(strategy._coverage_index[2], cold_start.CoverageIndex)


def test_coverage_with_the_same_seed_picks_the_same_rows():
    X, _ = blobs(sizes=(3000, 1500, 500, 300, 200))
    runs = []
    for _ in range(2):
        strategy = build_strategy({"type": "auto", "params": {"max_rows": 1000}})
        labelled, picked = np.zeros(0, dtype=np.int64), []
        for step in range(3):
            selection = strategy.select(context(X, labelled, seed=step), 4)
            picked.append(selection.indices.tolist())
            labelled = np.sort(np.concatenate([labelled, selection.indices]))
        runs.append(picked)
    assert runs[0] == runs[1]
    assert len({row for batch in runs[0] for row in batch}) == 12


def test_coverage_counts_labels_outside_the_sample():
    X, y = blobs(sizes=(3000, 1500, 500, 300, 200))
    strategy = build_strategy({"type": "typical", "params": {"max_rows": 200}})
    strategy.select(context(X), 1)  # builds the index on a 200-row sample
    sample = set(strategy._coverage_index[2].rows.tolist())
    outside = [next(int(r) for r in np.flatnonzero(y == b) if int(r) not in sample) for b in ("b0", "b1", "b2", "b3")]
    picks = strategy.select(context(X, np.sort(outside)), 1).indices
    assert y[picks].tolist() == ["b4"], "the blobs labelled outside the sample count as covered"


def test_diverse_margin_walks_the_model_ranking_with_the_same_picks(monkeypatch):
    X, y = blobs()
    labelled = np.concatenate([np.flatnonzero(y == c)[:6] for c in sorted(set(y))])
    model = fitted_model(X, y, labelled)
    params = {"type": "auto", "params": {"explore_labels": 0}}
    # Reference: no cached pool probabilities, so the candidates are scored and sorted per query.
    scored = PoolContext(X=X, candidates=np.setdiff1d(np.arange(len(X)), labelled), labelled=labelled,
                         model=model, rng=np.random.default_rng(7))
    reference = build_strategy(params)
    expected = [reference.select(scored, n) for n in (1, 5, 9)]
    strategy = build_strategy(params)
    ctx = context(X, labelled, model, seed=7)
    strategy.warm(ctx.proba, np.random.default_rng(0))  # what the session does when it publishes a model
    margins, passes = [], []
    real_scale = score_functions.column_scale
    monkeypatch.setattr(score_functions, "margin", lambda p: margins.append(len(p)))
    monkeypatch.setattr(score_functions, "column_scale", lambda X: passes.append(len(X)) or real_scale(X))
    got = [strategy.select(ctx, n) for n in (1, 5, 9)]
    assert margins == [], "queries walk the model's ranking: no rescoring of the candidates"
    assert passes == [len(X)], "the pool's column statistics once, not per clustered batch"
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.scores, b.scores)
        assert a.reason == b.reason


def test_coverage_then_margin_measure_the_pool_columns_once(monkeypatch):
    X, y = blobs()
    passes = []
    real = score_functions.column_scale
    monkeypatch.setattr(score_functions, "column_scale", lambda X: passes.append(len(X)) or real(X))
    strategy = build_strategy({"type": "auto", "params": {"explore_labels": 10}})
    labelled = strategy.select(context(X), 10).indices  # coverage
    late = context(X, np.sort(labelled), fitted_model(X, y, labelled))
    assert strategy.select(late, 5).reason.startswith("margin")
    assert passes == [len(X)]


def test_ranked_head_is_the_head_of_a_stable_sort():
    from alabel.core.strategies.base import ranked_head

    rng = np.random.default_rng(0)
    for size, k in ((1000, 10), (1000, 999), (50, 50), (5000, 300)):
        values = rng.integers(0, 20, size).astype(np.float64)  # many ties, at the cut too
        np.testing.assert_array_equal(ranked_head(values, k), np.argsort(-values, kind="stable")[:k])
