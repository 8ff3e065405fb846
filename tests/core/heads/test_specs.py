"""Head specs: validation before building (a table of spec -> error), export, keys."""
from __future__ import annotations

import pytest

from alabel.core.errors import ConfigError
from alabel.core.heads import (
    CommitteeHead,
    HistGradientBoostingHead,
    KNNHead,
    LogisticRegressionHead,
    build_head,
    head_spec_keys,
    to_spec,
)

BAD_SPECS = [
    ("not a mapping", "config.yaml: head: must be a mapping"),
    ({}, "config.yaml: head.type: missing"),
    ({"type": "logistic_regresion"}, "head.type: unknown Head 'logistic_regresion' (did you mean 'logistic_regression'?)"),
    ({"type": "logistic_regression", "scal": True}, "config.yaml: head.scal: unknown key for head 'logistic_regression' (did you mean 'scale'?)"),
    ({"type": "logistic_regression", "scale": "yes"}, "head.scale: must be true or false, got 'yes'"),
    ({"type": "logistic_regression", "class_weight": "auto"}, "head.class_weight: must be null, 'balanced' or a mapping"),
    ({"type": "logistic_regression", "class_weight": {"Cep": -1}}, "head.class_weight: must be null, 'balanced' or a mapping"),
    ({"type": "logistic_regression", "params": [1]}, "head.params: must be a mapping"),
    ({"type": "hist_gradient_boosting", "params": {"learning_rat": 0.1}},
     "config.yaml: head.params.learning_rat: unknown parameter for hist_gradient_boosting (did you mean 'learning_rate'?)"),
    ({"type": "hist_gradient_boosting", "params": {"foo": 1}},
     "config.yaml: head.params.foo: unknown parameter for hist_gradient_boosting"),
    ({"type": "logistic_regression", "params": {"max_iter": "many"}},
     "head.params.max_iter: The 'max_iter' parameter of LogisticRegression must be"),
    ({"type": "random_forest", "params": {"n_estimators": 0}}, "head.params.n_estimators:"),
    ({"type": "logistic_regression", "params": {"random_state": 3}}, "head.params.random_state: not allowed here"),
    ({"type": "random_forest", "params": {"class_weight": "balanced"}}, "head.params.class_weight: not allowed here; class_weight (use head.class_weight)"),
    ({"type": "logistic_regression", "random_state": 1}, "head.random_state: set by alabel"),
    ({"type": "logistic_regression", "classes": ["a"]}, "head.classes: set by alabel"),
    ({"type": "knn", "class_weight": "balanced"}, "head.class_weight: not supported by head 'knn'"),
    ({"type": "committee", "members": [{"type": "knn"}]}, "head.members: must be a list of at least two head specs"),
    ({"type": "committee", "members": "knn"}, "head.members: must be a list"),
    ({"type": "committee", "members": [{"type": "knn"}, {"type": "rf"}]}, "head.members[1].type: unknown Head 'rf'"),
    ({"type": "committee", "members": [{"type": "knn"}, {"type": "mlp", "params": {"alpah": 1}}]},
     "head.members[1].params.alpah: unknown parameter for mlp (did you mean 'alpha'?)"),
    ({"type": "committee", "bootstrap": 1}, "head.bootstrap: must be true or false"),
]


@pytest.mark.parametrize("spec, message", BAD_SPECS, ids=[m.split(": ")[1] if ": " in m else m for _, m in BAD_SPECS])
def test_bad_spec_is_refused_with_file_and_key(spec, message):
    with pytest.raises(ConfigError) as info:
        build_head(spec, classes=["a", "b"], random_state=0)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_where_and_key_appear_in_the_message():
    with pytest.raises(ConfigError, match=r"^runs/x\.yaml: model\.head\.scale: "):
        build_head({"type": "knn", "scale": 3}, classes=None, random_state=0, where="runs/x.yaml", key="model.head")


def test_build_returns_an_unfitted_head_with_the_spec_values():
    head = build_head(
        {"type": "logistic_regression", "scale": False, "class_weight": "balanced", "params": {"C": 0.5}},
        classes=["b", "a"], random_state=7,
    )
    assert isinstance(head, LogisticRegressionHead)
    assert head.get_params() == {
        "classes": ["b", "a"], "scale": False, "missing_indicators": True, "class_weight": "balanced", "params": {"C": 0.5}, "random_state": 7,
    }
    assert not hasattr(head, "classes_")


def test_dotted_path_resolves_a_plugin_head():
    head = build_head({"type": "alabel.core.heads.KNNHead"}, classes=None, random_state=0)
    assert isinstance(head, KNNHead)


def test_valid_params_pass_and_reach_the_estimator():
    import numpy as np

    head = build_head({"type": "hist_gradient_boosting", "params": {"max_iter": 7, "learning_rate": 0.2}},
                      classes=None, random_state=0)
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    head.fit(X, ["a", "b"] * 10)
    model = head.pipeline_[-1]
    assert (model.max_iter, model.learning_rate, model.random_state) == (7, 0.2, 0)


def test_head_spec_keys():
    assert head_spec_keys("logistic_regression") == ("type", "class_weight", "missing_indicators", "params", "scale")
    assert head_spec_keys(KNNHead) == ("type", "params", "scale")
    assert head_spec_keys("committee") == ("type", "bootstrap", "members")


def test_to_spec_is_a_deep_copy_that_rebuilds_the_head():
    head = HistGradientBoostingHead(params={"max_iter": 5}, random_state=1)
    spec = to_spec(head)
    assert spec == {"type": "hist_gradient_boosting", "class_weight": None, "params": {"max_iter": 5}, "scale": False}
    spec["params"]["max_iter"] = 99
    assert head.params == {"max_iter": 5}
    assert build_head(spec, classes=None, random_state=1).params == {"max_iter": 99}


def test_committee_spec_keeps_member_specs():
    members = [{"type": "knn"}, {"type": "logistic_regression", "params": {"C": 2.0}}]
    head = build_head({"type": "committee", "members": members, "bootstrap": False}, classes=None, random_state=0)
    assert isinstance(head, CommitteeHead)
    assert to_spec(head) == {"type": "committee", "bootstrap": False, "members": members}
