"""The ``auto`` head: switches candidates with the label count, by out-of-fold evidence, deterministically."""
from __future__ import annotations

import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from alabel.core.errors import ConfigError
from alabel.core.heads import build_head
from alabel.core.heads.adaptive import DEFAULT_CANDIDATES, AdaptiveHead

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

#: A small ladder (fast trees) with the default's shape: linear first, boosted trees from 100 labels.
LADDER = [
    {"type": "logistic_regression"},
    {"type": "hist_gradient_boosting", "params": {"max_iter": 30}, "min_labels": 100},
]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


def checkerboard(n, seed=0):
    """Two classes on a 2x2 checkerboard: no linear boundary, trees separate it easily."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3)).astype(np.float32)
    y = np.where((X[:, 0] > 0) ^ (X[:, 1] > 0), "odd", "even").astype(object)
    return X, y


def linear(n, seed=0):
    """Two Gaussian classes split by a plane, with label noise: a linear model is right."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    score = X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.8, size=n)
    return X, np.where(score > 0, "pos", "neg").astype(object)


def auto(**params):
    return build_head({"type": "auto", "candidates": LADDER, **params}, classes=None, random_state=0)


def test_few_labels_use_the_first_rung_without_evaluating_the_others():
    X, y = checkerboard(60)
    head = auto().fit(X, y)
    assert head.chosen_ == "logistic_regression"
    assert head.candidates_scores_ == {"logistic_regression": None, "hist_gradient_boosting": None}
    assert "only candidate eligible at 60 labels" in head.choice_summary()["note"]


def test_switches_to_boosted_trees_when_they_win_out_of_fold():
    X, y = checkerboard(300)
    head = auto().fit(X, y)
    scores = head.candidates_scores_
    assert head.chosen_ == "hist_gradient_boosting"
    assert set(scores) == {"logistic_regression", "hist_gradient_boosting", "ensemble"}
    assert scores["hist_gradient_boosting"]["log_loss"] < scores["logistic_regression"]["log_loss"] - 0.3
    assert scores["hist_gradient_boosting"]["accuracy"] > scores["logistic_regression"]["accuracy"] + 0.2
    X_test, y_test = checkerboard(500, seed=1)
    assert (head.predict(X_test) == y_test).mean() > 0.9
    assert head.oof_predictions_.shape == (300,)
    assert head.chosen_spec_ == {"type": "hist_gradient_boosting", "params": {"max_iter": 30}}


def test_keeps_the_linear_model_where_it_is_right():
    X, y = linear(300)
    head = auto(tolerance=0.01).fit(X, y)
    assert head.chosen_ == "logistic_regression"
    assert all(v is not None for v in head.candidates_scores_.values())


def test_ensemble_option_is_the_mean_of_the_eligible_candidates():
    few, many = AdaptiveHead(candidates=LADDER)._options(60), AdaptiveHead(candidates=LADDER)._options(100)
    assert [name for name, _, _ in few] == ["logistic_regression"]
    assert [name for name, _, _ in many] == ["logistic_regression", "hist_gradient_boosting", "ensemble"]
    name, spec, members = many[-1]
    assert spec == {"type": "committee", "members": [LADDER[0], {k: v for k, v in LADDER[1].items()
                                                               if k != "min_labels"}], "bootstrap": False}
    assert members == [0, 1]
    assert [n for n, _, _ in AdaptiveHead(candidates=LADDER, ensemble=False)._options(100)] == [
        "logistic_regression", "hist_gradient_boosting"]
    # Chosen, the ensemble is fitted as a committee whose probabilities are its members' mean.
    X, y = linear(120)
    head = auto(tolerance=0.0)
    head.fit(X, y)
    committee = head._build(spec).fit(X, y)
    np.testing.assert_allclose(committee.predict_proba(X), committee.member_probas(X).mean(axis=0))


def test_accuracy_criterion_is_available():
    X, y = checkerboard(300)
    head = auto(criterion="accuracy").fit(X, y)
    assert head.chosen_ in ("hist_gradient_boosting", "ensemble")
    assert "out-of-fold accuracy" in head.choice_summary()["note"]


