"""``missing_indicators``: NaN columns become a "was missing" feature unless switched off."""
import numpy as np
import pytest

from alabel.core.errors import ConfigError
from alabel.core.heads import build_head


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = np.where(np.arange(60) % 2, "a", "b")
    X[y == "a", 2] = np.nan  # missingness alone tells the classes apart
    return X, y


@pytest.mark.parametrize("flag, n_features", [(True, 4), (False, 3)])
def test_indicator_columns(flag, n_features):
    X, y = _data()
    head = build_head({"type": "logistic_regression", "missing_indicators": flag}, classes=None, random_state=0)
    head.fit(X, y)
    assert head.pipeline_[-1].n_features_in_ == n_features


def test_indicator_carries_the_class_signal():
    X, y = _data()
    X[:, :2] = 0.0  # nothing but missingness left
    head = build_head({"type": "logistic_regression"}, classes=None, random_state=0).fit(X, y)
    assert (head.predict(X) == y).mean() == 1.0
    coefficients = np.abs(head.pipeline_[-1].coef_).ravel()
    assert coefficients.argmax() == 3, "the indicator column is the decisive feature"


def test_indicator_flag_must_be_bool():
    with pytest.raises(ConfigError, match="head.missing_indicators: must be true or false"):
        build_head({"type": "logistic_regression", "missing_indicators": "no"}, classes=None, random_state=0)
