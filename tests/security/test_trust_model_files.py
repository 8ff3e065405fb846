"""Model files are data: a crafted head.skops never runs code (issue 11, finding 1).

Each crafted payload below is refused with one line naming the file and the
type, before anything in it is constructed: the marker file its code would
write never appears. Under the old prefix rule (every ``numpy.``/``sklearn.``
type trusted) the first and the reduce cases ran their code.
"""
from __future__ import annotations

import numpy as np
import pytest
from trust_fixtures import add_attribute, json_node, label_all, rewrite_schema, tuple_node, write_session

from alabel.core.errors import DataError
from alabel.core.heads import LogisticRegressionHead, RandomForestHead, load_head, save_head
from alabel.core.heads.skops_payload import SKOPS_FILE
from alabel.dashboard.cli import main


def _runstring(marker) -> dict:
    """A reduce that calls numpy's test helper ``runstring``, which exec()s its argument."""
    code = f"open({str(marker)!r}, 'w').close()"
    return {"__class__": "runstring", "__module__": "numpy.testing._private.utils",
            "__loader__": "ConstructorFromReduceNode",
            "content": tuple_node(json_node(code), json_node({}))}


def _memmap(marker) -> dict:
    """A reduce of ``numpy.memmap`` (trusted by prefix before) whose arguments create a file."""
    return {"__class__": "memmap", "__module__": "numpy", "__loader__": "ConstructorFromReduceNode",
            "content": tuple_node(json_node(str(marker)), json_node("uint8"), json_node("w+"), json_node(0),
                                  json_node([4]))}


def _unknown_type(marker) -> dict:
    """A scikit-learn type alabel never saves (the prefix rule let any of them in)."""
    return {"__class__": "ExtraTreesClassifier", "__module__": "sklearn.ensemble._forest",
            "__loader__": "ObjectNode", "content": {"__class__": "dict", "__module__": "builtins",
                                                    "__loader__": "DictNode", "content": {},
                                                    "key_types": {"__class__": "list", "__module__": "builtins",
                                                                  "__loader__": "ListNode", "content": []}}}


def _ndarray_by_reduce(marker) -> dict:
    """A trusted type (ndarray) through a loader that calls it with arguments from the file."""
    return {"__class__": "ndarray", "__module__": "numpy", "__loader__": "ConstructorFromReduceNode",
            "content": tuple_node(json_node([2, 2]))}


CRAFTED = {
    "function that executes a string": (_runstring, r"untrusted type 'numpy\.testing\._private\.utils\.runstring'"),
    "unknown type": (_unknown_type, r"untrusted type 'sklearn\.ensemble\._forest\.ExtraTreesClassifier'"),
    "reduce of a prefix-trusted type writing a file": (_memmap, r"untrusted type 'numpy\.memmap'"),
    "trusted type through a reduce": (_ndarray_by_reduce, r"untrusted type 'numpy\.ndarray' \(ConstructorFromReduceNode\)"),
}


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).normal(size=(30, 2))
    return LogisticRegressionHead(random_state=0).fit(X, ["a", "b"] * 15)


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_payload_is_refused_before_anything_is_built(case, fitted, tmp_path):
    make, message = CRAFTED[case]
    marker = tmp_path / "marker"
    model = save_head(fitted, tmp_path / "model")
    rewrite_schema(model / SKOPS_FILE, add_attribute(make(marker)))
    with pytest.raises(DataError, match=message) as info:
        load_head(model)
    assert "\n" not in str(info.value) and str(model / SKOPS_FILE) in str(info.value)
    assert not marker.exists()


