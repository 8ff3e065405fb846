"""Property tests: config, layout and label-file parsing give a result or one line, never a traceback.

Every input, however malformed, either parses or raises an
:class:`~alabel.core.errors.AlabelError` whose message is one line. Inputs
are random YAML texts, random mutations of a valid config or layout (a key
replaced by a value of another type), and random label tables. Bounded
(``max_examples``) so the module runs in a few seconds.
"""
from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from trust_fixtures import write_session

from alabel.core.config import SessionConfig
from alabel.core.errors import AlabelError
from alabel.core.labels import LabelStore
from alabel.dashboard.layout import parse_layout
from alabel.core.yaml_limits import load_yaml

BOUNDED = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["", "..", "/", "~", "a.b.C", "x" * 300, "0", "1e999", "random", "auto",
                                     "logistic_regression", "table.csv", "obj", "x", "main", "scatter"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8) | scalars.filter(
                                                           lambda v: v is not None and not (isinstance(v, float) and math.isnan(v))),
                                                           inner, max_size=4)),
                      max_leaves=12)


def _paths(tree, prefix=()):
    """Every (path of keys/indices) inside a nested mapping/list."""
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _paths(value, prefix + (i,))


def _mutate(tree, data):
    """Replace one node of ``tree`` (or delete one key) with a random value."""
    tree = copy.deepcopy(tree)
    paths = [p for p in _paths(tree) if p]
    where = data.draw(st.sampled_from(paths))
    parent = tree
    for step in where[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[where[-1]]
    else:
        parent[where[-1]] = data.draw(values)
    return tree


def _one_line(exc: AlabelError) -> None:
    assert "\n" not in str(exc) and str(exc).strip(), repr(exc)


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prop")
    config = write_session(folder)
    return folder, yaml.safe_load(config.read_text())


def _load(text: str, folder: Path, confine: bool):
    path = folder / "candidate.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        SessionConfig.load(path, confine=confine)
    except AlabelError as exc:
        _one_line(exc)


@BOUNDED
@given(text=st.text(max_size=300), confine=st.booleans())
@example(text="seed: 2024-13-45", confine=False)  # a date YAML cannot build (ValueError before)
@example(text="[" * 600, confine=False)  # nesting deeper than the parser's recursion
@example(text="a: &a [*a, *a]", confine=False)  # an alias to itself
def test_any_config_text_parses_or_fails_in_one_line(session_dir, text, confine):
    _load(text, session_dir[0], confine)


@BOUNDED
@given(data=st.data(), confine=st.booleans())
def test_any_mutated_config_parses_or_fails_in_one_line(session_dir, data, confine):
    folder, base = session_dir
    mutated = _mutate(base, data)
    try:
        text = yaml.safe_dump(mutated, sort_keys=False)
    except yaml.YAMLError:
        return
    _load(text, folder, confine)


LAYOUT = {"name": "l", "description": "d", "sidebar": [{"type": "model"}, {"type": "query"}],
          "main": [{"row": [{"type": "scatter", "width": 640}, {"type": "detail"}]}, {"type": "labelling"},
                   {"tabs": {"Find": [{"type": "find"}], "Metrics": {"type": "metrics"}}}]}


@BOUNDED
@given(data=st.data())
def test_any_mutated_layout_parses_or_fails_in_one_line(data):
    try:
        parse_layout(_mutate(LAYOUT, data), where="layout.yaml")
    except AlabelError as exc:
        _one_line(exc)


@BOUNDED
@given(text=st.text(max_size=300))
@example(text="main: [{type: scatter, width: 2024-02-30}]")
def test_any_layout_text_parses_or_fails_in_one_line(text):
    try:
        parse_layout(load_yaml(text, "layout.yaml"), where="layout.yaml")
    except AlabelError as exc:
        _one_line(exc)


cells = st.one_of(st.text(max_size=6), st.integers(-5, 50).map(str), st.sampled_from(["o001", "o002", "a", "b", "",
                                                                                      "NaN", "\"", ",", "\n"]))


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("labels")


@BOUNDED
@given(header=st.lists(st.sampled_from(["obj", "label", "split", "x", "", "obj"]), min_size=0, max_size=4),
       rows=st.lists(st.lists(cells, max_size=4), max_size=6), raw=st.one_of(st.none(), st.binary(max_size=80)),
       suffix=st.sampled_from([".csv", ".csv", ".parquet", ".tsv"]))
@example(header=[], rows=[], raw=b"PAR1\x00\x00PAR1", suffix=".parquet")
def test_any_label_file_imports_or_fails_in_one_line(store_dir, header, rows, raw, suffix):
    with tempfile.TemporaryDirectory(dir=store_dir) as tmp:
        path = Path(tmp) / f"labels{suffix}"
        if raw is not None:
            path.write_bytes(raw)
        else:
            path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8")
        store = LabelStore.open(Path(tmp) / "store.sqlite")
        try:
            store.set_classes(["a", "b"])
            store.import_labels(path, id_column="obj", label_column="label",
                                known_ids={f"o{i:03d}" for i in range(40)})
        except AlabelError as exc:
            _one_line(exc)
        finally:
            store.close()
