"""Loading a pool: joins, feature encoding, missing values, ids, paths, hashes."""
from __future__ import annotations

import hashlib
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from alabel.core.data import DataSpec, DataWarning, load_pool
from alabel.core.errors import DataError

from data_helpers import small_frame


def test_pool_attributes(table, make_spec):
    pool = load_pool(make_spec())
    assert pool.n == len(pool) == 6
    assert isinstance(pool.frame.index, pd.RangeIndex)
    assert list(pool.frame.columns) == list(small_frame().columns)
    assert pool.ids.dtype == object and all(isinstance(i, str) for i in pool.ids)
    assert pool.X.dtype == np.float32 and pool.X.shape == (6, 5)
    assert pool.classes == ["x", "y", "z"]
    assert pool.data_hash == hashlib.sha256(table.read_bytes()).hexdigest()


def test_one_hot_sorted_and_nan_category_is_all_zeros(table, make_spec):
    pool = load_pool(make_spec())
    assert pool.feature_names[2:] == ["region=BLG", "region=LMC", "region=SMC"]
    one_hot = pool.X[:, 2:]
    # region = LMC, SMC, None, LMC, BLG, SMC
    expected = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float32)
    np.testing.assert_array_equal(one_hot, expected)


def test_nan_preserved_in_X_with_impute(table, make_spec):
    pool = load_pool(make_spec())
    b = pool.X[:, pool.feature_names.index("b")]
    np.testing.assert_array_equal(np.isnan(b), [False, True, False, False, True, False])
    assert pool.n == 6  # impute keeps every row


def test_missing_drop_removes_rows_and_warns_on_lost_class(table, make_spec):
    with pytest.warns(DataWarning, match=r"class 'z' of ground-truth column 'label'"):
        pool = load_pool(make_spec(missing="drop"))
    # rows with b = NaN (ids 11, 14) and region = None (id 12) are gone; 'z' was only id 14
    assert list(pool.ids) == ["10", "13", "15"]
    assert not np.isnan(pool.X).any()
    assert list(pool.frame["id"]) == [10, 13, 15]
    assert isinstance(pool.frame.index, pd.RangeIndex)
    assert list(pool.ground_truth) == ["x", "y", "x"]


def test_missing_drop_without_lost_class_does_not_warn(tmp_path, make_spec):
    frame = small_frame()
    frame.loc[4, "b"] = 7.0  # the only 'z' row is now complete
    frame.to_parquet(tmp_path / "table.parquet", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pool = load_pool(make_spec(missing="drop"))
    assert list(pool.ids) == ["10", "13", "14", "15"]


def test_inf_rejected(tmp_path, make_spec):
    frame = small_frame()
    frame.loc[2, "a"] = np.inf
    frame.to_parquet(tmp_path / "table.parquet", index=False)
    with pytest.raises(DataError, match=r"column 'a' has 1 infinite"):
        load_pool(make_spec())


def test_join_of_two_sources(tmp_path, table, make_spec):
    # The second source is a CSV in another order, with a missing object and an extra one.
    pd.DataFrame({"id": [15, 10, 12, 99], "extra": [5.0, 0.0, 2.0, 9.0], "note": ["e", "a", "c", "zz"]}).to_csv(
        tmp_path / "extra.csv", index=False
    )
    spec = make_spec(
        sources=["table.parquet", "extra.csv"],
        features={"numeric": ["a", "extra"], "categorical": ["region"]},
    )
    pool = load_pool(spec)
    assert list(pool.ids) == ["10", "11", "12", "13", "14", "15"]  # first source's rows and order
    assert list(pool.frame.columns) == list(small_frame().columns) + ["extra", "note"]
    extra = pool.X[:, 1]
    np.testing.assert_array_equal(extra[[0, 2, 5]], [0.0, 2.0, 5.0])
    assert np.isnan(extra[[1, 3, 4]]).all()  # left join: not in the second source → missing
    note = pool.frame["note"]
    assert note[0] == "a" and note[2] == "c" and note[5] == "e" and pd.isna(note[1])
    assert len(pool.source_hashes) == 2 and pool.data_hash not in pool.source_hashes


def test_arrays_expanded(tmp_path, table, make_spec):
    pool = load_pool(make_spec(features={"numeric": ["a"], "arrays": ["arr"]}))
    assert pool.feature_names == ["a", "arr[0]", "arr[1]"]
    np.testing.assert_array_equal(pool.X[:, 1:], np.arange(1, 13, dtype=np.float32).reshape(6, 2))


def test_numeric_strings_from_csv_are_parsed(tmp_path, make_spec):
    # A CSV column that pandas reads as text but holds only numbers is fine.
    frame = small_frame().drop(columns="arr")
    frame["a"] = ["1", "2", "3", "4", "5", " 6"]
    frame.to_parquet(tmp_path / "table.parquet", index=False)
    pool = load_pool(make_spec())
    np.testing.assert_array_equal(pool.X[:, 0], [1, 2, 3, 4, 5, 6])


def test_index_of(table, make_spec):
    pool = load_pool(make_spec())
    np.testing.assert_array_equal(pool.index_of(["12", 15, "10"]), [2, 5, 0])
    np.testing.assert_array_equal(pool.index_of("11"), [1])
    with pytest.raises(DataError, match=r"table\.parquet: unknown object id '77' \(2 of 3 ids"):
        pool.index_of(["10", "77", "78"])


def test_detail(tmp_path, table, make_spec):
    pool = load_pool(make_spec(detail=[{"column": "region", "kind": "text"}, {"column": "b", "kind": "table"}]))
    assert pool.detail(1) == {"region": "SMC", "b": None}
    assert pool.detail(0) == {"region": "LMC", "b": 0.5}
    assert set(load_pool(make_spec()).detail(0)) == set(small_frame().columns)
    with pytest.raises(DataError, match="row 6 out of range"):
        pool.detail(6)


# --------------------------------------------------------------------------- paths
@pytest.fixture
def confined_pool(tmp_path, make_spec):
    data = tmp_path / "data"
    (data / "img").mkdir(parents=True)
    (data / "img" / "a.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", data / "img" / "link.png")
    small_frame().to_parquet(data / "table.parquet", index=False)
    return load_pool(make_spec(sources=["data/table.parquet"]))


def test_resolve_path_inside_root(confined_pool, tmp_path):
    root = (tmp_path / "data").resolve()
    assert confined_pool.root == tmp_path / "data"  # default root: the first source's folder
    assert confined_pool.resolve_path("img/a.png") == root / "img" / "a.png"
    assert confined_pool.resolve_path(str(root / "img" / "a.png")) == root / "img" / "a.png"
    assert confined_pool.resolve_path("img/../img/a.png") == root / "img" / "a.png"


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("../secret.txt", "outside"),  # ../ escape
        ("img/../../secret.txt", "outside"),
        ("ABSOLUTE", "outside"),  # absolute path outside the root
        ("img/link.png", "outside"),  # a symlink inside the root pointing out of it
        ("img/missing.png", "not an existing file"),
        ("", "empty path"),
        (None, "empty path"),
    ],
)
def test_resolve_path_confined(confined_pool, tmp_path, value, fragment):
    if value == "ABSOLUTE":
        value = str(tmp_path / "secret.txt")
    with pytest.raises(DataError, match=fragment) as info:
        confined_pool.resolve_path(value)
    assert "data.root" in str(info.value) and "\n" not in str(info.value)


