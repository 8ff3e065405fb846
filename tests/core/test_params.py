"""core/params.py: one parameter system, a table of spec -> one-line error for every family.

Each family (strategies, loops, heads, featurizers, config sections; layouts in
tests/dashboard/test_layout.py) refuses ``null`` where it means nothing,
out-of-range values and wrong types, and suggests a close name for an unknown
key, in one line naming the file and the dotted key.
"""
from __future__ import annotations

import inspect

import pytest
import yaml

from alabel.core import params as P
from alabel.core.config import SessionConfig
from alabel.core.errors import ConfigError
from alabel.core.heads import Head, build_head
from alabel.core.loops import Loop
from alabel.core.params import Configurable, Spec
from alabel.core.registry import concrete_descendants
from alabel.core.strategies import QueryStrategy, build_strategy, parse_strategy

from session_fixtures import config_dict, write_table


# ---------------------------------------------------------------------------
# one declaration
# ---------------------------------------------------------------------------
DESCRIBED = [
    (P.integer(1, "d", low=1), "an integer >= 1"),
    (P.integer(None, "d", low=1, nullable=True), "an integer >= 1 or null"),
    (P.number(0.5, "d", low=0, high=1, low_open=True), "a number in (0, 1]"),
    (P.fraction(0.5, "d", high_open=True), "a number in [0, 1)"),
    (P.number(1.0, "d", high=5), "a number <= 5"),
    (P.boolean(True, "d"), "true or false"),
    (P.choice("a", ("a", "b"), "d"), "one of a, b"),
    (P.text("x", "d"), "a non-empty string"),
    (P.listing([], "d", item=P.integer(1, "d", low=1)), "a list of integers >= 1"),
]


@pytest.mark.parametrize("param, text", DESCRIBED, ids=[t for _, t in DESCRIBED])
def test_describe(param, text):
    assert param.describe() == text


PROBLEMS = [
    (P.integer(1, "d", low=1), 0, "must be an integer >= 1, got 0"),
    (P.integer(1, "d", low=1), None, "must be an integer >= 1, got null"),
    (P.integer(1, "d", low=1), 2.0, "must be an integer >= 1, got 2.0"),
    (P.integer(1, "d", low=1), True, "must be an integer >= 1, got True"),
    (P.number(1.0, "d"), float("nan"), "must be a number, got nan"),
    (P.number(1.0, "d"), "1", "must be a number, got '1'"),
    (P.choice("margin", ("margin", "entropy"), "d"), "margn", "must be one of margin, entropy, got 'margn' "
                                                             "(did you mean 'margin'?)"),
    (P.text("x", "d"), "", "must be a non-empty string, got ''"),
    (P.boolean(True, "d"), "yes", "must be true or false, got 'yes'"),
]


@pytest.mark.parametrize("param, value, problem", PROBLEMS, ids=[p for _, _, p in PROBLEMS])
def test_problem(param, value, problem):
    assert param.problem(value) == problem


def test_valid_values_pass_and_null_only_when_declared():
    assert P.integer(1, "d", low=1).problem(1) is None
    assert P.number(0.0, "d", low=0).problem(3) is None  # integers are numbers
    assert P.integer(None, "d", nullable=True).problem(None) is None
    assert P.number(0.5, "d", low=0, high=1, low_open=True).problem(1) is None


def test_validate_fills_defaults_and_copies_mutable_ones():
    table = {"n": P.integer(3, "d", low=1), "names": P.listing([], "d")}
    first = P.validate(table, {"n": 4}, where="f.yaml", key="x")
    second = P.validate(table, None, where="f.yaml", key="x")
    assert first == {"n": 4, "names": []} and second == {"n": 3, "names": []}
    first["names"].append("a")
    assert second["names"] == [] and table["names"].default == []


def test_every_declaration_needs_a_doc():
    with pytest.raises(ValueError, match="doc"):
        P.integer(1, "")


def test_label_is_readable():
    assert P.integer(1, "d").label_for("stop_set_size") == "Stop set size"
    assert P.integer(1, "d", label="Stability sample").label_for("stop_set_size") == "Stability sample"


