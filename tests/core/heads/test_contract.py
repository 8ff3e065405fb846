"""Contract every registered head honours (torch heads join once registered).

Parametrised over ``concrete_descendants(Head)`` at collection time, so a new
head is tested by adding it, not by editing this file.
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from threadpoolctl import threadpool_limits

from alabel.core.heads import Head, build_head, load_head, save_head, to_spec
from alabel.core.registry import concrete_descendants

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # OpenMP start-up dominates tiny fits on a shared 2-core machine (HGB: 1.3 s -> 0.07 s).
    with threadpool_limits(1):
        yield

HEAD_TYPES = list(concrete_descendants(Head))
CLASSES = ["T2Cep", "Cep", "RRLyr", "aCep"]  # aCep never appears in the labels


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y_idx = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    X[:, 2] += y_idx  # a feature that carries the class
    X[::5, 3] = np.nan  # missing values, informative in real data
    X[1::7, 0] = np.nan
    y = np.array(["T2Cep", "Cep", "RRLyr"], dtype=object)[y_idx]
    return X, y


def _make(head_type, classes=CLASSES, seed=0):
    return build_head({"type": head_type}, classes=classes, random_state=seed)


@pytest.fixture(scope="module")
def fitted():
    """One fitted head per type, shared by the read-only tests."""
    X, y = _data()
    return {t: _make(t).fit(X, y) for t in HEAD_TYPES}


def test_registry_holds_the_builtin_heads():
    assert {"logistic_regression", "random_forest", "hist_gradient_boosting", "knn", "mlp", "committee"} <= set(HEAD_TYPES)


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_fit_returns_self_and_proba_follows_explicit_classes(head_type):
    X, y = _data()
    head = _make(head_type)
    assert head.fit(X, y) is head
    assert list(head.classes_) == CLASSES
    proba = head.predict_proba(X)
    assert proba.shape == (len(X), len(CLASSES))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert (proba >= 0).all()
    # aCep has no label: its column is exactly zero.
    assert (proba[:, CLASSES.index("aCep")] == 0).all()
    assert head.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_learns_something(head_type, fitted):
    X, y = _data()
    X_test, y_test = _data(n=200, seed=1)
    accuracy = (fitted[head_type].predict(X_test) == y_test).mean()
    majority = max(np.mean(y_test == c) for c in set(y_test))
    assert accuracy > majority, f"{head_type} does no better than the majority class"


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_predict_returns_labels_in_classes_order(head_type, fitted):
    X, _ = _data()
    head = fitted[head_type]
    proba = head.predict_proba(X)
    np.testing.assert_array_equal(head.predict(X), np.asarray(CLASSES)[proba.argmax(axis=1)])


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_nan_rows_and_all_nan_columns_are_scored(head_type, fitted):
    X, _ = _data(n=10, seed=3)
    X[:, 1] = np.nan
    X[0, :] = np.nan
    proba = fitted[head_type].predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_without_explicit_classes_uses_sorted_labels(head_type):
    X, y = _data()
    head = _make(head_type, classes=None).fit(X, y)
    assert list(head.classes_) == sorted(set(y))
    assert head.predict_proba(X).shape == (len(X), 3)


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_not_fitted_error_before_fit(head_type):
    X, _ = _data()
    head = _make(head_type)
    with pytest.raises(NotFittedError):
        head.predict_proba(X)
    with pytest.raises(NotFittedError):
        head.predict(X)


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_clone_with_same_seed_gives_same_probabilities(head_type, fitted):
    X, y = _data()
    head = fitted[head_type]
    twin = clone(head)
    assert not hasattr(twin, "classes_")
    assert twin.get_params() == head.get_params()
    p1, p2 = head.predict_proba(X), twin.fit(X, y).predict_proba(X)
    if head.deterministic:
        np.testing.assert_array_equal(p1, p2)
    else:
        np.testing.assert_allclose(p1, p2, atol=1e-4)


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_save_load_round_trip_gives_identical_probabilities(head_type, fitted, tmp_path):
    X, _ = _data()
    head = fitted[head_type]
    save_head(head, tmp_path / "model")
    loaded = load_head(tmp_path / "model")
    assert type(loaded) is type(head)
    assert list(loaded.classes_) == CLASSES
    np.testing.assert_array_equal(loaded.predict_proba(X), head.predict_proba(X))


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_single_class_predicts_it_with_probability_one(head_type):
    X, _ = _data(n=5)
    head = _make(head_type).fit(X, ["Cep"] * 5)
    proba = head.predict_proba(X)
    assert proba.shape == (5, len(CLASSES))
    np.testing.assert_array_equal(proba[:, CLASSES.index("Cep")], 1.0)
    assert list(head.predict(X)) == ["Cep"] * 5
    assert head.single_class_ == "Cep"


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_refit_after_single_class_learns_again(head_type):
    X, y = _data()
    head = _make(head_type).fit(X[:3], ["Cep"] * 3).fit(X, y)
    assert head.single_class_ is None
    assert len(set(head.predict(X))) > 1


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_two_labels_only(head_type):
    """The first round of a session: one label of each of two classes."""
    X, _ = _data()
    head = _make(head_type).fit(X[:2], ["Cep", "RRLyr"])
    proba = head.predict_proba(X)
    assert np.isfinite(proba).all()
    assert (proba[:, [CLASSES.index("T2Cep"), CLASSES.index("aCep")]] == 0).all()


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_labels_outside_explicit_classes_are_refused(head_type):
    X, y = _data()
    y = y.copy()
    y[0] = "Mira"
    with pytest.raises(Exception, match="Mira"):
        _make(head_type).fit(X, y)


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_wrong_feature_count_is_refused(head_type, fitted):
    X, _ = _data()
    with pytest.raises(ValueError):
        fitted[head_type].predict_proba(X[:, :3])


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_spec_round_trip(head_type, fitted):
    head = fitted[head_type]
    spec = to_spec(head)
    assert spec["type"] == head_type
    rebuilt = build_head(spec, classes=CLASSES, random_state=0)
    assert rebuilt.get_params() == clone(head).get_params()


@pytest.mark.parametrize("head_type", [t for t in HEAD_TYPES if hasattr(_make(t), "partial_fit")])
def test_partial_fit_where_available(head_type):
    """Two batches with explicit classes: the second may bring rows of any class."""
    head = _make(head_type)
    X, y = _data()
    head.partial_fit(X[:30], y[:30]).partial_fit(X[30:], y[30:])
    proba = head.predict_proba(X)
    assert proba.shape == (len(X), len(CLASSES))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("head_type", HEAD_TYPES)
def test_sample_weight_changes_the_fit_where_supported(head_type):
    X, y = _data()
    head = _make(head_type)
    if not head.supports_sample_weight:
        with pytest.raises((TypeError, ValueError)):
            head.fit(X, y, sample_weight=np.ones(len(y)))
        return
    weights = np.where(y == "RRLyr", 50.0, 1.0)
    plain = clone(head).fit(X, y).predict_proba(X)
    weighted = head.fit(X, y, sample_weight=weights).predict_proba(X)
    assert not np.allclose(plain, weighted)
