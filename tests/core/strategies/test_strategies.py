"""Behaviour of each strategy, spec validation and the pool context."""
from __future__ import annotations

import numpy as np
import pytest

from alabel.core.errors import ConfigError, NotReadyError
from alabel.core.heads import CommitteeHead, LogisticRegressionHead
from alabel.core.strategies import (
    BALDStrategy,
    MarginStrategy,
    PoolContext,
    build_strategy,
    top_n,
)


class FixedModel:
    """A fitted-looking model with given probabilities per pool row."""

    def __init__(self, proba, classes, member_probas=None, mc=None):
        self.proba, self.classes_ = np.asarray(proba, dtype=float), np.asarray(classes)
        self._members, self._mc = member_probas, mc
        self.mc_calls = []

    def predict_proba(self, X):
        return self.proba[X[:, 0].astype(int)]  # column 0 holds the row number


class CommitteeModel(FixedModel):
    def member_probas(self, X):
        return self._members[:, X[:, 0].astype(int)]


class MCModel(CommitteeModel):
    def mc_predict_proba(self, X, n_samples):
        self.mc_calls.append(n_samples)
        return self._mc[:, X[:, 0].astype(int)]


def _context(proba, candidates=None, seed=0, model=None, X=None, labelled=()):
    proba = np.asarray(proba, dtype=float)
    X = np.arange(len(proba), dtype=np.float32)[:, None] if X is None else X
    model = model or FixedModel(proba, ["Cep", "T2Cep", "RRLyr"][: proba.shape[1]])
    return PoolContext(X=X, candidates=np.arange(len(proba)) if candidates is None else np.asarray(candidates),
                       labelled=np.asarray(labelled, dtype=np.int64), model=model, proba=proba,
                       rng=np.random.default_rng(seed))


PROBA = [
    [0.90, 0.05, 0.05],  # confident
    [0.51, 0.48, 0.01],  # tiny margin
    [0.40, 0.30, 0.30],  # least confident, highest entropy
    [0.70, 0.20, 0.10],
]


# ---------------------------------------------------------------- uncertainty
def test_margin_orders_by_smallest_margin_and_explains_the_first():
    selection = build_strategy({"type": "margin"}).select(_context(PROBA), 4)
    assert selection.indices.tolist() == [1, 2, 3, 0]
    np.testing.assert_allclose(selection.scores, [-0.03, -0.10, -0.50, -0.85])
    assert selection.reason == "margin 0.03: top two classes Cep 0.51 / T2Cep 0.48"


def test_least_confidence_and_entropy_orders():
    lc = build_strategy({"type": "least_confidence"}).select(_context(PROBA), 4)
    assert lc.indices.tolist() == [2, 1, 3, 0]
    assert lc.reason == "confidence 0.40: top classes Cep 0.40 / T2Cep 0.30"
    ent = build_strategy({"type": "entropy"}).select(_context(PROBA), 4)
    assert ent.indices.tolist() == [2, 3, 1, 0]  # 0.70/0.20/0.10 spreads more than 0.51/0.48/0.01
    assert ent.reason.startswith("entropy 1.09 of max 1.10: top classes Cep 0.40")


def test_only_candidates_are_scored_with_global_indices():
    selection = build_strategy({"type": "margin"}).select(_context(PROBA, candidates=[0, 3]), 2)
    assert selection.indices.tolist() == [3, 0]


def test_cold_start_picks_at_random_and_says_so():
    context = _context(PROBA)
    context.model, context.proba = None, None
    selection = build_strategy({"type": "margin"}).select(context, 2)
    assert selection.reason.startswith("no model yet: random pick")
    random = build_strategy({"type": "random"}).select(_context(PROBA), 2)
    np.testing.assert_array_equal(selection.indices, random.indices)


def test_ties_are_broken_at_random_but_seeded():
    flat = np.full((50, 3), 1 / 3)
    orders = {tuple(build_strategy({"type": "margin"}).select(_context(flat, seed=s), 5).indices) for s in range(5)}
    assert len(orders) > 1
    again = build_strategy({"type": "margin"}).select(_context(flat, seed=2), 5)
    np.testing.assert_array_equal(again.indices, build_strategy({"type": "margin"}).select(_context(flat, seed=2), 5).indices)