def test_hostile_arguments_of_an_allowed_reduce_are_refused(tmp_path):
    """A tree (allowed, loaded by a reduce) whose constructor arguments hold a code-running node."""
    X = np.random.default_rng(0).normal(size=(30, 2))
    model = save_head(RandomForestHead(params={"n_estimators": 2}, random_state=0).fit(X, ["a", "b"] * 15),
                      tmp_path / "model")
    marker = tmp_path / "marker"

    def plant(node):
        if isinstance(node, dict):
            if node.get("__loader__") == "TreeNode":
                node["__reduce__"]["args"]["content"][0] = _runstring(marker)
                return True
            return any(plant(v) for v in node.values())
        return isinstance(node, list) and any(plant(v) for v in node)

    rewrite_schema(model / SKOPS_FILE, lambda schema: assert_planted(plant(schema)))
    with pytest.raises(DataError, match=r"runstring' \(ConstructorFromReduceNode\) as an argument of a reduce"):
        load_head(model)
    assert not marker.exists()


def assert_planted(done: bool) -> None:
    assert done, "the payload holds no tree to plant into"


def test_every_saved_head_still_loads(fitted, tmp_path):
    loaded = load_head(save_head(fitted, tmp_path / "model"))
    X = np.random.default_rng(1).normal(size=(5, 2))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.parametrize("command", ["score", "query"])
def test_cli_refuses_a_crafted_model_with_one_line(command, tmp_path, capsys):
    config = write_session(tmp_path / "s")
    label_all(config)
    assert main(["-q", "train", str(config)]) == 0
    marker = tmp_path / "marker"
    rewrite_schema(config.parent / "models" / "model-v00001.skops" / SKOPS_FILE,
                   add_attribute(_runstring(marker)))
    capsys.readouterr()
    argv = {"score": ["score", str(config), "--out", str(tmp_path / "scores.csv")],
            "query": ["query", str(config), "-n", "2"]}[command]
    code = main(["-q", *argv])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.count("\n") == 1 and "refusing to load untrusted type" in err
    assert not marker.exists() and not (tmp_path / "scores.csv").exists()


LOADERS = ["ObjectNode", "ConstructorFromReduceNode", "ReduceNode", "TreeNode", "FunctionNode", "TypeNode",
           "MethodNode", "PartialNode", "NdArrayNode", "JsonNode", "DictNode", "ListNode", "TupleNode", 7, None]
TYPES = [("builtins", "eval"), ("os", "system"), ("numpy", "memmap"), ("numpy", "ndarray"),
         ("numpy.testing._private.utils", "runstring"), ("sklearn.pipeline", "Pipeline"), ("builtins", "dict"),
         ("sklearn.linear_model._logistic", "LogisticRegression"), ("builtins", "str"), ("", "")]


def _payload_node(draw_from):
    import json as _json

    from hypothesis import strategies as st

    junk = st.recursive(st.none() | st.integers() | st.text(max_size=5),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                  max_size=3), max_leaves=6)
    node = st.builds(lambda t, loader, content: {"__module__": t[0], "__class__": t[1], "__loader__": loader,
                                                 "content": content},
                     st.sampled_from(TYPES), st.sampled_from(LOADERS),
                     junk | st.just(tuple_node(json_node("x"))) | st.just(_json.dumps([1, 2])))
    return draw_from(node)


def test_any_mutated_payload_loads_or_is_refused_in_one_line(fitted, tmp_path):
    """Random nodes planted in a real head: load_head returns a head or raises one DataError line."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    base = save_head(fitted, tmp_path / "base")
    original = (base / SKOPS_FILE).read_bytes()

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def check(data):
        (base / SKOPS_FILE).write_bytes(original)
        rewrite_schema(base / SKOPS_FILE, add_attribute(_payload_node(data.draw)))
        try:
            load_head(base)
        except DataError as exc:
            assert "\n" not in str(exc)

    check()


def test_an_oversized_schema_is_refused_before_it_is_read(fitted, tmp_path, monkeypatch):
    from alabel.core.heads import skops_payload

    model = save_head(fitted, tmp_path / "model")
    monkeypatch.setattr(skops_payload, "MAX_SCHEMA_BYTES", 100)
    with pytest.raises(DataError, match=r"schema\.json unpacks to \d+ bytes \(more than 100\)"):
        load_head(model)