def test_explicit_root(tmp_path, make_spec):
    (tmp_path / "data").mkdir()
    (tmp_path / "secret.txt").write_text("s")
    small_frame().to_parquet(tmp_path / "data" / "table.parquet", index=False)
    pool = load_pool(make_spec(sources=["data/table.parquet"], root="."))
    assert pool.resolve_path("secret.txt") == (tmp_path / "secret.txt").resolve()
    with pytest.raises(DataError, match=r"data\.root: folder not found"):
        load_pool(make_spec(sources=["data/table.parquet"], root="nowhere"))


# --------------------------------------------------------------------------- hashes and size
def test_sha256_checked(tmp_path, table, make_spec):
    digest = hashlib.sha256(table.read_bytes()).hexdigest()
    assert load_pool(make_spec(sources=[{"path": "table.parquet", "sha256": digest.upper()}])).data_hash == digest
    frame = small_frame()
    frame.loc[0, "a"] = 42.0
    frame.to_parquet(table, index=False)
    with pytest.raises(DataError, match=r"table\.parquet: sha256 mismatch"):
        load_pool(make_spec(sources=[{"path": "table.parquet", "sha256": digest}]))


def test_one_million_rows(tmp_path):
    n = 1_000_000
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "id": np.arange(n),
            "x1": rng.normal(size=n).astype(np.float32),
            "x2": rng.normal(size=n).astype(np.float32),
            "kind": pd.Categorical.from_codes(rng.integers(0, 3, n), ["p", "q", "r"]).astype(str),
            "label": np.where(rng.random(n) < 0.5, "a", "b"),
        }
    ).to_parquet(tmp_path / "big.parquet", index=False)
    spec = DataSpec.from_dict(
        {"sources": ["big.parquet"], "id_column": "id",
         "features": {"numeric": ["x1", "x2"], "categorical": ["kind"]}, "ground_truth": "label"},
        base_dir=tmp_path,
    )
    pool = load_pool(spec, require_ground_truth=True)
    assert pool.X.shape == (n, 5)
    assert pool.ids.shape == (n,) and pool.ground_truth.shape == (n,)



def test_ground_truth_rows_share_one_string_per_class(tmp_path):
    """A class name is one object shared by its rows (8 bytes a row, not a ~60-byte string each):
    at 10M rows that is ~500 MB (bench/bench_memory.py)."""
    import yaml

    from alabel.core.config import SessionConfig

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(2000)], "f": rng.normal(size=2000),
                          "truth": rng.choice(["RRab", "RRc", "Cep"], 2000)})
    frame.loc[::7, "truth"] = None
    frame.to_parquet(tmp_path / "pool.parquet", index=False)
    config = {"name": "t", "data": {"sources": [{"path": "pool.parquet"}], "id_column": "id",
                                    "ground_truth": "truth", "features": {"numeric": ["f"]}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    pool = load_pool(SessionConfig.load(tmp_path / "config.yaml").data)
    present = [v for v in pool.ground_truth if v is not None]
    assert sorted(set(present)) == ["Cep", "RRab", "RRc"] and len(present) == 2000 - len(frame.loc[::7])
    assert len({id(v) for v in present}) == 3
    assert list(pool.ground_truth) == [None if pd.isna(t) else t for t in frame["truth"]]
