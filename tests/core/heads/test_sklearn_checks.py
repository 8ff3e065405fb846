"""scikit-learn's own estimator checks on every scikit-learn head.

Small model sizes keep the run short; they change no code path the checks test.
The array-API check is left out of the list: the heads do not claim array-API
support (their tag says so), and the check would only skip itself.
"""
from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from alabel.core.heads import (
    CommitteeHead,
    HistGradientBoostingHead,
    KNNHead,
    LogisticRegressionHead,
    MLPHead,
    RandomForestHead,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [
    LogisticRegressionHead(random_state=0),
    RandomForestHead(random_state=0, params={"n_estimators": 5}),
    HistGradientBoostingHead(random_state=0, params={"max_iter": 5}),
    KNNHead(),
    MLPHead(random_state=0, params={"solver": "lbfgs", "hidden_layer_sizes": (8,), "max_iter": 200}),
    CommitteeHead(
        random_state=0,
        members=[{"type": "logistic_regression"}, {"type": "random_forest", "params": {"n_estimators": 5}}],
    ),
]

def expected_failed_checks(estimator) -> dict[str, str]:
    # Each head lists the checks whose assumption conflicts with its design, and why;
    # anything not listed must pass.
    return type(estimator).expected_failed_checks


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # OpenMP start-up dominates these tiny fits on a shared 2-core machine.
    with threadpool_limits(1):
        yield


def _without_array_api(marker):
    def func_name(check):
        return getattr(getattr(check, "func", check), "__name__", "")

    params = []
    for param in marker.args[1]:
        values = getattr(param, "values", param)
        if func_name(values[1]) != "check_array_api_input":
            params.append(param)
    return pytest.mark.parametrize(marker.args[0], params, **marker.kwargs)


@_without_array_api(parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks))
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
