"""Table of bad data specs and bad data files → one-line errors naming file and key.

Each case is a spec (and optionally a way to spoil the data file); the
assertion is the exception type, that the message is one line, and that it
names the file and the key or column at fault.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alabel.core.data import DataSpec, load_pool
from alabel.core.errors import ConfigError, DataError

from data_helpers import BASE_SPEC, small_frame


_DELETE = object()


def spec_with(**changes) -> dict:
    """BASE_SPEC with dotted-path changes, e.g. ``{"features.numeric": [...]}``."""
    d = copy.deepcopy(BASE_SPEC)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = d
        for p in parents:
            node = node[p]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return d


# (case id, spec dict, expected fragments besides "config.yaml")
SPEC_CASES = [
    ("unknown top key", {**BASE_SPEC, "sourcs": []}, ["data.sourcs", "did you mean 'sources'"]),
    ("column not a string", spec_with(**{"features.numeric": ["a", "b", 3]}),
     ["data.features.numeric[2]: expected a column name (string), got 3"]),
    ("missing id_column", spec_with(id_column=_DELETE), ["data.id_column", "required"]),
    ("missing features", spec_with(features=_DELETE), ["data.features", "required"]),
    ("bad missing policy", spec_with(missing="dorp"), ["data.missing", "impute, drop", "did you mean 'drop'"]),
    ("unknown format", spec_with(sources=[{"path": "t.parquet", "format": "parket"}]),
     ["data.sources[0].format", "did you mean 'parquet'"]),
    ("bad sha256", spec_with(sources=[{"path": "t.parquet", "sha256": "abc"}]), ["data.sources[0].sha256", "64"]),
    ("empty sources", spec_with(sources=[]), ["data.sources", "non-empty"]),
    ("source without path", spec_with(sources=[{"format": "csv"}]), ["data.sources[0].path", "required"]),
    ("unknown source key", spec_with(sources=[{"path": "t.csv", "sha": "x"}]),
     ["data.sources[0].sha", "did you mean 'sha256'"]),
    ("bad detail kind", spec_with(detail=[{"column": "img", "kind": "video"}]), ["data.detail[0].kind", "image"]),
    ("unknown featurizer", spec_with(**{"features.embeddings": [{"column": "t", "featurizer": "passthru"}]}),
     ["data.features.embeddings[0].featurizer", "did you mean 'passthrough'"]),
    ("bad featurizer params", spec_with(**{"features.embeddings": [{"column": "t", "featurizer": "tfidf",
                                                                    "params": {"n_compnents": 3}}]}),
     ["data.features.embeddings[0].params", "n_compnents"]),
    ("label as feature", spec_with(**{"features.numeric": ["label"]}), ["data.features.numeric[0]", "ground_truth"]),
    ("column declared twice", spec_with(**{"features.categorical": ["a"]}),
     ["data.features.categorical[0]", "already declared"]),
    ("no features", spec_with(features={"numeric": []}), ["data.features", "no feature columns"]),
    ("features not a list", spec_with(**{"features.numeric": "a"}), ["data.features.numeric", "list"]),
    ("data not a mapping", ["a"], ["data:", "mapping"]),
    ("hidden feature", spec_with(hidden=["a"]), ["data.hidden[0]", "'a' is a feature"]),
    ("hidden id", spec_with(hidden=["id"]), ["data.hidden[0]", "id_column"]),
    ("hidden but in detail", spec_with(hidden=["notes"], detail=[{"column": "notes", "kind": "text"}]),
     ["data.hidden[0]", "data.detail[0]"]),
    ("hidden not a list", spec_with(hidden="notes"), ["data.hidden", "list"]),
]


@pytest.mark.parametrize("d, fragments", [c[1:] for c in SPEC_CASES], ids=[c[0] for c in SPEC_CASES])
def test_bad_spec_is_one_line_config_error(tmp_path: Path, d, fragments):
    with pytest.raises(ConfigError) as info:
        DataSpec.from_dict(d, where="config.yaml", base_dir=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("config.yaml: ")
    for fragment in fragments:
        assert fragment in message


# --------------------------------------------------------------------------- data
def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "table.parquet") -> None:
    path = tmp_path / name
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def spoil_missing_file(tmp_path):
    return spec_with(sources=[{"path": "nope.parquet"}]), "nope.parquet", ["not found", "data.sources[0].path"]


def spoil_unknown_extension(tmp_path):
    (tmp_path / "table.xlsx").write_bytes(b"PK\x03\x04")
    return spec_with(sources=["table.xlsx"]), "table.xlsx", ["unknown format", "csv, fits, parquet"]


def spoil_corrupt_parquet(tmp_path):
    (tmp_path / "table.parquet").write_bytes(b"PAR1 this is not really parquet")
    return spec_with(), "table.parquet", ["cannot read as parquet"]


def spoil_missing_id_column(tmp_path):
    _write(tmp_path, small_frame().rename(columns={"id": "idx"}))
    return spec_with(), "table.parquet", ["data.id_column", "'id'", "did you mean 'idx'"]


def spoil_duplicate_ids(tmp_path):
    frame = small_frame()
    frame.loc[[1, 3], "id"] = [10, 12]
    _write(tmp_path, frame)
    return spec_with(), "table.parquet", ["'id'", "2 duplicated id(s)", "'10', '12'"]


def spoil_missing_ids(tmp_path):
    frame = small_frame().astype({"id": float})
    frame.loc[[2, 4], "id"] = np.nan
    _write(tmp_path, frame)
    return spec_with(), "table.parquet", ["'id'", "2 missing value(s)", "rows 2, 4"]


def spoil_absent_feature(tmp_path):
    _write(tmp_path, small_frame())
    return spec_with(**{"features.numeric": ["a", "bb"]}), "table.parquet", [
        "data.features.numeric", "'bb'", "did you mean 'b'"]


def spoil_numeric_holding_strings(tmp_path):
    frame = small_frame()
    frame["b"] = ["0.5", "oops", "1.5", "2", None, "3"]
    _write(tmp_path, frame, "table.csv")
    return spec_with(sources=["table.csv"]), "table.csv", ["data.features.numeric", "'b'", "'oops'", "categorical"]


def spoil_infinite_values(tmp_path):
    frame = small_frame()
    frame.loc[[0, 3], "b"] = [np.inf, -np.inf]
    _write(tmp_path, frame)
    return spec_with(), "table.parquet", ["data.features.numeric", "'b'", "2 infinite"]


def spoil_absent_ground_truth(tmp_path):
    _write(tmp_path, small_frame())
    return spec_with(ground_truth="labels"), "table.parquet", ["data.ground_truth", "'labels'", "did you mean 'label'"]


def spoil_join_without_id(tmp_path):
    _write(tmp_path, small_frame())
    pd.DataFrame({"key": [10, 11], "extra": [1.0, 2.0]}).to_csv(tmp_path / "extra.csv", index=False)
    return spec_with(sources=["table.parquet", "extra.csv"]), "extra.csv", ["data.id_column", "'id'"]


def spoil_join_column_clash(tmp_path):
    _write(tmp_path, small_frame())
    pd.DataFrame({"id": [10, 11], "a": [1.0, 2.0]}).to_csv(tmp_path / "extra.csv", index=False)
    return spec_with(sources=["table.parquet", "extra.csv"]), "extra.csv", ["'a'", "table.parquet"]


def spoil_ragged_arrays(tmp_path):
    frame = small_frame()
    frame["arr"] = [[1.0, 2.0], [3.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0], [1.0, 2.0]]
    _write(tmp_path, frame)
    return spec_with(**{"features.arrays": ["arr"]}), "table.parquet", [
        "data.features.arrays", "'arr'", "different lengths", "row 1"]


def spoil_sha256_mismatch(tmp_path):
    _write(tmp_path, small_frame())
    return spec_with(sources=[{"path": "table.parquet", "sha256": "0" * 64}]), "table.parquet", [
        "sha256 mismatch", "data.sources[0].sha256"]


def spoil_absent_detail_column(tmp_path):
    _write(tmp_path, small_frame())
    return spec_with(detail=[{"column": "image", "kind": "image"}]), "table.parquet", [
        "data.detail[0].column", "'image'"]


def spoil_absent_hidden_column(tmp_path):
    _write(tmp_path, small_frame())
    return spec_with(hidden=["catalogue_name"]), "table.parquet", ["data.hidden[0]", "'catalogue_name'"]


def spoil_header_only_csv(tmp_path):
    (tmp_path / "table.csv").write_text("id,a,b,region,label\n")
    return spec_with(sources=["table.csv"]), "table.csv", ["no rows"]


def spoil_too_many_categories(tmp_path):
    n = 1500
    frame = pd.DataFrame({"id": range(n), "a": np.zeros(n), "b": np.zeros(n),
                          "region": [f"r{i}" for i in range(n)], "label": ["x"] * n})
    _write(tmp_path, frame)
    return spec_with(), "table.parquet", ["data.features.categorical", "'region'", "1500 distinct"]


DATA_CASES = [
    spoil_missing_file, spoil_unknown_extension, spoil_corrupt_parquet, spoil_missing_id_column,
    spoil_duplicate_ids, spoil_missing_ids, spoil_absent_feature, spoil_numeric_holding_strings,
    spoil_infinite_values, spoil_absent_ground_truth, spoil_join_without_id, spoil_join_column_clash,
    spoil_ragged_arrays, spoil_sha256_mismatch, spoil_absent_detail_column, spoil_absent_hidden_column, spoil_header_only_csv,
    spoil_too_many_categories,
]


@pytest.mark.parametrize("spoil", DATA_CASES, ids=[f.__name__.removeprefix("spoil_") for f in DATA_CASES])
def test_bad_data_is_one_line_data_error(tmp_path: Path, spoil):
    d, file_name, fragments = spoil(tmp_path)
    spec = DataSpec.from_dict(d, where="config.yaml", base_dir=tmp_path)
    with pytest.raises(DataError) as info:
        load_pool(spec)
    message = str(info.value)
    assert "\n" not in message
    assert file_name in message.split(":")[0]  # the file is named first
    for fragment in fragments:
        assert fragment in message


def test_require_ground_truth_needs_two_classes(tmp_path: Path):
    frame = small_frame()
    frame["label"] = ["x"] * len(frame)
    _write(tmp_path, frame)
    spec = DataSpec.from_dict(spec_with(), base_dir=tmp_path)
    assert load_pool(spec).classes == ["x"]  # starting without labels is normal
    with pytest.raises(DataError, match=r"table\.parquet: data\.ground_truth: column 'label' has 1 class"):
        load_pool(spec, require_ground_truth=True)


def test_require_ground_truth_without_column(tmp_path: Path):
    _write(tmp_path, small_frame())
    spec = DataSpec.from_dict(spec_with(ground_truth=_DELETE), base_dir=tmp_path)
    assert load_pool(spec).ground_truth is None
    with pytest.raises(DataError, match=r"table\.parquet: data\.ground_truth: .*required"):
        load_pool(spec, require_ground_truth=True)
