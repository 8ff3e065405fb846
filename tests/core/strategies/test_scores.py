"""Score functions: hand-computed values, modAL as reference, edge shapes, 1M rows."""
from __future__ import annotations

import numpy as np
import pytest
from modAL.density import information_density as modal_information_density
from modAL.disagreement import KL_max_disagreement as modal_kl
from modAL.disagreement import vote_entropy as modal_vote_entropy
from modAL.uncertainty import _proba_entropy, _proba_margin, _proba_uncertainty

from alabel.core.strategies import scores

LN2, LN3 = np.log(2.0), np.log(3.0)

PROBA = np.array([
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.0],
    [1 / 3, 1 / 3, 1 / 3],
    [0.6, 0.3, 0.1],
])


def _dirichlet(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])


# ------------------------------------------------------------ hand-computed values
def test_least_confidence_by_hand():
    np.testing.assert_allclose(scores.least_confidence(PROBA), [0.0, 0.5, 2 / 3, 0.4])


def test_margin_by_hand_is_negative_margin():
    np.testing.assert_allclose(scores.margin(PROBA), [-1.0, 0.0, 0.0, -0.3])


def test_entropy_by_hand():
    expected_last = -(0.6 * np.log(0.6) + 0.3 * np.log(0.3) + 0.1 * np.log(0.1))
    np.testing.assert_allclose(scores.entropy(PROBA), [0.0, LN2, LN3, expected_last])


def test_vote_entropy_by_hand():
    members = np.array([
        [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]],
        [[0.8, 0.2], [0.3, 0.7], [0.1, 0.9]],
    ])  # votes: row0 a,a  row1 a,b  row2 b,b
    np.testing.assert_allclose(scores.vote_entropy(members), [0.0, LN2, 0.0])


def test_kl_max_disagreement_by_hand():
    members = np.array([[[1.0, 0.0]], [[0.5, 0.5]]])
    consensus = np.array([0.75, 0.25])
    kl_first = np.log(1 / 0.75)
    kl_second = 0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(0.5 / 0.25)
    np.testing.assert_allclose(scores.kl_max_disagreement(members), [max(kl_first, kl_second)])
    assert consensus.sum() == 1.0


def test_bald_by_hand():
    # Two confident samples that disagree: full mutual information log 2.
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    # Two samples that agree on 50/50: all uncertainty is aleatoric, information 0.
    agree = np.array([[[0.5, 0.5]], [[0.5, 0.5]]])
    np.testing.assert_allclose(scores.bald(np.concatenate([disagree, agree], axis=1)), [LN2, 0.0], atol=1e-12)


def test_information_density_by_hand():
    X = np.array([[0.0], [1.0], [3.0]])
    d = np.abs(X - X.T)
    expected = (1 / (1 + d)).mean(axis=1)
    np.testing.assert_allclose(scores.information_density(X, metric="euclidean"), expected)


# ------------------------------------------------------------------ modAL reference
def test_uncertainty_measures_match_modal():
    proba = _dirichlet((500, 5)).astype(np.float32)
    np.testing.assert_allclose(scores.least_confidence(proba), _proba_uncertainty(proba), rtol=1e-6)
    np.testing.assert_allclose(scores.margin(proba), -_proba_margin(proba), rtol=1e-6)
    np.testing.assert_allclose(scores.entropy(proba), _proba_entropy(proba), rtol=1e-5)


class FakeCommittee:
    """The parts of a modAL Committee its disagreement functions read."""

    def __init__(self, member_probas):
        self.member_probas = member_probas  # (M, N, C)
        self.classes_ = np.arange(member_probas.shape[2])

    def __len__(self):
        return len(self.member_probas)

    def __iter__(self):
        return iter(range(len(self)))

    def vote(self, X):
        return self.member_probas.argmax(axis=2).T  # (N, M)

    def vote_proba(self, X):
        return self.member_probas.transpose(1, 0, 2)  # (N, M, C)


def test_committee_scores_match_modal():
    members = _dirichlet((4, 300, 3), seed=1)
    committee = FakeCommittee(members)
    X = np.zeros((300, 1))
    np.testing.assert_allclose(scores.vote_entropy(members), modal_vote_entropy(committee, X), atol=1e-12)
    np.testing.assert_allclose(scores.kl_max_disagreement(members), modal_kl(committee, X), rtol=1e-10)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_exact_information_density_matches_modal(metric):
    X = np.random.default_rng(2).normal(size=(200, 4))
    np.testing.assert_allclose(
        scores.information_density(X, metric=metric), modal_information_density(X, metric=metric), rtol=1e-10
    )


# ------------------------------------------------------------------- approximation
def test_sampled_density_approximates_exact_and_is_seeded():
    X = np.random.default_rng(3).normal(size=(3000, 3))
    exact = scores.information_density(X, metric="euclidean", exact_max=5000)
    approx = scores.information_density(X, metric="euclidean", exact_max=1000, sample_size=500, random_state=0)
    assert np.corrcoef(exact, approx)[0, 1] > 0.98
    np.testing.assert_allclose(approx.mean(), exact.mean(), rtol=0.05)
    again = scores.information_density(X, metric="euclidean", exact_max=1000, sample_size=500, random_state=0)
    np.testing.assert_array_equal(approx, again)