def test_same_seed_same_choice_and_probabilities():
    X, y = checkerboard(200)
    first, second = auto().fit(X, y), auto().fit(X, y)
    assert first.choice_summary() == second.choice_summary()
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other_seed = build_head({"type": "auto", "candidates": LADDER}, classes=None, random_state=1).fit(X, y)
    assert other_seed.chosen_ == first.chosen_  # the evidence is clear-cut; only the folds moved


def test_tolerance_prefers_the_simpler_model_on_a_tie():
    X, y = checkerboard(200)
    greedy = auto().fit(X, y)
    assert greedy.chosen_ == "hist_gradient_boosting"
    cautious = auto(tolerance=5.0).fit(X, y)
    assert cautious.chosen_ == "logistic_regression"


def test_no_choice_with_too_few_labels_per_class():
    head = AdaptiveHead()
    assert [n for n, _, _ in head._options(20, n_classes=10)] == ["logistic_regression"]
    assert len(head._options(30, n_classes=10)) == 4
    X, y = checkerboard(300)
    y = np.array([f"{label}{i % 50}" for i, label in enumerate(y)], dtype=object)  # 100 classes
    fitted = auto().fit(X[:200], y[:200])
    assert fitted.chosen_ == "logistic_regression"
    assert "the only candidate eligible at 200 labels of" in fitted.selection_note_


def test_a_switch_needs_evidence_beyond_the_noise():
    head = AdaptiveHead(evidence=1.0)
    rng = np.random.default_rng(0)
    incumbent = rng.exponential(0.5, size=40)
    noise = rng.normal(scale=0.5, size=40)
    noisy_gain = incumbent - 0.05 + noise - noise.mean()  # better by 0.05 on average, sd 0.5
    assert noisy_gain.mean() < incumbent.mean()
    assert not head._better(noisy_gain, incumbent)
    clear_gain = incumbent * 0.3
    assert head._better(clear_gain, incumbent)
    assert not AdaptiveHead(evidence=0.0, tolerance=1.0)._better(clear_gain, incumbent)
    assert AdaptiveHead(evidence=0.0)._better(noisy_gain, incumbent)


def test_warm_start_keeps_the_choice_until_the_labels_grow():
    X, y = checkerboard(400)
    first = auto(reselect_growth=0.25).fit(X[:200], y[:200])
    assert first.n_selected_ == 200
    kept = auto(reselect_growth=0.25).warm_start_from(first).fit(X[:240], y[:240])
    assert kept.chosen_ == first.chosen_ and kept.n_selected_ == 200
    assert kept.oof_predictions_ is None  # no selection ran: the estimate refits instead
    assert "kept" in kept.choice_summary()["note"]
    grown = auto(reselect_growth=0.25).warm_start_from(kept).fit(X[:260], y[:260])
    assert grown.n_selected_ == 260 and grown.oof_predictions_ is not None


def test_warm_start_reevaluates_when_a_rung_becomes_eligible():
    X, y = checkerboard(120)
    small = auto().fit(X[:90], y[:90])
    assert small.chosen_ == "logistic_regression"
    bigger = auto().warm_start_from(small).fit(X[:100], y[:100])  # 100: the tree rung opens
    assert bigger.candidates_scores_["hist_gradient_boosting"] is not None


def test_choice_is_json_ready():
    X, y = checkerboard(200)
    summary = auto().fit(X, y).choice_summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["chosen"] == "hist_gradient_boosting"
    assert set(summary["scores"]) == {"logistic_regression", "hist_gradient_boosting", "ensemble"}
    assert "out-of-fold log-loss on 200 labels" in summary["note"]


def test_single_class_needs_no_choice():
    X, y = checkerboard(10)
    summary = auto().fit(X, ["even"] * 10).choice_summary()
    assert summary["chosen"] is None and "one class only" in summary["note"]


def test_explicit_classes_and_sample_weight_reach_the_chosen_candidate():
    X, y = checkerboard(60)
    head = build_head({"type": "auto", "candidates": LADDER}, classes=["even", "odd", "never"],
                      random_state=0)
    head.fit(X, y, sample_weight=np.where(y == "odd", 5.0, 1.0))
    proba = head.predict_proba(X)
    assert proba.shape == (60, 3) and (proba[:, 2] == 0).all()
    assert list(head.estimator_.classes_) == ["even", "odd", "never"]