def test_class_names_fall_back_to_column_numbers():
    context = _context(PROBA)
    context.model = None  # cached probabilities of an unknown model
    assert build_strategy({"type": "margin"}).select(context, 1).reason == (
        "margin 0.03: top two classes class 0 0.51 / class 1 0.48")


# ---------------------------------------------------------------- committee / BALD
MEMBERS = np.array([
    [[0.9, 0.1], [0.9, 0.1], [0.6, 0.4]],
    [[0.9, 0.1], [0.1, 0.9], [0.55, 0.45]],
])


def test_vote_entropy_and_kl_pick_the_disputed_row():
    model = CommitteeModel(MEMBERS.mean(axis=0), ["Cep", "LPV"], member_probas=MEMBERS)
    for name in ("vote_entropy", "kl_max_disagreement"):
        selection = build_strategy({"type": name}).select(_context(MEMBERS.mean(axis=0), model=model), 1)
        assert selection.indices.tolist() == [1], name
    vote = build_strategy({"type": "vote_entropy"}).select(_context(MEMBERS.mean(axis=0), model=model), 1)
    assert vote.reason == "vote entropy 0.69: members voted Cep x1, LPV x1"


def test_committee_strategy_with_a_plain_head_is_not_ready():
    model = FixedModel(PROBA, ["a", "b", "c"])
    with pytest.raises(NotReadyError, match=r"needs a committee head \(head.type: committee\)"):
        build_strategy({"type": "vote_entropy"}).select(_context(PROBA, model=model), 1)


def test_bald_prefers_mc_samples_and_passes_n_samples():
    mc = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]])
    model = MCModel(mc.mean(axis=0), ["a", "b"], member_probas=mc[::-1], mc=mc)
    selection = build_strategy({"type": "bald", "params": {"n_samples": 7}}).select(
        _context(mc.mean(axis=0), model=model), 2)
    assert model.mc_calls == [7]
    assert selection.indices.tolist() == [0, 1]
    np.testing.assert_allclose(selection.scores, [np.log(2), 0.0], atol=1e-12)
    assert selection.reason.startswith("mutual information 0.69 over 2 samples")


def test_bald_falls_back_to_committee_members():
    model = CommitteeModel(MEMBERS.mean(axis=0), ["Cep", "LPV"], member_probas=MEMBERS)
    selection = BALDStrategy().select(_context(MEMBERS.mean(axis=0), model=model), 1)
    assert selection.indices.tolist() == [1]


def test_bald_without_samples_is_not_ready():
    with pytest.raises(NotReadyError, match="mc_predict_proba"):
        BALDStrategy().select(_context(PROBA), 1)


# ---------------------------------------------------------------- density / ranked batch
def _clusters():
    """A dense cluster of 40 rows around (0, 0) and 4 scattered outliers (rows 40..43)."""
    rng = np.random.default_rng(0)
    dense = rng.normal(scale=0.1, size=(40, 2))
    outliers = np.array([[5.0, 5.0], [-5.0, 4.0], [4.0, -6.0], [-6.0, -5.0]])
    return np.vstack([dense, outliers]).astype(np.float32)


def test_density_weighting_prefers_uncertain_rows_in_dense_regions():
    X = _clusters()
    proba = np.tile([0.5, 0.5], (len(X), 1))
    proba[:40] = [0.55, 0.45]  # dense rows: slightly less uncertain than the outliers
    model = FixedModel(proba, ["a", "b"])
    ctx = dict(model=model, X=X)
    plain = build_strategy({"type": "margin"}).select(_context(proba, **ctx), 4)
    assert set(plain.indices.tolist()) == {40, 41, 42, 43}
    dense = build_strategy({"type": "density_weighted", "params": {"metric": "euclidean", "beta": 2.0}}).select(
        _context(proba, **ctx), 4)
    assert all(i < 40 for i in dense.indices)
    assert "x density" in dense.reason
    flat = build_strategy({"type": "density_weighted", "params": {"beta": 0}}).select(_context(proba, **ctx), 4)
    assert set(flat.indices.tolist()) == {40, 41, 42, 43}


def test_density_weighted_cold_start_picks_representative_rows():
    X = _clusters()
    context = _context(np.full((len(X), 2), 0.5), X=X)
    context.model, context.proba = None, None
    selection = build_strategy({"type": "density_weighted", "params": {"metric": "euclidean"}}).select(context, 5)
    assert all(i < 40 for i in selection.indices)
    assert selection.reason.startswith("no model yet: most representative row")


