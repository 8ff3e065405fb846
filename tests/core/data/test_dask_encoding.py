"""The pool's feature encoding applied to rows outside the pool (alabel score --data, Dask partitions)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alabel.core.data import DataSpec, load_pool
from alabel.core.data.encoding import FeatureEncoding
from alabel.core.errors import DataError


@pytest.fixture
def pool(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "id": np.arange(20), "m": rng.normal(size=20),
        "kind": np.array(["x", "y", None, "z"], dtype=object)[np.arange(20) % 4],
        "spec": [rng.normal(size=3).tolist() for _ in range(20)],
    })
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    spec = DataSpec.from_dict({"sources": ["t.parquet"], "id_column": "id",
                               "features": {"numeric": ["m"], "categorical": ["kind"], "arrays": ["spec"]}},
                              where="c.yaml", base_dir=tmp_path)
    return load_pool(spec), frame


def test_layout_read_back_from_the_pool_reproduces_x(pool):
    p, frame = pool
    enc = FeatureEncoding.from_pool(p)
    assert enc.categories == {"kind": ("x", "y", "z")} and enc.widths == {"spec": 3}
    X, unseen = enc.encode(frame.iloc[::-1], p.spec.sources[0].path)
    np.testing.assert_array_equal(X, p.X[::-1])
    assert unseen == 0


def test_array_of_another_length_is_one_line(pool, tmp_path):
    p, frame = pool
    bad = frame.assign(spec=[[1.0, 2.0, 3.0, 4.0]] * len(frame))
    with pytest.raises(DataError, match=r"^new.parquet: data.features.arrays: column 'spec' has 4 values per row; "
                                        r"the pool's had 3$"):
        FeatureEncoding.from_pool(p).encode(bad, "new.parquet")