def test_default_ladder_is_linear_first_then_trees():
    head = AdaptiveHead()
    names = [name for name, _, _ in head._ladder()]
    assert names == ["logistic_regression", "hist_gradient_boosting", "random_forest"]
    assert DEFAULT_CANDIDATES[0].get("min_labels", 0) == 0
    assert [n for n, _, _ in head._options(19)] == ["logistic_regression"]
    assert [n for n, _, _ in head._options(20)] == names + ["ensemble"]


def test_repeated_types_get_distinct_names():
    head = AdaptiveHead(candidates=[{"type": "logistic_regression", "params": {"C": 0.1}},
                                    {"type": "logistic_regression", "params": {"C": 10.0}}])
    assert [name for name, _, _ in head._ladder()] == ["logistic_regression", "logistic_regression#2"]


@pytest.mark.parametrize("spec, key, hint", [
    ({"candidates": []}, "head.candidates", "non-empty list"),
    ({"candidates": [{"params": {}}]}, "head.candidates[0]", "'type'"),
    ({"candidates": [{"type": "auto"}]}, "head.candidates[0].type", "cannot hold another"),
    ({"candidates": [{"type": "knn", "min_labels": -1}]}, "head.candidates[0].min_labels", ">= 0"),
    ({"candidates": [{"type": "logistic_regresion"}]}, "head.candidates[0].type", "logistic_regression"),
    ({"candidates": [{"type": "knn", "n_neighbours": 3}]}, "head.candidates[0].n_neighbours", "unknown key"),
    ({"folds": 1}, "head.folds", ">= 2"),
    ({"tolerance": "small"}, "head.tolerance", "number"),
    ({"evidence": -1}, "head.evidence", "must be a number in [0, 10], got -1"),
    ({"min_per_class": 1.5}, "head.min_per_class", "integer"),
    ({"criterion": "f1"}, "head.criterion", "log_loss"),
    ({"ensemble": "yes"}, "head.ensemble", "true or false"),
])
def test_bad_specs_name_the_key(spec, key, hint):
    with pytest.raises(ConfigError) as info:
        build_head({"type": "auto", **spec}, classes=None, random_state=0, where="config.yaml")
    assert key in str(info.value) and hint in str(info.value)


def test_out_of_fold_evaluation_refits_the_chosen_candidate_only(monkeypatch):
    from alabel.core.training.retrain import TrainingJob, out_of_fold_metrics

    X, y = checkerboard(300)
    head = auto().fit(X, y)
    assert head.evaluation_template() is head.estimator_
    selections = []
    monkeypatch.setattr(AdaptiveHead, "_select", lambda *a, **k: selections.append(1) or 0)
    job = TrainingJob(version=1, head_spec={}, classes=["even", "odd"], seed=0, X_train=X, y_train=y,
                      label_revision=0)
    metrics = out_of_fold_metrics(head, job, lambda: None)
    assert metrics["n_evaluated"] == 300 and metrics["accuracy"] > 0.9 and selections == []
    single = auto().fit(X[:5], ["even"] * 5)
    assert single.evaluation_template() is single


def test_the_choice_says_when_it_rests_on_few_labels():
    X, y = linear(12)
    few = auto().fit(X, y).choice_summary()
    assert few["few_labels"] is True and "rests on few labels (12 labels" in few["caution"]
    X, y = linear(120)
    y[0] = "rare"  # a class seen once: the out-of-fold scores cannot speak for it
    rare = auto().fit(X, y).choice_summary()
    assert rare["few_labels"] is True and rare["fewest_per_class"] == 1
    assert "rarest labelled class has 1" in rare["caution"]
    X, y = linear(120)
    enough = auto().fit(X, y).choice_summary()
    assert enough["few_labels"] is False and enough["caution"] is None and enough["fewest_per_class"] >= 3


def test_a_kept_choice_reports_the_labels_it_was_made_on():
    X, y = linear(16)
    first = auto(reselect_growth=0.5).fit(X, y)
    X, y = linear(22)  # grew by less than half: the choice made at 16 labels is kept
    second = auto(reselect_growth=0.5).warm_start_from(first).fit(X, y).choice_summary()
    assert second["n_selected"] == 16 and second["few_labels"] is True
    assert second["fewest_per_class"] == first.choice_summary()["fewest_per_class"]
