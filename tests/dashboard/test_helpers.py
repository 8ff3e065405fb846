"""Filters, selection geometry, the feature space and the key map."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alabel.core.config import ClassSpec
from alabel.core.errors import DataError
from alabel.dashboard.features import FeatureSpace
from alabel.dashboard.filters import Filter, filter_mask, parse_filter
from alabel.dashboard.geometry import nearest_row, rows_in_box, rows_in_geometry, rows_in_polygon
from alabel.dashboard.keys import KeyMap

FRAME = pd.DataFrame({
    "mag": [10.0, 12.5, np.nan, 15.0],
    "region": pd.Categorical(["BLG", "LMC", "SMC", "LMC"]),
    "name": ["RCB star", "Cepheid", "rcb-like", None],
    "flag": [True, False, True, False],
    "spectrum": [np.zeros(3)] * 4,
})


@pytest.mark.parametrize("column, op, text, rows", [
    ("mag", ">", "11", [1, 3]),
    ("mag", "<=", "12.5", [0, 1]),
    ("mag", "is missing", None, [2]),
    ("region", "==", "LMC", [1, 3]),
    ("region", "!=", "LMC", [0, 2]),
    ("name", "contains", "rcb", [0, 2]),
    ("flag", "==", "true", [0, 2]),
])
def test_filters_match_rows(column, op, text, rows):
    f = parse_filter(FRAME, column, op, text)
    assert list(np.flatnonzero(filter_mask(FRAME, [f]))) == rows


@pytest.mark.parametrize("column, op, text, message", [
    ("magg", ">", "1", "column 'magg' is not in the data (did you mean 'mag'?)"),
    ("mag", ">", "bright", "'bright' is not a number (column 'mag' is numeric)"),
    ("mag", "~", "1", "operator '~' is not one of"),
    ("name", ">", "a", "column 'name' holds text; use ==, != or contains"),
    ("mag", ">", "", "type a value"),
    ("spectrum", "==", "1", "column 'spectrum' is not in the data"),
])
def test_bad_filters_name_the_column(column, op, text, message):
    with pytest.raises(DataError, match="^filter: ") as info:
        parse_filter(FRAME, column, op, text)
    assert message in str(info.value)


def test_filters_combine_with_and():
    filters = [Filter("mag", ">", 11.0), Filter("region", "==", "LMC")]
    assert list(np.flatnonzero(filter_mask(FRAME, filters))) == [1, 3]
    assert filter_mask(FRAME, []).all()


X = np.array([0.0, 1.0, 2.0, 3.0, np.nan], dtype=np.float32)
Y = np.array([0.0, 1.0, 2.0, 3.0, 1.0], dtype=np.float32)


def test_box_and_polygon_selection_ignore_nan():
    assert list(rows_in_box(X, Y, 2.5, 0.5, 0.5, 2.5)) == [1, 2]
    triangle = ([-0.5, 3.5, -0.5], [-0.5, 3.5, 3.5])  # above the diagonal, and the diagonal's points
    inside = rows_in_polygon(X, Y, *triangle)
    assert set(inside) <= {0, 1, 2, 3} and 4 not in inside
    assert list(rows_in_geometry(X, Y, {"type": "rect", "x0": 0, "x1": 1, "y0": 0, "y1": 1})) == [0, 1]
    square = {"type": "poly", "x": [0.5, 2.5, 2.5, 0.5], "y": [0.5, 0.5, 2.5, 2.5]}
    assert list(rows_in_geometry(X, Y, square)) == [1, 2]
    with pytest.raises(ValueError):
        rows_in_geometry(X, Y, {"type": "point"})


def test_nearest_row_respects_the_pixel_radius():
    assert nearest_row(X, Y, 1.1, 0.9, x_per_pixel=0.1, y_per_pixel=0.1) == 1
    assert nearest_row(X, Y, 1.5, 1.5, x_per_pixel=0.01, y_per_pixel=0.01) is None


def test_nearest_neighbours_and_pca():
    rng = np.random.default_rng(0)
    X2 = np.vstack([rng.normal(0, 0.1, (50, 4)), rng.normal(5, 0.1, (50, 4))]).astype(np.float32)
    X2[3, 2] = np.nan  # imputed, not fatal
    space = FeatureSpace(X2, seed=0, fit_rows=30)
    near = space.nearest(0, k=10)
    assert len(near) == 10 and 0 not in near and (near < 50).all()
    assert list(space.nearest(0, k=3, exclude=near[:2])) == list(near[2:5])
    pca = space.pca()
    assert pca.shape == (100, 2) and np.isfinite(pca).all()
    assert abs(pca[:50, 0].mean() - pca[50:, 0].mean()) > 3  # the two blobs separate on pca_1
    assert np.array_equal(pca, FeatureSpace(X2, seed=0, fit_rows=30).pca())  # seeded


def test_key_map():
    classes = [ClassSpec("LPV", "#000", "1"), ClassSpec("Cep", "#111", "c")]
    keymap = KeyMap(classes, {"accept": "Enter", "skip": "s"})
    assert keymap.resolve("1").label == "LPV"
    assert keymap.resolve("C").label == "Cep"  # Caps Lock does not change a letter's meaning
    assert keymap.resolve("S").action == "skip"
    assert keymap.resolve("x") is None
    assert keymap.key_of("label", "Cep") == "c"
