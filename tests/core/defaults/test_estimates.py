"""Honest estimates: the audit set, random-pick quotas, audit estimates and their intervals."""
from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from alabel.core.evaluation import estimates
from alabel.core.heads import build_head


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


def test_audit_set_is_a_fixed_share_chosen_by_id():
    ids = np.arange(20_000)
    mask = estimates.audit_mask(ids, 0.1)
    assert 0.09 < mask.mean() < 0.11
    # By id, not by position: shuffling the pool keeps each object's membership.
    order = np.random.default_rng(0).permutation(len(ids))
    np.testing.assert_array_equal(estimates.audit_mask(ids[order], 0.1), mask[order])
    # Same answer for ids given as strings (the store keeps ids as text).
    np.testing.assert_array_equal(estimates.audit_mask(ids.astype(str), 0.1), mask)
    # A larger share contains the smaller one.
    assert (estimates.audit_mask(ids, 0.2) >= mask).all()
    assert not estimates.audit_mask(ids, 0.0).any()


@pytest.mark.parametrize("fraction, labelled, done, n, expected", [
    (0.1, 0, 0, 10, 1),     # first batch of 10: one random pick
    (0.1, 10, 1, 10, 1),
    (0.1, 10, 2, 10, 0),    # already ahead: none
    (0.1, 0, 0, 5, 0),      # 5 labels: a tenth is not one yet
    (0.1, 5, 0, 5, 1),      # ... at 10 it is
    (0.25, 0, 0, 8, 2),
    (0.0, 100, 0, 10, 0),
    (0.5, 0, 0, 3, 1),
])
def test_random_quota_keeps_the_share_on_target(fraction, labelled, done, n, expected):
    assert estimates.random_quota(fraction, labelled, done, n) == expected


def test_quota_over_many_batches_matches_the_share():
    labelled = random_labelled = 0
    for n in [10, 7, 3, 10, 1, 1, 1, 10, 25, 10] * 5:
        k = estimates.random_quota(0.1, labelled, random_labelled, n)
        labelled, random_labelled = labelled + n, random_labelled + k
    assert random_labelled == int(0.1 * labelled)


def test_quota_starts_after_the_cold_start_and_then_holds_the_share():
    assert estimates.random_quota(0.1, 0, 0, 10, start=20) == 0
    assert estimates.random_quota(0.1, 10, 0, 10, start=20) == 0
    assert estimates.random_quota(0.1, 20, 0, 10, start=20) == 1
    labelled, random_labelled = 20, 0
    for n in [10, 3, 10, 7] * 10:
        k = estimates.random_quota(0.1, labelled, random_labelled, n, start=20)
        labelled, random_labelled = labelled + n, random_labelled + k
    assert random_labelled == int(0.1 * (labelled - 20))


def test_plan_random_picks_keeps_the_strategy_off_the_audit_set():
    rng = np.random.default_rng(0)
    in_audit = estimates.audit_mask(np.arange(1000), 0.1)
    candidates = np.arange(0, 1000, 2)
    plan = estimates.plan_random_picks(candidates, in_audit, 10, n_labelled=90, n_audit_labelled=9,
                                       n_test_labelled=18, audit_fraction=0.1, test_fraction=0.2, rng=rng)
    assert len(plan.audit) == 1 and in_audit[plan.audit].all()
    assert len(plan.test) == 2 and not in_audit[plan.test].any()
    assert plan.n_strategy == 7
    assert not in_audit[plan.candidates].any()
    assert not set(plan.test) & set(plan.candidates)
    assert set(plan.candidates) | set(plan.test) | set(candidates[in_audit[candidates]]) == set(candidates)


def test_plan_lets_the_strategy_into_the_audit_set_when_nothing_else_is_left():
    in_audit = np.array([True, True, False, False])
    plan = estimates.plan_random_picks(np.array([0, 1]), in_audit, 2, n_labelled=2, n_audit_labelled=0,
                                       n_test_labelled=0, audit_fraction=0.1, test_fraction=0.0,
                                       rng=np.random.default_rng(0))
    assert plan.n_strategy == 2 and sorted(plan.candidates.tolist()) == [0, 1]


def test_estimate_carries_a_wilson_interval():
    est = estimates.estimate([True] * 18 + [False] * 2, method="m")
    assert est["accuracy"] == 0.9 and est["n"] == 20
    low, high = est["interval"]
    assert low < 0.9 < high and 0.65 < low < 0.72 and high < 0.98
    empty = estimates.estimate([], method="none yet")
    assert empty["accuracy"] is None and empty["interval"] == [0.0, 1.0]


def _data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = np.where(X[:, 0] + 0.3 * rng.normal(size=n) > 0, "a", "b").astype(object)
    return X, y


