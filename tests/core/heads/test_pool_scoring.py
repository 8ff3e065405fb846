"""Pool scoring: one float32 pass with imputation and scaling folded into linear heads."""
from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from alabel.core import threads
from alabel.core.heads import build_head
from alabel.core.training import retrain


def data(n=600, d=6, classes=("a", "b", "c"), seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(list(classes), n)
    shift = {c: i for i, c in enumerate(classes)}
    X = rng.normal(size=(n, d)).astype(np.float32) + np.array([shift[c] for c in y], np.float32)[:, None]
    X[:, 1] *= 50.0  # columns on different scales: the scaler matters
    X[rng.random(n) < 0.2, 2] = np.nan  # missing values carry information
    X[rng.random(n) < 0.1, 4] = np.nan
    return X, y


def pool(n=5000, d=6, seed=1):
    X, _ = data(n, d, seed=seed)
    X[:7, 0] = np.nan  # a column never missing in training but missing in the pool
    X[7, :] = np.nan
    return X


@pytest.mark.parametrize("spec", [
    {"type": "logistic_regression"},
    {"type": "logistic_regression", "scale": False, "params": {"max_iter": 5000}},
    {"type": "logistic_regression", "missing_indicators": False},
    {"type": "logistic_regression", "params": {"C": 100.0}},
])
def test_linear_pool_scorer_matches_the_pipeline(spec):
    X, y = data()
    head = build_head(spec, classes=["a", "b", "c", "never"], random_state=0).fit(X, y)
    scorer = head.pool_scorer()
    assert scorer is not None
    P = pool()
    fast, slow = scorer(P), head.predict_proba(P)
    assert fast.dtype == np.float32 and fast.shape == slow.shape
    np.testing.assert_allclose(fast, slow, rtol=0, atol=2e-6)
    assert (fast[:, 3] == 0).all(), "a class without labels keeps probability 0"


def test_binary_linear_pool_scorer_matches_the_pipeline():
    X, y = data(classes=("a", "b"))
    head = build_head({"type": "logistic_regression"}, classes=None, random_state=0).fit(X, y)
    np.testing.assert_allclose(head.pool_scorer()(pool()), head.predict_proba(pool()), rtol=0, atol=2e-6)


def test_pool_is_scored_without_per_chunk_checks(monkeypatch):
    X, y = data()
    head = build_head({"type": "logistic_regression"}, classes=None, random_state=0).fit(X, y)
    expected = head.predict_proba(pool(20_000))
    monkeypatch.setattr(retrain, "SCORE_CHUNK_ROWS", 4096)
    monkeypatch.setattr(type(head), "predict_proba", lambda self, X: pytest.fail("validated per chunk"))
    got = retrain.predict_proba_chunked(head, pool(20_000))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)


def test_auto_head_scores_the_pool_through_its_choice():
    X, y = data()
    head = build_head({"type": "auto"}, classes=None, random_state=0).fit(X[:30], y[:30])
    assert head.chosen_ == "logistic_regression"
    np.testing.assert_allclose(retrain.pool_scorer(head)(pool()), head.predict_proba(pool()), rtol=0, atol=2e-6)
    trees = build_head({"type": "random_forest"}, classes=None, random_state=0).fit(X, y)
    assert retrain.pool_scorer(trees) == trees.predict_proba  # no fast path: the checked one


def test_pool_scoring_runs_on_the_scoring_threads(monkeypatch):
    X, y = data()
    head = build_head({"type": "logistic_regression"}, classes=None, random_state=0).fit(X, y)
    seen = []
    real = head.pool_scorer()
    monkeypatch.setattr(head, "pool_scorer", lambda: lambda chunk: seen.append(
        max(p["num_threads"] for p in threadpool_info())) or real(chunk))
    monkeypatch.setattr(threads, "scoring_threads", lambda: 1)
    retrain.predict_proba_chunked(head, pool())
    assert seen == [1]
