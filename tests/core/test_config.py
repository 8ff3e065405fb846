"""config.yaml: validation of every section, and export round trips."""
from __future__ import annotations

import copy

import pytest
import yaml

from alabel.core.config import SessionConfig
from alabel.core.errors import ConfigError

from session_fixtures import REPO_ROOT, config_dict, write_config, write_table


def _load(tmp_path, cfg):
    write_table(tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False) if not isinstance(cfg, str) else cfg)
    return SessionConfig.load(path)


def _with(path_keys, value):
    cfg = config_dict()
    node = cfg
    for key in path_keys[:-1]:
        node = node[key]
    node[path_keys[-1]] = value
    return cfg


def _without(*path_keys):
    cfg = config_dict()
    node = cfg
    for key in path_keys[:-1]:
        node = node[key]
    del node[path_keys[-1]]
    return cfg


BAD_CONFIGS = [
    ("unknown top-level key", _with(["heads"], {"type": "knn"}), "heads", "did you mean 'head'"),
    ("missing data section", _without("data"), "data", "missing"),
    ("seed not an int", _with(["seed"], "zero"), "seed", "integer"),
    ("unknown head type", _with(["head"], {"type": "logistic_regresion"}), "head", "logistic_regression"),
    ("unknown head key", _with(["head"], {"type": "knn", "scael": True}), "scael", "scale"),
    ("unknown strategy", _with(["strategy"], {"type": "marginal"}), "strategy", "margin"),
    ("unknown loop type", _with(["loop"], {"type": "pasive"}), "loop.type", "active"),
    ("batch size zero", _with(["loop"], {"batch_size": 0}), "loop.batch_size", ">= 1"),
    ("bad training backend", _with(["training"], {"backend": "gpu"}), "training.backend", "thread"),
    ("duplicate class", _with(["classes"], ["a", "b", "a"]), "classes[2].name", "duplicate"),
    ("class key clashes with action key", _with(["classes"], [{"name": "a", "key": "s"}]),
     "classes[0].key", "action key"),
    ("unknown ui key action", _with(["ui"], {"keys": {"skp": "x"}}), "ui.keys.skp", "skip"),
    ("unknown labels key", _with(["labels"], {"stor": "x.sqlite"}), "labels.stor", "store"),
    ("test fraction out of range", _with(["labels"], {"test_fraction": 2}), "labels.test_fraction",
     "must be a number in [0, 0.9], got 2"),
    ("committee strategy without a committee head", _with(["strategy"], {"type": "vote_entropy"}),
     "strategy", "committee"),
    ("numeric feature not a string", _with(["data", "features", "numeric"], ["x", 3]), "numeric", "3"),
]


@pytest.mark.parametrize("case, cfg, key, hint", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_file_and_key(tmp_path, case, cfg, key, hint):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, cfg)
    message = str(info.value)
    assert "\n" not in message
    assert "config.yaml" in message
    assert key in message
    assert hint in message


def test_yaml_syntax_error_reports_line(tmp_path):
    with pytest.raises(ConfigError, match=r"config.yaml: YAML syntax error at line 3, column 1"):
        _load(tmp_path, "name: x\ndata: [unclosed\n")


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        SessionConfig.load(tmp_path / "nope.yaml")


def test_defaults_fill_keys_and_colours(tmp_path):
    config = SessionConfig.load(write_config(tmp_path))
    assert [c.key for c in config.classes] == ["a", "b", "c"]  # one-character names are their own keys
    assert len({c.color for c in config.classes}) == 3
    assert config.training.backend == "thread"
    assert config.store_path == tmp_path / "labels.sqlite"


@pytest.mark.parametrize("names, keys", [
    # digits: the key you see is the class you get (it used to be 0 -> key 1, 3 -> key 4)
    ([str(d) for d in range(10)], [str(d) for d in range(10)]),
    # longer names take 1-9, 0, ... skipping the keys the one-character names claimed
    (["LPV", "1", "Cep"], ["2", "1", "3"]),
    # "s" is the skip key and "A" folds onto "a": neither can be a second class's key
    (["s", "a", "A", "x"], ["1", "a", "2", "x"]),
])
def test_one_character_class_names_are_their_own_keys(names, keys):
    from alabel.core.config import assign_class_defaults

    classes = assign_class_defaults([(n, None, None) for n in names], "config.yaml", {"Enter", "s", "?"})
    assert [c.key for c in classes] == keys
    folded = [k.lower() for k in keys]
    assert len(set(folded)) == len(folded), "no two classes share a key, whatever the case"


def test_export_round_trip_relative_paths(tmp_path):
    config = SessionConfig.load(write_config(tmp_path))
    elsewhere = tmp_path / "elsewhere" / "deeper"
    saved = config.save(elsewhere / "config.yaml")
    text = saved.read_text()
    assert str(tmp_path) not in text, "exported paths must be relative"
    reloaded = SessionConfig.load(saved)
    assert reloaded.data.sources[0].path.resolve() == config.data.sources[0].path.resolve()
    assert reloaded.store_path.resolve() == config.store_path.resolve()
    assert reloaded.to_dict(relative_to=tmp_path) == config.to_dict(relative_to=tmp_path)


def test_with_classes_keeps_existing_colours(tmp_path):
    config = SessionConfig.load(write_config(tmp_path))
    grown = config.with_classes(["a", "b", "c", "d"])
    assert [c.color for c in grown.classes[:3]] == [c.color for c in config.classes]
    assert grown.classes[3].key == "d"
    assert [c.name for c in config.classes] == ["a", "b", "c"], "the original is not changed"


def test_shipped_configs_load():
    for name in ("config.yaml", "example_data/ogle3.yaml", "example_data/portal_rodents.yaml",
                 "example_data/digits.yaml"):
        config = SessionConfig.load(REPO_ROOT / name)
        assert config.data.sources[0].path.exists(), name
        assert copy.deepcopy(config).to_dict() == config.to_dict()