def test_audit_estimate_refits_without_each_group_of_audit_labels():
    X, y = _data(200, 0)
    audit = np.zeros(200, dtype=bool)
    audit[::10] = True
    head = build_head({"type": "logistic_regression"}, classes=None, random_state=0).fit(X, y)
    est = estimates.audit_estimate(head, X, y, audit, random_state=4)
    groups = np.array_split(np.random.default_rng(4).permutation(np.flatnonzero(audit)), 5)
    hits = []
    for held_out in groups:
        train = np.ones(200, dtype=bool)
        train[held_out] = False
        refit = build_head({"type": "logistic_regression"}, classes=None, random_state=0).fit(X[train], y[train])
        hits.extend(refit.predict(X[held_out]) == y[held_out])
    assert est["accuracy"] == pytest.approx(np.mean(hits))
    assert est["n"] == 20 and "refitted without its group of 5" in est["method"] and not est["biased"]
    few = estimates.audit_estimate(head, X, y, audit & (np.arange(200) < 30))
    assert few["n"] == 3 and "group of 3" in few["method"]


def test_audit_labels_left_out_by_group_keep_what_only_they_teach():
    """Chosen labels sit on the a/b boundary; class c is known from random audit labels alone."""
    rng = np.random.default_rng(5)
    hard = np.column_stack([rng.normal(scale=0.1, size=120), rng.normal(size=120)])
    hard_y = np.where(hard[:, 0] > 0, "a", "b")
    centres = {"a": (2.0, 0.0), "b": (-2.0, 0.0), "c": (0.0, 8.0)}
    audit_y = np.array(["a", "b", "c", "c"] * 5)
    audit_X = np.array([centres[c] for c in audit_y]) + rng.normal(scale=0.5, size=(20, 2))
    X = np.vstack([hard, audit_X]).astype(np.float32)
    y = np.concatenate([hard_y, audit_y]).astype(object)
    flags = np.arange(len(y)) >= 120
    head = build_head({"type": "logistic_regression"}, classes=None, random_state=0).fit(X, y)
    est = estimates.audit_estimate(head, X, y, flags)
    assert est["accuracy"] >= 0.9  # each group's refit still sees other c labels
    all_out = build_head({"type": "logistic_regression"}, classes=None, random_state=0).fit(X[~flags], y[~flags])
    assert (all_out.predict(X[flags]) == y[flags]).mean() <= 0.5, "leaving every audit label out misses class c"


def test_audit_estimate_uses_the_auto_heads_out_of_fold_predictions():
    X, y = _data(150, 1)
    audit = np.zeros(150, dtype=bool)
    audit[::5] = True
    head = build_head({"type": "auto", "candidates": [
        {"type": "logistic_regression"}, {"type": "knn"}]}, classes=None, random_state=0).fit(X, y)
    est = estimates.audit_estimate(head, X, y, audit)
    assert est["accuracy"] == pytest.approx((head.oof_predictions_[audit] == y[audit]).mean())
    assert "out-of-fold" in est["method"]


def test_audit_estimate_is_unbiased_where_chosen_labels_are_not():
    """Labels near the boundary (what margin sampling asks for) understate accuracy; audit labels do not."""
    X, y = _data(4000, 2)
    head = build_head({"type": "logistic_regression"}, classes=None, random_state=0)
    rng = np.random.default_rng(0)
    hard = np.argsort(np.abs(X[:, 0]))[:180]  # actively chosen: closest to the boundary
    audit_rows = rng.choice(np.setdiff1d(np.arange(4000), hard), 20, replace=False)
    rows = np.concatenate([hard, audit_rows])
    head.fit(X[rows], y[rows])
    flags = np.isin(rows, audit_rows)
    truth = (head.predict(X) == y).mean()
    audit = estimates.audit_estimate(head, X[rows], y[rows], flags)
    from alabel.core.training.retrain import TrainingJob, out_of_fold_metrics

    job = TrainingJob(version=1, head_spec={}, classes=["a", "b"], seed=0, X_train=X[rows], y_train=y[rows],
                      label_revision=0)
    chosen = out_of_fold_metrics(head, job, lambda: None)["accuracy"]
    assert chosen < truth - 0.15, "out of fold on chosen labels is far below the truth"
    low, high = audit["interval"]
    assert low <= truth <= high


def test_choose_estimate_prefers_test_then_audit_then_flags_the_biased_one():
    oof = {"evaluation": "out-of-fold", "n_evaluated": 50, "accuracy": 0.7, "accuracy_interval": [0.56, 0.81]}
    audit = estimates.estimate([True] * 9 + [False], method="audit")
    assert estimates.choose_estimate(oof, audit) is audit
    biased = estimates.choose_estimate(oof, None)
    assert biased["biased"] and "biased" in biased["method"]
    test = {"evaluation": "test", "n_evaluated": 30, "accuracy": 0.8, "accuracy_interval": [0.6, 0.9]}
    assert estimates.choose_estimate(test, audit)["source"] == "test"
    assert "no accuracy estimate" in estimates.describe(None)
    assert estimates.describe(audit).startswith("accuracy 0.900 (95 % interval")
