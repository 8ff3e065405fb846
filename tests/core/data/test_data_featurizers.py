"""Featurizers: registry lookup, built-ins, and the on-disk cache."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from alabel.core.data import DataSpec, Featurizer, featurize, featurizer_class, load_pool
from alabel.core.data import featurizers as featurizers_module
from alabel.core.data.featurizers import PassthroughFeaturizer, TfidfFeaturizer, stack_arrays
from alabel.core.errors import ConfigError, DataError
from alabel.core.params import number


class CountingFeaturizer(Featurizer):
    """Length of each text times ``scale``; counts how often it really runs."""

    type_name = "counting_test"
    params_spec: ClassVar[dict] = {"scale": number(1.0, "factor of the lengths")}
    calls: ClassVar[int] = 0

    def transform(self, values: pd.Series) -> np.ndarray:
        type(self).calls += 1
        lengths = values.fillna("").str.len().to_numpy(np.float32)
        return np.stack([lengths * self.params["scale"], np.ones_like(lengths)], axis=1)


class ChunkedFeaturizer(Featurizer):
    """Works chunk by chunk through the base class's progress-bar loop."""

    type_name = "chunked_test"
    batch_size = 2

    def transform_batch(self, values: pd.Series) -> np.ndarray:
        return np.arange(len(values), dtype=np.float32)[:, None] + float(values.index[0])


@pytest.fixture
def counting():
    CountingFeaturizer.calls = 0
    return CountingFeaturizer


def test_lookup_by_name_and_dotted_path():
    assert featurizer_class("passthrough") is PassthroughFeaturizer
    assert featurizer_class("tfidf") is TfidfFeaturizer
    assert featurizer_class(f"{__name__}.CountingFeaturizer") is CountingFeaturizer
    with pytest.raises(ConfigError, match=r"cfg\.yaml: k: unknown Featurizer 'tfidff' \(did you mean 'tfidf'\?\)"):
        featurizer_class("tfidff", key="k", where="cfg.yaml")


def test_cache_hit_does_not_recompute(tmp_path: Path, counting):
    values = pd.Series(["a", "bb", None, "dddd"], name="text")
    first = featurize(counting(), values, cache_dir=tmp_path)
    second = featurize(counting(), values, cache_dir=tmp_path)
    assert counting.calls == 1
    np.testing.assert_array_equal(first, second)
    assert second.dtype == np.float32 and second.shape == (4, 2)
    assert len(list(tmp_path.glob("counting_test-*.npy"))) == 1
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left nothing behind


def test_cache_keyed_by_params_and_content(tmp_path: Path, counting):
    values = pd.Series(["a", "bb", "ccc"], name="text")
    featurize(counting(), values, cache_dir=tmp_path)
    doubled = featurize(counting(scale=2.0), values, cache_dir=tmp_path)
    changed = featurize(counting(), pd.Series(["a", "bb", "cccc"], name="text"), cache_dir=tmp_path)
    assert counting.calls == 3
    np.testing.assert_array_equal(doubled[:, 0], [2.0, 4.0, 6.0])
    assert changed[2, 0] == 4.0
    featurize(counting(), values)  # no cache_dir: always computed
    assert counting.calls == 4


def test_damaged_cache_file_is_recomputed(tmp_path: Path, counting):
    values = pd.Series(["a", "bb"], name="text")
    featurize(counting(), values, cache_dir=tmp_path)
    (cache_file,) = tmp_path.glob("*.npy")
    cache_file.write_bytes(b"garbage")
    np.testing.assert_array_equal(featurize(counting(), values, cache_dir=tmp_path)[:, 0], [1.0, 2.0])
    assert counting.calls == 2