# ---------------------------------------------------------------------------
# the families: spec -> the exact one-line error
# ---------------------------------------------------------------------------
STRATEGY_ERRORS = [
    ({"type": "auto", "params": {"diversity": 0}},
     "config.yaml: strategy.params.diversity: must be an integer >= 1, got 0"),
    ({"type": "auto", "params": {"diversity": None}},
     "config.yaml: strategy.params.diversity: must be an integer >= 1, got null"),
    ({"type": "auto", "params": {"max_share": 0}},
     "config.yaml: strategy.params.max_share: must be a number in (0, 1], got 0"),
    ({"type": "density_weighted", "params": {"beta": "high"}},
     "config.yaml: strategy.params.beta: must be a number >= 0, got 'high'"),
    ({"type": "density_weighted", "params": {"metric": "cosin"}},
     "config.yaml: strategy.params.metric: must be one of cosine, euclidean, manhattan, l1, l2, cityblock, "
     "got 'cosin' (did you mean 'cosine'?)"),
    ({"type": "auto", "params": {"diversty": 3}},
     "config.yaml: strategy.params.diversty: unknown parameter for strategy 'auto' (did you mean "
     "'diversity'?); known: explore_labels, diversity, max_share, max_rows"),
]


@pytest.mark.parametrize("spec, message", STRATEGY_ERRORS, ids=[m.split(": ")[1] for _, m in STRATEGY_ERRORS])
def test_strategy_errors(spec, message):
    with pytest.raises(ConfigError) as info:
        build_strategy(spec)
    assert str(info.value) == message


LOOP_ERRORS = [
    ({"type": "self_training", "params": {"tau": 0}},
     "config.yaml: loop.params.tau: must be a number in (0, 1], got 0"),
    ({"type": "self_training", "params": {"tau": None}},
     "config.yaml: loop.params.tau: must be a number in (0, 1], got null"),
    ({"type": "self_training", "params": {"momentum": 1}},
     "config.yaml: loop.params.momentum: must be a number in [0, 1), got 1"),
    ({"type": "active", "params": {"noise_folds": 1}},
     "config.yaml: loop.params.noise_folds: must be an integer >= 2, got 1"),
    ({"type": "active", "params": {"stop_window": "3"}},
     "config.yaml: loop.params.stop_window: must be an integer >= 1, got '3'"),
    ({"type": "self_training", "params": {"teacher": "humans"}},
     "config.yaml: loop.params.teacher: must be one of human, self, got 'humans' (did you mean 'human'?)"),
    ({"type": "aspl", "params": {"certfy_batch": 5}},
     "config.yaml: loop.params.certfy_batch: unknown parameter for loop 'aspl' (did you mean "
     "'certify_batch'?); known: "),
    ({"type": "active", "batch_size": 0}, "config.yaml: loop.batch_size: must be an integer >= 1, got 0"),
    ({"type": "active", "batch_size": None}, "config.yaml: loop.batch_size: must be an integer >= 1, got null"),
    ({"type": "active", "batch_sise": 5},
     "config.yaml: loop.batch_sise: unknown key (did you mean 'batch_size'?); known: "),
]


@pytest.mark.parametrize("spec, message", LOOP_ERRORS, ids=[m.split(": ")[1] for _, m in LOOP_ERRORS])
def test_loop_errors(tmp_path, spec, message):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, loop=spec)
    assert _relative(info.value, tmp_path).startswith(message)