def test_density_against_a_reference_set():
    X = np.array([[0.0], [10.0]])
    reference = np.zeros((5, 1))
    np.testing.assert_allclose(scores.information_density(X, reference, metric="euclidean"), [1.0, 1 / 11])


def test_pool_density_exact_and_sampled():
    X = np.random.default_rng(4).normal(size=(600, 3)).astype(np.float32)
    X[::5, 1] = np.nan
    exact = scores.pool_information_density(X, metric="euclidean", exact_max=1000)
    np.testing.assert_allclose(exact, scores.information_density(scores.standardise(X), metric="euclidean"),
                               rtol=1e-6)
    sampled = scores.pool_information_density(X, metric="euclidean", exact_max=100, sample_size=300, random_state=1)
    assert np.corrcoef(exact, sampled)[0, 1] > 0.97


def test_column_scale_is_chunked_and_stable(monkeypatch):
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.normal(size=1000), 50_000 + 0.01 * rng.normal(size=1000), rng.normal(size=1000)])
    X[::3, 2] = np.nan
    monkeypatch.setattr(scores, "CHUNK_ROWS", 64)
    mean, std = scores.column_scale(X)
    np.testing.assert_allclose(mean, np.nanmean(X, axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, np.nanstd(X, axis=0), rtol=1e-6)
    np.testing.assert_array_equal(scores.column_scale(np.full((3, 2), np.nan))[1], [1.0, 1.0])


def test_standardise_scales_columns_and_fills_nan():
    X = np.array([[1.0, 100.0], [3.0, np.nan], [5.0, 300.0]], dtype=np.float32)
    Z = scores.standardise(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z[:, 0], [-1.2247449, 0.0, 1.2247449], rtol=1e-6)
    np.testing.assert_allclose(Z[:, 1], [-1.0, 0.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(scores.standardise(X, np.array([2])), Z[[2]])
    assert (scores.standardise(np.full((3, 1), np.nan)) == 0).all()


# --------------------------------------------------------------------- edge shapes
def test_one_class_scores_every_row_alike():
    one = np.ones((4, 1))
    assert (scores.least_confidence(one) == 0).all()
    assert (scores.margin(one) == -1).all()
    assert (scores.entropy(one) == 0).all()
    assert (scores.vote_entropy(one[None].repeat(3, 0)) == 0).all()
    assert (scores.kl_max_disagreement(one[None].repeat(3, 0)) == 0).all()
    assert (scores.bald(one[None].repeat(3, 0)) == 0).all()
    assert (scores.normalised_uncertainty(one, "margin") == 0).all()


def test_two_classes():
    proba = np.array([[0.5, 0.5], [0.9, 0.1]])
    np.testing.assert_allclose(scores.margin(proba), [0.0, -0.8])
    np.testing.assert_allclose(scores.least_confidence(proba), [0.5, 0.1])
    np.testing.assert_allclose(scores.normalised_uncertainty(proba, "least_confidence"), [1.0, 0.2])
    np.testing.assert_allclose(scores.normalised_uncertainty(proba, "entropy")[0], 1.0)
    np.testing.assert_allclose(scores.normalised_uncertainty(proba, "margin"), [1.0, 0.2])


@pytest.mark.parametrize("fn", [scores.least_confidence, scores.margin, scores.entropy])
def test_zero_rows(fn):
    assert fn(np.zeros((0, 3))).shape == (0,)


@pytest.mark.parametrize("fn", [scores.vote_entropy, scores.kl_max_disagreement, scores.bald])
def test_stack_functions_zero_rows_and_bad_shapes(fn):
    assert fn(np.zeros((2, 0, 3))).shape == (0,)
    with pytest.raises(ValueError, match="shape"):
        fn(np.zeros((4, 3)))


def test_bad_proba_shape_and_measure():
    with pytest.raises(ValueError, match="shape"):
        scores.entropy(np.zeros(3))
    with pytest.raises(ValueError, match="unknown uncertainty measure 'gini'"):
        scores.normalised_uncertainty(PROBA, "gini")


def test_chunked_functions_match_unchunked(monkeypatch):
    members = _dirichlet((3, 50, 4), seed=5)
    stack_fns = (scores.vote_entropy, scores.kl_max_disagreement, scores.bald)
    whole = [fn(members) for fn in stack_fns] + [scores.entropy(members[0])]
    monkeypatch.setattr(scores, "CHUNK_ROWS", 7)
    chunked = [fn(members) for fn in stack_fns] + [scores.entropy(members[0])]
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b)


# ---------------------------------------------------------------------- 1M rows
@pytest.fixture(scope="module")
def million():
    rng = np.random.default_rng(0)
    proba = rng.random((1_000_000, 10), dtype=np.float32)
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("fn", [scores.least_confidence, scores.margin, scores.entropy])
def test_million_rows(fn, million):
    assert fn(million).shape == (1_000_000,)


@pytest.mark.parametrize("fn", [scores.vote_entropy, scores.kl_max_disagreement, scores.bald])
def test_million_rows_committee(fn, million):
    stack = np.stack([million, million[::-1]])
    assert fn(stack).shape == (1_000_000,)
