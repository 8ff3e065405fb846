"""Threshold policies and caps against hand-computed examples."""
from __future__ import annotations

import numpy as np
import pytest

from alabel.core.errors import ConfigError
from alabel.core.loops.thresholds import (FreeMatchState, accept_per_class, build_policy,
                                          entropy_threshold, flexmatch_thresholds, freematch_thresholds,
                                          freematch_update, select_pseudo, self_paced_age)

# Ten rows, three classes. Rows 0-2 are confidently class 0 (> 0.9), row 3 confidently
# class 1, rows 4-9 are unsure (max 0.5 or 0.6).
PROBA = np.array([
    [0.95, 0.03, 0.02],
    [0.92, 0.05, 0.03],
    [0.91, 0.05, 0.04],
    [0.02, 0.96, 0.02],
    [0.50, 0.30, 0.20],
    [0.30, 0.60, 0.10],
    [0.20, 0.20, 0.60],
    [0.25, 0.25, 0.50],
    [0.60, 0.20, 0.20],
    [0.10, 0.30, 0.60],
])


def test_fixed_threshold_accepts_rows_at_or_above_tau():
    policy = build_policy("fixed")
    verdict = policy.accept(PROBA, ["a", "b", "c"], {"tau": 0.92}, 0)
    assert verdict.accepted.tolist() == [True, True, False, True] + [False] * 6
    np.testing.assert_allclose(verdict.priority, PROBA.max(axis=1))


def test_flexmatch_thresholds_by_hand():
    # sigma = (3, 1, 0) rows above tau=0.9; N - sum(sigma) = 6 unused rows.
    # warm-up: beta = sigma / max(3, 6) = (1/2, 1/6, 0); T = 0.9 beta / (2 - beta)
    np.testing.assert_allclose(flexmatch_thresholds(PROBA, 0.9), [0.3, 0.9 / 11, 0.0])
    # without warm-up: beta = sigma / 3 = (1, 1/3, 0); T = (0.9, 0.18, 0)
    np.testing.assert_allclose(flexmatch_thresholds(PROBA, 0.9, warmup=False), [0.9, 0.18, 0.0])


def test_flexmatch_policy_lowers_thresholds_of_unlearnt_classes_with_a_floor():
    policy = build_policy("flexmatch")
    verdict = policy.accept(PROBA, ["a", "b", "c"], {"tau": 0.9, "min_threshold": 0.55}, 0)
    # thresholds (0.3, 0.0818, 0) floored at 0.55 -> (0.55, 0.55, 0.55); strict ">".
    assert verdict.thresholds["per_class"] == {"a": 0.55, "b": 0.55, "c": 0.55}
    assert verdict.accepted.tolist() == [True, True, True, True, False, True, True, False, True, True]


def test_flexmatch_with_nothing_confident_and_empty_pool():
    unsure = np.full((4, 2), 0.5)
    np.testing.assert_allclose(flexmatch_thresholds(unsure, 0.95), [0.0, 0.0])
    np.testing.assert_allclose(flexmatch_thresholds(np.zeros((0, 2)), 0.95), [0.0, 0.0])


def test_freematch_ema_by_hand():
    state = FreeMatchState.start(2)  # tau = 1/2, p~ = (1/2, 1/2)
    state = freematch_update(state, np.array([[0.9, 0.1], [0.7, 0.3]]), momentum=0.5)
    # tau = 0.5*0.5 + 0.5*mean(0.9, 0.7) = 0.65; p~ = 0.5*(0.5, 0.5) + 0.5*(0.8, 0.2) = (0.65, 0.35)
    assert state.tau == pytest.approx(0.65)
    np.testing.assert_allclose(state.p_tilde, [0.65, 0.35])
    # T(c) = tau * p~(c) / max p~ = (0.65, 0.35)
    np.testing.assert_allclose(freematch_thresholds(state), [0.65, 0.35])