HEAD_ERRORS = [
    ({"type": "logistic_regression", "scale": None},
     "config.yaml: head.scale: must be true or false, got null"),
    ({"type": "auto", "folds": 1}, "config.yaml: head.folds: must be an integer >= 2, got 1"),
    ({"type": "auto", "folds": None}, "config.yaml: head.folds: must be an integer >= 2, got null"),
    ({"type": "auto", "criterion": "logloss"},
     "config.yaml: head.criterion: must be one of log_loss, accuracy, got 'logloss' (did you mean 'log_loss'?)"),
    ({"type": "committee", "bootstrap": "no"}, "config.yaml: head.bootstrap: must be true or false, got 'no'"),
    ({"type": "linear_probe", "lr": 0}, "config.yaml: head.lr: must be a number > 0, got 0"),
    ({"type": "mlp_torch", "dropout": 1}, "config.yaml: head.dropout: must be a number in [0, 1), got 1"),
    ({"type": "mlp_torch", "max_epochs": None}, "config.yaml: head.max_epochs: must be an integer >= 1, got null"),
    ({"type": "linear_probe", "warm_epochs": 0},
     "config.yaml: head.warm_epochs: must be an integer >= 1 or null, got 0"),
    ({"type": "mlp_torch", "hidden": [64, 0]},
     "config.yaml: head.hidden: must be an integer >= 1 or a list of them, got [64, 0]"),
    ({"type": "knn", "scael": True},
     "config.yaml: head.scael: unknown key for head 'knn' (did you mean 'scale'?); known: params, scale"),
]


@pytest.mark.parametrize("spec, message", HEAD_ERRORS, ids=[m.split(": ")[1] for _, m in HEAD_ERRORS])
def test_head_errors(spec, message):
    with pytest.raises(ConfigError) as info:
        build_head(spec, classes=["a", "b"], random_state=0)
    assert str(info.value) == message


CONFIG_ERRORS = [
    (dict(seed=-1), "config.yaml: seed: must be an integer >= 0, got -1"),
    (dict(seed=None), "config.yaml: seed: must be an integer >= 0, got null"),
    (dict(training={"min_labels": None}), "config.yaml: training.min_labels: must be an integer >= 1, got null"),
    (dict(training={"coalesce_s": 61}), "config.yaml: training.coalesce_s: must be a number in [0, 60], got 61"),
    (dict(training={"backend": "proces"}),
     "config.yaml: training.backend: must be one of thread, process, got 'proces' (did you mean 'process'?)"),
    (dict(labels={"lease_s": None}), "config.yaml: labels.lease_s: must be a number >= 1, got null"),
    (dict(labels={"test_fraction": 0.95}),
     "config.yaml: labels.test_fraction: must be a number in [0, 0.9], got 0.95"),
    (dict(labels={"annotator": 7}), "config.yaml: labels.annotator: must be a non-empty string, got 7"),
    (dict(ui={"layout": None}), "config.yaml: ui.layout: must be a non-empty string, got null"),
    (dict(ui={"keys": {"skip": None}}), "config.yaml: ui.keys.skip: must be a key name, got null"),
    (dict(ui={"lyout": "compact"}), "config.yaml: ui.lyout: unknown key (did you mean 'layout'?)"),
    (dict(strategy={"type": "auto", "params": {"explore_labels": -1}}),
     "config.yaml: strategy.params.explore_labels: must be an integer >= 0, got -1"),
]


@pytest.mark.parametrize("overrides, message", CONFIG_ERRORS, ids=[m.split(": ")[1] for _, m in CONFIG_ERRORS])
def test_config_errors(tmp_path, overrides, message):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, **overrides)
    assert _relative(info.value, tmp_path).startswith(message)
    assert "\n" not in str(info.value)


FEATURIZER_ERRORS = [
    ({"n_components": 0}, "config.yaml: data.features.embeddings[0].params.n_components: must be an integer >= 1, "
                          "got 0"),
    ({"min_df": None}, "config.yaml: data.features.embeddings[0].params.min_df: must be an integer >= 1, got null"),
    ({"n_compnents": 3}, "config.yaml: data.features.embeddings[0].params.n_compnents: unknown parameter for "
                         "featurizer 'tfidf' (did you mean 'n_components'?)"),
]


@pytest.mark.parametrize("params, message", FEATURIZER_ERRORS, ids=[m.split(": ")[1] for _, m in FEATURIZER_ERRORS])
def test_featurizer_errors(tmp_path, params, message):
    data = dict(config_dict()["data"])
    data["features"] = {**data["features"], "embeddings": [{"column": "colour", "featurizer": "tfidf",
                                                             "params": params}]}
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data=data)
    assert _relative(info.value, tmp_path).startswith(message)


