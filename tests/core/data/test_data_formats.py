"""CSV, Parquet and FITS sources load to the same pool."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alabel.core.data import DataSpec, format_for, load_pool
from alabel.core.data.formats import CsvFormat, FitsFormat, ParquetFormat
from alabel.core.errors import ConfigError, DataError

from data_helpers import small_frame

SPEC = {
    "id_column": "id",
    "features": {"numeric": ["a", "b"], "categorical": ["region"]},
    "ground_truth": "label",
}


def _pool(tmp_path: Path, name: str, **extra):
    spec = DataSpec.from_dict({**SPEC, "sources": [{"path": name, **extra}]}, base_dir=tmp_path)
    return load_pool(spec)


@pytest.mark.parametrize(
    "name, cls",
    [("t.csv", CsvFormat), ("T.CSV.GZ", CsvFormat), ("t.parquet", ParquetFormat), ("t.pq", ParquetFormat),
     ("t.fits", FitsFormat), ("t.fits.gz", FitsFormat), ("t.fit", FitsFormat)],
)
def test_format_inferred_from_extension(name, cls):
    assert type(format_for(Path(name))) is cls


def test_declared_format_wins_over_extension(tmp_path: Path):
    small_frame().drop(columns="arr").to_csv(tmp_path / "table.txt", index=False)
    pool = _pool(tmp_path, "table.txt", format="csv")
    assert pool.n == 6
    with pytest.raises(DataError, match=r"table\.txt: unknown format .* csv, fits, parquet"):
        _pool(tmp_path, "table.txt")


def test_declared_unknown_format_at_load_is_config_error():
    with pytest.raises(ConfigError, match="did you mean 'fits'"):
        format_for(Path("x.dat"), "fitz")


@pytest.mark.parametrize("name", ["table.csv", "table.parquet"])
def test_csv_and_parquet_round_trip(tmp_path: Path, name):
    frame = small_frame().drop(columns="arr")
    (frame.to_csv if name.endswith("csv") else frame.to_parquet)(tmp_path / name, index=False)
    pool = _pool(tmp_path, name)
    assert list(pool.ids) == ["10", "11", "12", "13", "14", "15"]
    assert pool.feature_names == ["a", "b", "region=BLG", "region=LMC", "region=SMC"]
    np.testing.assert_array_equal(pool.X[:, 0], frame["a"].to_numpy(np.float32))
    np.testing.assert_array_equal(np.isnan(pool.X[:, 1]), frame["b"].isna().to_numpy())
    assert list(pool.ground_truth) == list(frame["label"])


def test_fits_round_trip(tmp_path: Path):
    from astropy.table import MaskedColumn, Table

    n = 5
    table = Table()
    table["id"] = np.arange(100, 100 + n, dtype=">i8")  # FITS is big-endian
    table["flux"] = np.linspace(0.0, 1.0, n).astype(">f8")
    table["band"] = np.array([b"g", b"r", b"i", b"r", b"g"])  # byte strings
    table["spectrum"] = np.arange(n * 4, dtype=">f4").reshape(n, 4)  # a 4-element vector per row
    table["count"] = MaskedColumn([1, 2, 3, 4, 5], mask=[False, True, False, False, False], dtype=">i4")
    table["label"] = ["star", "galaxy", "star", "qso", "star"]
    table.write(tmp_path / "cat.fits", format="fits")

    spec = DataSpec.from_dict(
        {
            "sources": ["cat.fits"],
            "id_column": "id",
            "features": {"numeric": ["flux", "count"], "categorical": ["band"], "arrays": ["spectrum"]},
            "ground_truth": "label",
        },
        base_dir=tmp_path,
    )
    pool = load_pool(spec)
    assert list(pool.ids) == ["100", "101", "102", "103", "104"]
    assert pool.frame["flux"].dtype.isnative and pool.frame["id"].dtype.isnative
    assert list(pool.frame["band"]) == ["g", "r", "i", "r", "g"]  # decoded str, not bytes
    assert pool.feature_names == [
        "flux", "count", "band=g", "band=i", "band=r", "spectrum[0]", "spectrum[1]", "spectrum[2]", "spectrum[3]"
    ]
    np.testing.assert_allclose(pool.X[:, 0], np.linspace(0.0, 1.0, n))
    assert np.isnan(pool.X[1, 1]) and pool.X[2, 1] == 3.0  # masked integer → NaN
    np.testing.assert_array_equal(pool.X[:, 5:], np.arange(n * 4, dtype=np.float32).reshape(n, 4))
    assert isinstance(pool.detail(0)["spectrum"], np.ndarray)
    assert pool.classes == ["galaxy", "qso", "star"]


def test_fits_without_table_is_data_error(tmp_path: Path):
    from astropy.io import fits

    fits.PrimaryHDU(np.zeros((2, 2))).writeto(tmp_path / "image.fits")
    with pytest.raises(DataError, match=r"image\.fits: cannot read as fits"):
        _pool(tmp_path, "image.fits")
