"""Ranked pools: a query walks a per-model ranking instead of rescoring the pool."""
import numpy as np

from alabel.core.strategies import PoolContext, build_strategy, scores
from alabel.core.strategies.base import first_candidates


def test_first_candidates_skips_non_candidates_in_rank_order():
    order = np.array([5, 3, 9, 0, 1, 2, 4, 6, 7, 8])
    candidates = np.array([0, 2, 8, 9])
    assert first_candidates(order, candidates, 3).tolist() == [9, 0, 2]
    assert first_candidates(order, candidates, 10).tolist() == [9, 0, 2, 8]


def test_first_candidates_deep_in_a_long_ranking():
    order = np.random.default_rng(0).permutation(100_000)
    candidates = order[-5:]  # only the worst-ranked rows are candidates
    assert first_candidates(order, np.sort(candidates), 5).tolist() == order[-5:].tolist()


def test_cached_ranking_matches_scoring_the_candidates():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(6), size=5_000).astype(np.float32)
    X = np.zeros((5_000, 2), dtype=np.float32)
    candidates = np.sort(rng.choice(5_000, 3_000, replace=False))
    for name, score in (("margin", scores.margin), ("entropy", scores.entropy),
                        ("least_confidence", scores.least_confidence)):
        strategy = build_strategy({"type": name})
        strategy.warm(proba, np.random.default_rng(0))
        context = PoolContext(X=X, candidates=candidates, proba=proba, model=object(),
                              rng=np.random.default_rng(2))
        selection = strategy.select(context, 20)
        expected = candidates[np.argsort(-score(proba[candidates]), kind="stable")[:20]]
        assert set(selection.indices.tolist()) == set(expected.tolist()), name
        assert np.all(np.diff(selection.scores) <= 0)
        # A new model's probabilities are ranked afresh, not served from the old cache.
        flipped = proba[:, ::-1].copy()
        again = strategy.select(PoolContext(X=X, candidates=candidates, proba=flipped, model=object(),
                                            rng=np.random.default_rng(2)), 20)
        assert np.allclose(again.scores, score(flipped)[again.indices])


def test_queries_past_the_ranked_head_fall_back_to_all_candidates(monkeypatch):
    import alabel.core.strategies.uncertainty as uncertainty

    monkeypatch.setattr(uncertainty, "RANKED_HEAD", 16)
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.ones(4), size=1_000)
    X = np.zeros((1_000, 1), dtype=np.float32)
    strategy = build_strategy({"type": "margin"})
    ranked_first = np.argsort(-scores.margin(proba), kind="stable")
    candidates = np.sort(ranked_first[40:])  # every row of the 16-row head is labelled
    context = PoolContext(X=X, candidates=candidates, proba=proba, model=object(), rng=np.random.default_rng(0))
    selection = strategy.select(context, 5)
    assert set(selection.indices.tolist()) == set(ranked_first[40:45].tolist())
