"""Behaviour specific to the scikit-learn heads and the committee."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from alabel.core.errors import DataError, NotReadyError
from alabel.core.heads import (
    CommitteeHead,
    HistGradientBoostingHead,
    KNNHead,
    LogisticRegressionHead,
    MLPHead,
    RandomForestHead,
)
from alabel.core.heads.committee import _stratified_bootstrap

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = np.where(X[:, 0] > 0, "a", "b").astype(object)
    return X, y


def test_importing_heads_and_strategies_loads_no_torch_skops_or_modal():
    code = ("import sys, alabel.core.heads, alabel.core.strategies\n"
            "print(','.join(m for m in ('torch', 'skops', 'modAL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_pipeline_imputes_only_where_the_model_cannot_take_nan():
    X, y = _data()
    assert [name for name, _ in LogisticRegressionHead().fit(X, y).pipeline_.steps] == ["impute", "scale", "model"]
    assert [name for name, _ in LogisticRegressionHead(scale=False).fit(X, y).pipeline_.steps] == ["impute", "model"]
    assert [name for name, _ in RandomForestHead().fit(X, y).pipeline_.steps] == ["model"]
    assert [name for name, _ in HistGradientBoostingHead().fit(X, y).pipeline_.steps] == ["model"]


def test_missingness_is_a_feature():
    """A class told apart only by which value is missing is learned (indicator columns)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    y = np.array(["lpv", "cep"] * 30, dtype=object)
    X[y == "lpv", 1] = np.nan
    for head in (LogisticRegressionHead(), KNNHead(), RandomForestHead(random_state=0)):
        assert (head.fit(X, y).predict(X) == y).all(), type(head).__name__
    imputer = LogisticRegressionHead().fit(X, y).pipeline_["impute"]
    assert (imputer.strategy, imputer.add_indicator, imputer.keep_empty_features) == ("median", True, True)


def test_knn_caps_neighbours_at_the_label_count_and_says_so():
    X, y = _data(n=3)
    y = np.array(["a", "b", "a"], dtype=object)
    head = KNNHead(params={"n_neighbors": 5}).fit(X, y)
    assert head.pipeline_[-1].n_neighbors == 3
    assert head.fit_notes_ == ["n_neighbors 5 -> 3: only 3 labels"]
    assert head.params == {"n_neighbors": 5}  # the user's setting is left alone
    head.fit(*_data(n=20))
    assert head.pipeline_[-1].n_neighbors == 5 and head.fit_notes_ == []


def test_knn_refuses_sample_weight():
    X, y = _data()
    with pytest.raises(TypeError):
        KNNHead().fit(X, y, sample_weight=np.ones(len(y)))
    assert not KNNHead.supports_sample_weight


def test_hgb_lowers_min_samples_leaf_for_few_labels_only():
    X, y = _data(n=20)
    head = HistGradientBoostingHead(random_state=0).fit(X, y)
    assert head.pipeline_[-1].min_samples_leaf == 5
    assert "min_samples_leaf 20 -> 5" in head.fit_notes_[0]
    # With 20 labels the default leaf size could not split at all; the guard can.
    assert len(set(head.predict(X))) == 2
    assert HistGradientBoostingHead().fit(*_data(n=80)).pipeline_[-1].min_samples_leaf == 20
    pinned = HistGradientBoostingHead(params={"min_samples_leaf": 20}).fit(X, y)
    assert pinned.pipeline_[-1].min_samples_leaf == 20 and pinned.fit_notes_ == []


def test_class_weight_goes_natively_where_the_estimator_has_it():
    X, y = _data()
    head = RandomForestHead(class_weight={"a": 3.0}, random_state=0).fit(X, y)
    # Names are translated to the indices the estimator is trained on.
    assert head.pipeline_[-1].class_weight == {0: 3.0}
    assert LogisticRegressionHead(class_weight="balanced").fit(X, y).pipeline_[-1].class_weight == "balanced"


def test_class_weight_becomes_sample_weight_for_mlp():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    y = np.where(rng.random(60) < 0.15, "rare", "common").astype(object)
    params = {"solver": "lbfgs", "hidden_layer_sizes": (4,), "max_iter": 300}
    plain = MLPHead(params=params, random_state=0).fit(X, y).predict_proba(X)[:, 1]
    balanced = MLPHead(params=params, class_weight="balanced", random_state=0).fit(X, y).predict_proba(X)[:, 1]
    assert balanced.mean() > plain.mean()  # "rare" is column 1


def test_class_weight_naming_an_unknown_class_is_refused():
    X, y = _data()
    with pytest.raises(DataError, match="class_weight names \\['zz'\\]"):
        LogisticRegressionHead(class_weight={"zz": 2.0}).fit(X, y)