def test_null_keeps_its_declared_meaning_where_it_has_one(tmp_path):
    config = _load(tmp_path, labels={"store": "labels.sqlite", "audit_fraction": None},
                   loop={"type": "self_training", "params": {"max_per_round": None}})
    assert config.labels.audit_fraction is None
    assert config.loop.build().settings()["max_per_round"] is None


# ---------------------------------------------------------------------------
# validated once, built from the validated spec
# ---------------------------------------------------------------------------
def test_config_keeps_validated_specs_and_the_session_builds_without_validating_again(tmp_path, monkeypatch):
    calls = []
    original = Configurable.validate_params.__func__

    def counting(cls, params, **kwargs):
        calls.append(cls.family)
        return original(cls, params, **kwargs)

    monkeypatch.setattr(Configurable, "validate_params", classmethod(counting))
    config = _load(tmp_path, loop={"type": "self_training", "params": {"tau": 0.9}})
    assert sorted(calls) == ["loop", "strategy"]  # once each, at load
    assert isinstance(config.strategy, Spec) and config.strategy == {"type": "margin"}
    assert config.strategy.cls.type_name == "margin" and config.loop.cls.type_name == "self_training"
    strategy, loop = config.strategy.build(), config.loop.build()
    assert sorted(calls) == ["loop", "strategy"]  # building did not validate again
    assert loop.settings()["tau"] == 0.9 and type(strategy).__name__ == "MarginStrategy"
    # The written spec is what export writes back.
    assert config.to_dict()["strategy"] == {"type": "margin"}
    assert yaml.safe_load(yaml.safe_dump(config.to_dict()))["head"] == {"type": "logistic_regression",
                                                                         "scale": True}


def test_direct_construction_still_validates():
    margin = concrete_descendants(QueryStrategy)["margin"]
    with pytest.raises(ConfigError, match="MarginStrategy: strategy.params.x: unknown parameter"):
        margin(x=1)
    forged = P.CheckedParams({"tau": 7})  # not from validate(): no table, so it is checked
    with pytest.raises(ConfigError, match="tau: must be a number in"):
        concrete_descendants(Loop)["self_training"](_checked=forged)


def test_parse_strategy_checks_the_head_class_of_a_head_spec():
    from alabel.core.heads import parse_head

    head = parse_head({"type": "logistic_regression"})
    with pytest.raises(ConfigError, match="strategy 'vote_entropy' needs a committee head"):
        parse_strategy({"type": "vote_entropy"}, head=head)
    assert parse_strategy({"type": "vote_entropy"}, head=parse_head({"type": "committee"})).cls.requires


# ---------------------------------------------------------------------------
# declarations are complete (contract)
# ---------------------------------------------------------------------------
def _builtin(base) -> list[type]:
    # Test modules register heads and loops of their own; the contract is about alabel's.
    return [c for c in concrete_descendants(base).values() if c.__module__.startswith("alabel.")]


@pytest.mark.parametrize("cls", _builtin(Head), ids=lambda c: c.type_name)
def test_every_head_declares_each_spec_key_with_its_init_default(cls):
    assert set(cls.params_spec) == set(cls.spec_keys())
    signature = inspect.signature(cls.__init__).parameters
    for name, param in cls.params_spec.items():
        assert param.default == signature[name].default, name
        assert param.doc and param.label, name


@pytest.mark.parametrize("cls", [*_builtin(QueryStrategy), *_builtin(Loop)], ids=lambda c: c.type_name)
def test_every_strategy_and_loop_parameter_has_a_doc_and_a_valid_default(cls):
    for name, param in cls.params_spec.items():
        assert param.doc, name
        assert param.problem(param.default) is None, name


# ---------------------------------------------------------------------------
def _load(tmp_path, **overrides):
    write_table(tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config_dict(**overrides), sort_keys=False))
    return SessionConfig.load(path)


def _relative(error, tmp_path) -> str:
    return str(error).replace(str(tmp_path / "config.yaml"), "config.yaml")
