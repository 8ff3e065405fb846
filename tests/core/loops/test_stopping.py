"""Stopping guidance: prediction change and the stabilising-predictions criterion by hand."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from alabel.core.evaluation.stopping import StabilisingPredictions, agreement_kappa, prediction_change


def test_kappa_and_change_by_hand():
    previous = np.array(["a", "a", "b", "b"])
    current = np.array(["a", "b", "b", "b"])
    # observed agreement 3/4; chance: P(a)P(a) + P(b)P(b) = 0.5*0.25 + 0.5*0.75 = 0.5
    assert agreement_kappa(previous, current) == pytest.approx((0.75 - 0.5) / (1 - 0.5))
    assert prediction_change(previous, current) == pytest.approx(0.25)


def test_kappa_matches_scikit_learn_on_random_predictions():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    b[:300] = a[:300]
    assert agreement_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_kappa_of_identical_constant_predictions_is_full_agreement():
    same = np.zeros(10, dtype=int)
    assert agreement_kappa(same, same) == 1.0
    assert agreement_kappa(same, same + 1) == 0.0


def test_stabilising_predictions_needs_a_full_window_above_the_threshold():
    monitor = StabilisingPredictions(stop_rows=np.arange(4), n_rows=6, window=2, threshold=0.9)
    first = monitor.update(np.array([0, 0, 1, 1, 0, 0]), version=1, n_labels=10)
    assert first.changed_fraction is None and not first.stable
    second = monitor.update(np.array([0, 1, 1, 1, 0, 1]), version=2, n_labels=20)
    # stop set rows 0-3 change from (0,0,1,1) to (0,1,1,1): kappa 0.5; pool: 2 of 6 changed
    assert second.kappa == pytest.approx(0.5)
    assert second.changed_fraction == pytest.approx(2 / 6)
    assert second.kappa_mean is None and not second.stable
    third = monitor.update(np.array([0, 1, 1, 1, 0, 1]), version=3, n_labels=30)
    assert third.kappa == 1.0 and third.kappa_mean == pytest.approx(0.75) and not third.stable
    fourth = monitor.update(np.array([0, 1, 1, 1, 1, 1]), version=4, n_labels=40)
    # the change in row 4 is outside the stop set: kappa stays 1, mean (1 + 1) / 2
    assert fourth.kappa == 1.0 and fourth.kappa_mean == 1.0 and fourth.stable
    assert fourth.changed_fraction == pytest.approx(1 / 6)
    assert "consider stopping" in fourth.message
    assert monitor.last is fourth


def test_stop_set_is_seeded_and_leaves_out_held_out_rows():
    a = StabilisingPredictions.for_pool(100, size=20, seed=3, exclude=np.arange(50))
    b = StabilisingPredictions.for_pool(100, size=20, seed=3, exclude=np.arange(50))
    np.testing.assert_array_equal(a.stop_rows, b.stop_rows)
    assert len(a.stop_rows) == 20 and a.stop_rows.min() >= 50


def test_update_checks_the_prediction_length():
    monitor = StabilisingPredictions(np.arange(2), n_rows=3)
    with pytest.raises(ValueError, match="expected 3 predictions"):
        monitor.update(np.zeros(4), version=1, n_labels=1)


def test_probabilities_are_read_on_the_stop_set_only():
    class Rows(np.ndarray):
        """Pool probabilities that record which rows were read."""

    rng = np.random.default_rng(0)
    monitor = StabilisingPredictions.for_pool(10_000, size=50, seed=1, window=1, threshold=0.5)
    reports = []
    for _ in range(2):
        proba = rng.dirichlet(np.ones(3), size=10_000).view(Rows)
        read = []
        proba.__class__.__getitem__ = lambda self, key, read=read: read.append(key) or np.ndarray.__getitem__(
            self, key)
        reports.append(monitor.update_proba(proba, version=len(reports) + 1, n_labels=10))
        assert len(read) == 1 and np.array_equal(read[0], monitor.stop_rows)
    second = reports[1]
    assert second.changed_rows == 50 and 0.0 < second.changed_fraction < 1.0
    assert "a sample of 50 rows" in second.message and second.kappa is not None