def test_warm_start_continues_and_keeps_preprocessing():
    X, y = _data()
    head = LogisticRegressionHead(params={"warm_start": True}).fit(X, y)
    scaler, model = head.pipeline_["scale"], head.pipeline_[-1]
    head.fit(X * 2, y)
    assert head.pipeline_["scale"] is scaler and head.pipeline_[-1] is model
    # A new class means a different output layer: start afresh.
    y3 = y.copy()
    y3[:5] = "c"
    head.fit(X, y3)
    assert head.pipeline_[-1] is not model


def test_warm_start_from_a_previous_head_leaves_it_untouched():
    X, y = _data()
    old = HistGradientBoostingHead(params={"warm_start": True, "max_iter": 5}, random_state=0).fit(X, y)
    before = old.predict_proba(X)
    new = HistGradientBoostingHead(params={"warm_start": True, "max_iter": 8}, random_state=0)
    new.warm_start_from(old).fit(X, y)
    assert new.pipeline_[-1].n_iter_ == 8  # 5 boosted rounds kept, 3 added
    assert new.fit_notes_ == ["warm start: continued from the previous model"]
    assert old.pipeline_[-1].n_iter_ == 5
    np.testing.assert_array_equal(old.predict_proba(X), before)
    # Without params.warm_start the previous head is ignored.
    cold = HistGradientBoostingHead(params={"max_iter": 8}, random_state=0).warm_start_from(old)
    assert not hasattr(cold, "pipeline_")


def test_without_warm_start_each_fit_is_fresh():
    X, y = _data()
    head = LogisticRegressionHead().fit(X, y)
    model = head.pipeline_[-1]
    assert head.fit(X, y).pipeline_[-1] is not model


def test_mlp_partial_fit_needs_classes_on_first_call():
    X, y = _data()
    with pytest.raises(NotReadyError, match="classes"):
        MLPHead().partial_fit(X, y)
    head = MLPHead(random_state=0).partial_fit(X[:10], y[:10], classes=["a", "b", "c"])
    head.partial_fit(X, y)
    assert head.predict_proba(X).shape == (80, 3)
    assert not hasattr(MLPHead(params={"solver": "lbfgs"}), "partial_fit")


def test_partial_fit_after_fit_without_every_class_restarts():
    X, y = _data()
    head = MLPHead(classes=["a", "b", "c"], random_state=0).fit(X, y)
    head.partial_fit(X, y)
    assert head.fit_notes_[-1].startswith("partial_fit restarted")


# ---------------------------------------------------------------- committee
def test_committee_members_disagree_and_average():
    X, y = _data()
    X[:, 0] += np.random.default_rng(3).normal(scale=0.7, size=len(X)).astype(np.float32)  # noisy labels
    head = CommitteeHead(members=[{"type": "logistic_regression"}, {"type": "logistic_regression"},
                                  {"type": "random_forest"}], classes=["b", "a", "c"], random_state=0).fit(X, y)
    probas = head.member_probas(X)
    assert probas.shape == (3, len(X), 3)
    np.testing.assert_allclose(probas.mean(axis=0), head.predict_proba(X))
    # Same spec, different bootstrap sample: the two logistic regressions differ.
    assert not np.allclose(probas[0], probas[1])
    assert (probas[:, :, 2] == 0).all()
    seeds = [m.random_state for m in head.members_]
    assert len(set(seeds)) == 3


def test_committee_without_bootstrap_and_identical_deterministic_members_agree():
    X, y = _data()
    head = CommitteeHead(members=[{"type": "knn"}, {"type": "knn"}], bootstrap=False).fit(X, y)
    probas = head.member_probas(X)
    np.testing.assert_array_equal(probas[0], probas[1])


def test_committee_default_members_and_single_class():
    X, _ = _data(n=4)
    head = CommitteeHead(classes=["a", "b"]).fit(X, ["a"] * 4)
    probas = head.member_probas(X)
    assert probas.shape == (3, 4, 2)
    assert (probas[:, :, 0] == 1).all()


def test_committee_collects_member_notes_and_sample_weight_support():
    X, y = _data(n=12)
    head = CommitteeHead(members=[{"type": "knn", "params": {"n_neighbors": 50}}, {"type": "logistic_regression"}],
                         random_state=0).fit(X, y)
    assert head.fit_notes_ == ["members[0] (knn): n_neighbors 50 -> 12: only 12 labels"]
    assert not head.supports_sample_weight
    with pytest.raises(ValueError, match="cannot use sample weights"):
        clone(head).fit(X, y, sample_weight=np.ones(len(y)))
    assert CommitteeHead().supports_sample_weight


def test_stratified_bootstrap_keeps_class_counts():
    y = np.array([0] * 7 + [1] * 2 + [2])
    rows = _stratified_bootstrap(y, np.random.RandomState(0))
    assert np.array_equal(np.bincount(y[rows]), [7, 2, 1])
    assert len(set(rows)) < len(rows)  # drawn with replacement
