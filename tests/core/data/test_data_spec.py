"""DataSpec parsing details and the to_dict/from_dict round trip."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alabel.core.data import DataSpec, EmbeddingSpec, SourceSpec

FULL = {
    "sources": [
        {"path": "data/stars.parquet", "sha256": "AB" * 32},
        {"path": "../extra/more.fits", "format": "fits"},
    ],
    "id_column": "id",
    "features": {
        "numeric": ["mag_I", "mag_V"],
        "categorical": ["region"],
        "arrays": ["pixels"],
        "embeddings": [{"column": "text", "featurizer": "tfidf", "params": {"n_components": 16}}],
    },
    "ground_truth": "label",
    "missing": "drop",
    "detail": [{"column": "image_path", "kind": "image"}, {"column": "text", "kind": "text"}],
    "root": "data",
}


def test_parse_full_spec(tmp_path: Path):
    spec = DataSpec.from_dict(FULL, base_dir=tmp_path)
    assert spec.sources[0] == SourceSpec(tmp_path / "data" / "stars.parquet", None, "ab" * 32)
    assert spec.sources[1].path == tmp_path.parent / "extra" / "more.fits"
    assert spec.features.embeddings == (EmbeddingSpec("text", "tfidf", {"n_components": 16}),)
    assert spec.features.columns == ("mag_I", "mag_V", "region", "pixels", "text")
    assert spec.root_dir == tmp_path / "data"
    assert spec.missing == "drop"


def test_defaults(tmp_path: Path):
    spec = DataSpec.from_dict(
        {"sources": ["t.csv"], "id_column": "id", "features": {"numeric": ["x"]}}, base_dir=tmp_path
    )
    assert spec.missing == "impute"
    assert spec.ground_truth is None and spec.detail == () and spec.root is None
    assert spec.root_dir == tmp_path  # the first source's folder
    assert spec.features.categorical == () and spec.features.embeddings == ()


def test_round_trip_with_relative_paths(tmp_path: Path):
    config_dir = tmp_path / "project"
    spec = DataSpec.from_dict(FULL, base_dir=config_dir)
    # Same folder: the paths come back as written.
    written = spec.to_dict(config_dir)
    assert written["sources"][0]["path"] == "data/stars.parquet"
    assert written["sources"][1]["path"] == "../extra/more.fits"
    assert written["root"] == "data"
    assert DataSpec.from_dict(written, base_dir=config_dir) == spec
    # Another folder (what `alabel export` does): relative to it, same files.
    other = tmp_path / "exported" / "deep"
    moved = spec.to_dict(other)
    assert moved["sources"][0]["path"] == "../../project/data/stars.parquet"
    assert DataSpec.from_dict(moved, base_dir=other) == spec
    # It is plain data: YAML-safe.
    assert DataSpec.from_dict(yaml.safe_load(yaml.safe_dump(moved)), base_dir=other) == spec


def test_string_shorthand_for_a_source(tmp_path: Path):
    spec = DataSpec.from_dict({"sources": ["a.csv"], "id_column": "id", "features": {"numeric": ["x"]}},
                              base_dir=tmp_path)
    assert spec.sources == (SourceSpec(tmp_path / "a.csv"),)


def test_same_text_column_with_two_featurizers_is_allowed(tmp_path: Path):
    spec = DataSpec.from_dict(
        {"sources": ["a.csv"], "id_column": "id",
         "features": {"embeddings": [{"column": "t", "featurizer": "tfidf"},
                                     {"column": "t", "featurizer": "passthrough"}]}},
        base_dir=tmp_path,
    )
    assert [e.featurizer for e in spec.features.embeddings] == ["tfidf", "passthrough"]


def test_where_names_the_file(tmp_path: Path):
    with pytest.raises(Exception, match=r"^projects/stars\.yaml: data\.id_column: expected a column name"):
        DataSpec.from_dict({"sources": ["a.csv"], "id_column": 5, "features": {"numeric": ["x"]}},
                           where="projects/stars.yaml", base_dir=tmp_path)