def test_density_weighted_samples_above_exact_max_and_stays_seeded():
    X = _clusters()
    proba = np.full((len(X), 2), 0.5)
    spec = {"type": "density_weighted", "params": {"metric": "euclidean", "exact_max": 10, "sample_size": 10}}
    a = build_strategy(spec).select(_context(proba, X=X, seed=4), 5)
    b = build_strategy(spec).select(_context(proba, X=X, seed=4), 5)
    np.testing.assert_array_equal(a.indices, b.indices)


def test_pool_density_is_computed_once_per_pool(monkeypatch):
    from alabel.core.strategies import scores

    calls = []
    real = scores.pool_information_density
    monkeypatch.setattr(scores, "pool_information_density", lambda X, **kw: calls.append(1) or real(X, **kw))
    X = _clusters()
    proba = np.full((len(X), 2), 0.5)
    strategy = build_strategy({"type": "density_weighted"})
    first = strategy.select(_context(proba, X=X, seed=1), 3)
    second = strategy.select(_context(proba, X=X, seed=1, candidates=np.arange(10, 44)), 3)
    assert len(calls) == 1
    assert set(second.indices.tolist()) <= set(range(10, 44))
    assert first.indices.tolist() == strategy.select(_context(proba, X=X, seed=1), 3).indices.tolist()
    strategy.select(_context(proba, X=X.copy(), seed=1), 3)  # another pool array
    assert len(calls) == 2


def _three_clusters():
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return np.vstack([c + rng.normal(scale=0.2, size=(30, 2)) for c in centres]).astype(np.float32)