def test_freematch_policy_keeps_its_state_between_rounds():
    policy = build_policy("freematch")
    proba = np.array([[0.9, 0.1], [0.7, 0.3]])
    params = {"momentum": 0.5, "min_threshold": 0.0}
    first = policy.accept(proba, ["a", "b"], params, 0)
    second = policy.accept(proba, ["a", "b"], params, 1)
    # second step: tau = 0.5*0.65 + 0.5*0.8 = 0.725
    assert first.thresholds["tau_global"] == pytest.approx(0.65)
    assert second.thresholds["tau_global"] == pytest.approx(0.725)
    # T = (0.725, 0.725 * 0.275/0.725) = (0.725, 0.275): row 1 (0.7 for a) fails, row 0 passes.
    assert second.accepted.tolist() == [True, False]


def test_entropy_threshold_shrinks_each_round_and_stops_at_zero():
    assert entropy_threshold(0, 0.2, 0.05) == pytest.approx(0.2)
    assert entropy_threshold(3, 0.2, 0.05) == pytest.approx(0.05)
    assert entropy_threshold(5, 0.2, 0.05) == 0.0
    policy = build_policy("entropy")
    rows = np.array([[0.98, 0.01, 0.01], [0.9, 0.05, 0.05]])
    # entropies: 0.1120 and 0.3944 nats
    early = policy.accept(rows, ["a", "b", "c"], {"delta": 0.4, "delta_decay": 0.1}, 0)
    later = policy.accept(rows, ["a", "b", "c"], {"delta": 0.4, "delta_decay": 0.1}, 1)
    assert early.accepted.tolist() == [True, True]
    assert later.accepted.tolist() == [True, False]
    assert later.priority[0] > later.priority[1]


def test_self_paced_age_grows_geometrically():
    assert self_paced_age(0, 0.1, 2.0) == pytest.approx(0.1)
    assert self_paced_age(3, 0.1, 2.0) == pytest.approx(0.8)


def test_accept_per_class_strict_and_inclusive():
    proba = np.array([[0.6, 0.4], [0.3, 0.7]])
    assert accept_per_class(proba, [0.6, 0.8]).tolist() == [True, False]
    assert accept_per_class(proba, [0.6, 0.8], strict=True).tolist() == [False, False]


def test_unknown_policy_suggests_a_close_name():
    with pytest.raises(ConfigError, match="did you mean 'flexmatch'"):
        build_policy("flexmach")


class TestSelectPseudo:
    accepted = np.array([True, True, True, True, True, False])
    priority = np.array([0.9, 0.99, 0.95, 0.8, 0.97, 0.99])
    predicted = np.array([0, 0, 1, 1, 0, 1])

    def test_no_caps_takes_every_accepted_row(self):
        assert select_pseudo(self.accepted, self.priority, self.predicted, {}).tolist() == [0, 1, 2, 3, 4]

    def test_per_round_cap_keeps_reconfirmed_rows_and_adds_the_most_confident(self):
        # row 3 was pseudo-labelled class 1 before and still is: kept outside the cap;
        # row 0 was class 1 before but is now class 0: it counts as new.
        chosen = select_pseudo(self.accepted, self.priority, self.predicted, {3: 1, 0: 1}, max_per_round=2)
        assert chosen.tolist() == [1, 3, 4]

    def test_per_class_caps_scalar_and_array(self):
        assert select_pseudo(self.accepted, self.priority, self.predicted, {},
                             max_per_class=1).tolist() == [1, 2]
        assert select_pseudo(self.accepted, self.priority, self.predicted, {},
                             max_per_class=np.array([2, 0])).tolist() == [1, 4]

    def test_reconfirmed_rows_go_first_under_a_class_cap(self):
        # row 0 holds class 0 from before: it stays although row 1 is more confident.
        assert select_pseudo(self.accepted, self.priority, self.predicted, {0: 0},
                             max_per_class=1).tolist() == [0, 2]

    def test_class_caps_apply_before_the_round_cap(self):
        # class 0 may keep one row (row 1), so the round's two places go to rows 1 and 2.
        assert select_pseudo(self.accepted, self.priority, self.predicted, {},
                             max_per_class=1, max_per_round=2).tolist() == [1, 2]

    def test_total_cap_by_priority(self):
        assert select_pseudo(self.accepted, self.priority, self.predicted, {}, max_total=2).tolist() == [1, 4]

    def test_ties_are_broken_by_row_order(self):
        flat = np.ones(5)
        assert select_pseudo(np.ones(5, bool), flat, np.zeros(5, int), {}, max_per_round=3).tolist() == [0, 1, 2]
