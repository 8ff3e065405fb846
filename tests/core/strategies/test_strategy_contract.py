"""Contract every registered query strategy honours, with and without a model."""
from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from alabel.core.errors import EmptyPoolError
from alabel.core.heads import build_head
from alabel.core.registry import concrete_descendants
from alabel.core.strategies import PoolContext, QueryStrategy, Selection, build_strategy

STRATEGY_TYPES = list(concrete_descendants(QueryStrategy))
N_ROWS = 400


class CountingModel:
    """A committee head that counts its predict_proba calls."""

    def __init__(self, head):
        self.head = head
        self.classes_ = head.classes_
        self.predict_proba_calls = 0

    def predict_proba(self, X):
        self.predict_proba_calls += 1
        return self.head.predict_proba(X)

    def member_probas(self, X):
        return self.head.member_probas(X)


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, 5)).astype(np.float32)
    y = np.array(["Cep", "LPV", "RRLyr"], dtype=object)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.7)]
    X[::9, 3] = np.nan
    labelled = np.arange(0, 80, 2)  # scattered, so candidates are not a contiguous range
    leased = np.arange(300, 320)
    candidates = np.setdiff1d(np.arange(N_ROWS), np.concatenate([labelled, leased]))
    with threadpool_limits(1):
        head = build_head(
            {"type": "committee", "members": [
                {"type": "logistic_regression"}, {"type": "random_forest", "params": {"n_estimators": 10}},
                {"type": "knn"}]},
            classes=["Cep", "LPV", "RRLyr", "DSCT"], random_state=0,
        ).fit(X[labelled], y[labelled])
    return X, labelled, candidates, head


def _context(pool, *, model="committee", cached=True, seed=1, candidates=None):
    X, labelled, default_candidates, head = pool
    use_model = head if model == "committee" else None
    return PoolContext(
        X=X,
        candidates=default_candidates if candidates is None else candidates,
        labelled=labelled,
        model=use_model,
        proba=head.predict_proba(X) if (use_model is not None and cached) else None,
        rng=np.random.default_rng(seed),
    )


def test_registry_holds_the_builtin_strategies():
    assert set(STRATEGY_TYPES) >= {"random", "least_confidence", "margin", "entropy", "vote_entropy",
                                   "kl_max_disagreement", "bald", "density_weighted", "ranked_batch"}


@pytest.mark.parametrize("model", ["committee", None])
@pytest.mark.parametrize("strategy_type", STRATEGY_TYPES)
def test_selection_is_n_unique_candidates_best_first(pool, strategy_type, model):
    context = _context(pool, model=model)
    selection = build_strategy({"type": strategy_type}).select(context, 12)
    assert isinstance(selection, Selection)
    assert selection.indices.dtype == np.int64
    assert len(selection.indices) == len(set(selection.indices.tolist())) == 12
    assert set(selection.indices.tolist()) <= set(context.candidates.tolist())
    assert not set(selection.indices.tolist()) & set(context.labelled.tolist())
    assert selection.scores.shape == (12,)
    assert np.all(np.diff(selection.scores) <= 1e-12), "scores must not increase down the ranking"
    assert selection.strategy == strategy_type
    assert selection.reason and "\n" not in selection.reason


@pytest.mark.parametrize("model", ["committee", None])
@pytest.mark.parametrize("strategy_type", STRATEGY_TYPES)
def test_same_seed_same_selection(pool, strategy_type, model):
    strategy = build_strategy({"type": strategy_type})
    first = strategy.select(_context(pool, model=model, seed=5), 8)
    second = strategy.select(_context(pool, model=model, seed=5), 8)
    np.testing.assert_array_equal(first.indices, second.indices)
    np.testing.assert_array_equal(first.scores, second.scores)
    assert first.reason == second.reason


@pytest.mark.parametrize("strategy_type", STRATEGY_TYPES)
def test_empty_pool(pool, strategy_type):
    context = _context(pool, candidates=np.array([], dtype=np.int64))
    with pytest.raises(EmptyPoolError):
        build_strategy({"type": strategy_type}).select(context, 3)


@pytest.mark.parametrize("model", ["committee", None])
@pytest.mark.parametrize("strategy_type", STRATEGY_TYPES)
def test_more_requested_than_candidates_returns_all(pool, strategy_type, model):
    few = np.array([101, 7, 250, 399])
    selection = build_strategy({"type": strategy_type}).select(_context(pool, model=model, candidates=few), 10)
    assert sorted(selection.indices.tolist()) == sorted(few.tolist())


@pytest.mark.parametrize("strategy_type", STRATEGY_TYPES)
def test_single_candidate(pool, strategy_type):
    selection = build_strategy({"type": strategy_type}).select(_context(pool, candidates=np.array([123])), 1)
    assert selection.indices.tolist() == [123]


@pytest.mark.parametrize("strategy_type", STRATEGY_TYPES)
@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_bad_n(pool, strategy_type, n):
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        build_strategy({"type": strategy_type}).select(_context(pool), n)


@pytest.mark.parametrize("strategy_type", STRATEGY_TYPES)
def test_cached_pool_proba_is_used_instead_of_the_model(pool, strategy_type):
    X, labelled, candidates, head = pool
    model = CountingModel(head)
    context = PoolContext(X=X, candidates=candidates, labelled=labelled, model=model,
                          proba=head.predict_proba(X), rng=np.random.default_rng(0))
    build_strategy({"type": strategy_type}).select(context, 5)
    assert model.predict_proba_calls == 0


@pytest.mark.parametrize("strategy_type", STRATEGY_TYPES)
def test_without_cache_the_model_gives_the_same_answer(pool, strategy_type):
    strategy = build_strategy({"type": strategy_type})
    cached = strategy.select(_context(pool, cached=True, seed=3), 6)
    computed = strategy.select(_context(pool, cached=False, seed=3), 6)
    np.testing.assert_array_equal(cached.indices, computed.indices)