def test_ranked_batch_spreads_a_batch_over_clusters():
    X = _three_clusters()
    proba = np.tile([0.5, 0.5], (len(X), 1))
    proba[:30] = [0.5, 0.5]
    proba[30:] = [0.6, 0.4]  # cluster 0 is the most uncertain: plain sampling stays there
    model = FixedModel(proba, ["a", "b"])
    plain = build_strategy({"type": "least_confidence"}).select(_context(proba, model=model, X=X), 3)
    assert {i // 30 for i in plain.indices} == {0}
    ranked = build_strategy({"type": "ranked_batch"}).select(
        _context(proba, model=model, X=X, candidates=np.arange(1, 90), labelled=[0]), 3)
    assert {i // 30 for i in ranked.indices} == {0, 1, 2}
    assert ranked.reason.startswith("ranked batch (alpha 0.99)")


def test_ranked_batch_avoids_labelled_regions():
    X = _three_clusters()
    proba = np.full((len(X), 2), 0.5)
    labelled = np.concatenate([np.arange(0, 5), np.arange(30, 35)])
    candidates = np.setdiff1d(np.arange(90), labelled)
    selection = build_strategy({"type": "ranked_batch"}).select(
        _context(proba, X=X, candidates=candidates, labelled=labelled), 1)
    assert selection.indices[0] // 30 == 2
    assert "to the nearest labelled row" in selection.reason


def test_ranked_batch_cold_start_starts_central_then_diverse():
    X = _three_clusters()
    context = _context(np.full((len(X), 2), 0.5), X=X)
    context.model, context.proba = None, None
    selection = build_strategy({"type": "ranked_batch"}).select(context, 3)
    assert {i // 30 for i in selection.indices} == {0, 1, 2}
    assert selection.scores[0] == 1.0
    assert selection.reason == "ranked batch, no model yet: no labels yet: most central row first, then rows far from it"


# ---------------------------------------------------------------- specs
BAD_SPECS = [
    ("margin", "config.yaml: strategy: must be a mapping"),
    ({}, "config.yaml: strategy.type: missing; known strategies: "),
    ({"type": "margn"}, "strategy.type: unknown QueryStrategy 'margn' (did you mean 'margin'?)"),
    ({"type": "margin", "param": {}}, "config.yaml: strategy.param: unknown key (did you mean 'params'?)"),
    ({"type": "margin", "params": [1]}, "strategy.params: must be a mapping"),
    ({"type": "margin", "params": {"beta": 1}}, "strategy.params.beta: unknown parameter for strategy 'margin'; known: none"),
    ({"type": "density_weighted", "params": {"bta": 1}},
     "strategy.params.bta: unknown parameter for strategy 'density_weighted' (did you mean 'beta'?)"),
    ({"type": "density_weighted", "params": {"beta": -1}}, "strategy.params.beta: must be a number >= 0, got -1"),
    ({"type": "density_weighted", "params": {"beta": "high"}}, "strategy.params.beta: must be a number >= 0"),
    ({"type": "density_weighted", "params": {"base": "gini"}},
     "strategy.params.base: must be one of least_confidence, margin, entropy, got 'gini'"),
    ({"type": "ranked_batch", "params": {"metric": "hamming"}}, "strategy.params.metric: must be one of cosine"),
    ({"type": "bald", "params": {"n_samples": 1}}, "strategy.params.n_samples: must be an integer >= 2, got 1"),
    ({"type": "bald", "params": {"n_samples": True}}, "strategy.params.n_samples: must be an integer >= 2"),
]


@pytest.mark.parametrize("spec, message", BAD_SPECS, ids=[m.split(": ")[1] for _, m in BAD_SPECS])
def test_bad_spec(spec, message):
    with pytest.raises(ConfigError) as info:
        build_strategy(spec)
    assert message in str(info.value)


def test_spec_errors_name_the_file():
    with pytest.raises(ConfigError, match=r"^my\.yaml: strategy\.params\.beta: "):
        build_strategy({"type": "density_weighted", "params": {"beta": -2}}, where="my.yaml")


def test_params_get_defaults_and_direct_construction_validates():
    strategy = build_strategy({"type": "density_weighted", "params": {"beta": 0.5}})
    assert strategy.params == {"base": "margin", "beta": 0.5, "metric": "cosine", "exact_max": 2000,
                               "sample_size": 500}
    assert repr(MarginStrategy()) == "MarginStrategy()"
    with pytest.raises(ConfigError, match="BALDStrategy: strategy.params.n_samples: must be an integer >= 2"):
        BALDStrategy(n_samples=0)


def test_dotted_path_strategy():
    assert isinstance(build_strategy({"type": "alabel.core.strategies.MarginStrategy"}), MarginStrategy)


@pytest.mark.parametrize("strategy_type, head, ok", [
    ("vote_entropy", LogisticRegressionHead, False),
    ("kl_max_disagreement", LogisticRegressionHead(), False),
    ("vote_entropy", CommitteeHead, True),
    ("bald", LogisticRegressionHead, False),
    ("bald", CommitteeHead(), True),
    ("bald", MCModel, True),
    ("margin", LogisticRegressionHead, True),
])
def test_build_time_head_check(strategy_type, head, ok):
    if ok:
        build_strategy({"type": strategy_type}, head=head)
    else:
        with pytest.raises(ConfigError, match=f"config.yaml: strategy.type: strategy '{strategy_type}' needs"):
            build_strategy({"type": strategy_type}, head=head)


# ---------------------------------------------------------------- pool context, top_n
@pytest.mark.parametrize("kwargs, message", [
    (dict(candidates=[1, 1, 2]), "duplicate"),
    (dict(candidates=[1, 2], labelled=[2]), "holds labelled rows"),
    (dict(candidates=[1, 10]), "outside the pool"),
    (dict(candidates=[-1]), "outside the pool"),
    (dict(candidates=[0.5]), "1-D array of row indices"),
    (dict(candidates=[1], proba=np.ones((3, 2))), "one row per pool row"),
])
def test_pool_context_validation(kwargs, message):
    base = dict(X=np.zeros((10, 2)), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        PoolContext(**base, **kwargs)


def test_pool_context_defaults():
    context = PoolContext(X=np.zeros((3, 1)), candidates=[0, 2], rng=np.random.default_rng(0))
    assert context.labelled.dtype == np.int64 and len(context.labelled) == 0
    assert context.model is None and context.proba is None
    with pytest.raises(NotReadyError):
        context.candidate_proba()


def test_top_n():
    values = np.array([0.1, 0.9, 0.5, 0.9, 0.2])
    rng = np.random.default_rng(0)
    top = top_n(values, 3, rng)
    assert set(top[:2].tolist()) == {1, 3} and top[2] == 2
    assert sorted(top_n(values, 5, rng).tolist()) == [0, 1, 2, 3, 4]
    firsts = {int(top_n(values, 1, np.random.default_rng(s))[0]) for s in range(20)}
    assert firsts == {1, 3}


def test_top_n_on_a_million_rows():
    values = np.random.default_rng(0).random(1_000_000)
    top = top_n(values, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(values[top], np.sort(values)[::-1][:10])