def test_pool_uses_featurizer_cache(tmp_path: Path, counting):
    pd.DataFrame({"id": [1, 2, 3], "text": ["x", "yy", "zzz"], "label": ["a", "b", "a"]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    spec = DataSpec.from_dict(
        {"sources": ["t.csv"], "id_column": "id", "ground_truth": "label",
         "features": {"embeddings": [{"column": "text", "featurizer": f"{__name__}.CountingFeaturizer",
                                      "params": {"scale": 3.0}}]}},
        base_dir=tmp_path,
    )
    for _ in range(2):
        pool = load_pool(spec, cache_dir=tmp_path / "cache")
    assert counting.calls == 1
    assert pool.feature_names == [f"text:{__name__}.CountingFeaturizer[0]", f"text:{__name__}.CountingFeaturizer[1]"]
    np.testing.assert_array_equal(pool.X[:, 0], [3.0, 6.0, 9.0])


def test_featurizer_wrong_shape_is_data_error():
    class Bad(Featurizer):
        type_name = "bad_shape_test"

        def transform(self, values):
            return np.zeros(len(values))

    with pytest.raises(DataError, match=r"'bad_shape_test' on column 'text' returned shape \(2,\)"):
        featurize(Bad(), pd.Series(["a", "b"], name="text"))


def test_chunked_transform():
    out = ChunkedFeaturizer().transform(pd.Series(list("abcde")))
    np.testing.assert_array_equal(out[:, 0], [0, 1, 2, 3, 4])


def test_unknown_param_is_type_error():
    with pytest.raises(TypeError, match="unknown parameter"):
        CountingFeaturizer(scal=2)


def test_passthrough_and_missing_rows():
    values = pd.Series([np.array([1, 2]), None, [5.0, 6.0]], name="vec")
    out = PassthroughFeaturizer().transform(values)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[[0, 2]], [[1, 2], [5, 6]])
    assert np.isnan(out[1]).all()  # a missing array stays missing


@pytest.mark.parametrize(
    "cells, fragment",
    [
        ([[1.0, 2.0], "oops"], "row 1 holds 'oops'"),
        ([[1.0], [1.0, 2.0]], "different lengths"),
        ([["a", "b"], ["c", "d"]], "must hold numbers"),
        ([None, None], "no row holds an array"),
    ],
)
def test_stack_arrays_errors(cells, fragment):
    with pytest.raises(DataError, match=fragment):
        stack_arrays(pd.Series(cells, dtype=object), column="vec", where="t.parquet")


def test_tfidf_featurizer_is_deterministic():
    text = pd.Series(["left eye pain", "right eye pain", "acute bronchitis", "chronic bronchitis",
                      "skin rash", "eye infection", "lung infection"], name="text")
    a = TfidfFeaturizer(n_components=3, min_df=1).transform(text)
    b = TfidfFeaturizer(n_components=3, min_df=1).transform(text)
    assert a.shape == (7, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert (np.linalg.norm(a, axis=1) <= 1 + 1e-5).all()  # L2-normalised rows (or zero)
    assert a[0] @ a[1] > a[0] @ a[2]  # "left eye pain" is closer to "right eye pain" than to bronchitis
    with pytest.raises(ValueError, match="n_components must be an integer >= 1, got 0"):
        TfidfFeaturizer(n_components=0)


def test_optional_plugin_module_absent_or_broken(monkeypatch):
    monkeypatch.setattr(featurizers_module, "_plugins_loaded", False)
    monkeypatch.setattr(featurizers_module, "_plugin_failures", {})
    monkeypatch.setattr(featurizers_module, "_PLUGIN_MODULES", ("no_such_plugin_module",))
    # A plugin module that is not installed at all is simply skipped.
    # (A name no module registers: "minilm" may already be registered by an earlier test.)
    with pytest.raises(ConfigError) as info:
        featurizer_class("fancy_text")
    assert "optional module" not in str(info.value)

    # A plugin module whose optional dependency is missing: selecting an unknown
    # featurizer then explains why, in one line.
    def fake_import(name):
        raise ModuleNotFoundError("No module named 'sentence_transformers'", name="sentence_transformers")

    monkeypatch.setattr(featurizers_module, "_plugins_loaded", False)
    monkeypatch.setattr(featurizers_module, "_PLUGIN_MODULES", ("text_embeddings",))
    monkeypatch.setattr(featurizers_module.importlib, "import_module", fake_import)
    with pytest.raises(ConfigError) as info:
        featurizer_class("fancy_text", key="data.features.embeddings[0].featurizer")
    message = str(info.value)
    assert "\n" not in message
    assert "data.features.embeddings[0].featurizer" in message
    assert "text_embeddings is unavailable: No module named 'sentence_transformers'" in message
    assert "pip install 'alabel[text]'" in message
    assert featurizer_class("passthrough") is PassthroughFeaturizer  # built-ins still work
