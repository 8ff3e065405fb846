"""The example data sets shipped in example_data/ load with the expected sizes."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from alabel.core.data import DataSpec, load_pool

EXAMPLES = Path(__file__).resolve().parents[3] / "example_data"

CASES = {
    "ogle3": (
        {
            "sources": ["ogle3_variable_stars.parquet"],
            "id_column": "id",
            "features": {
                "numeric": ["mag_I", "mag_V", "color_VI", "log10_period", "amplitude_I", "R21", "phi21", "R31", "phi31"],
                "categorical": ["region"],
            },
            "ground_truth": "label",
        },
        18_570, 8, 12,
    ),
    "portal": (
        {
            "sources": ["portal_rodents.parquet"],
            "id_column": "id",
            "features": {"numeric": ["hindfoot_length", "weight", "year", "month"],
                         "categorical": ["sex", "plot_type"]},
            "ground_truth": "label",
        },
        30_676, 9, 4 + 2 + 5,
    ),
    "digits": (
        {
            "sources": ["digits.parquet"],
            "id_column": "id",
            "features": {"numeric": [f"px_{i}" for i in range(64)]},
            "ground_truth": "label",
            "detail": [{"column": "image_path", "kind": "image"}],
        },
        1_797, 10, 64,
    ),
    "icd10": (
        {
            "sources": ["icd10cm_descriptions.parquet"],
            "id_column": "id",
            "features": {"embeddings": [{"column": "text", "featurizer": "tfidf", "params": {"n_components": 16}}]},
            "ground_truth": "label",
            "detail": [{"column": "text", "kind": "text"}],
        },
        9_212, 10, 16,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_example_dataset_loads(name, tmp_path):
    d, rows, classes, width = CASES[name]
    pool = load_pool(DataSpec.from_dict(d, base_dir=EXAMPLES), require_ground_truth=True, cache_dir=tmp_path)
    assert pool.n == rows
    assert len(pool.classes) == classes
    assert pool.X.shape == (rows, width)
    assert len(set(pool.ids)) == rows


def test_ogle_keeps_nan_fourier_parameters():
    d = CASES["ogle3"][0]
    pool = load_pool(DataSpec.from_dict(d, base_dir=EXAMPLES))
    lpv = pool.ground_truth == "LPV"
    assert np.isnan(pool.X[lpv, pool.feature_names.index("R21")]).all()  # missing by design, kept
    assert Counter(pool.ground_truth)["RCB"] == 18


def test_digits_images_are_confined_and_match_the_pixels():
    from PIL import Image

    pool = load_pool(DataSpec.from_dict(CASES["digits"][0], base_dir=EXAMPLES))
    assert pool.frame["label"].tolist()[:10] == [str(i) for i in range(10)]
    path = pool.resolve_path(pool.detail(3)["image_path"])
    assert path == (EXAMPLES / "digits_images" / "00003.png").resolve()
    image = np.asarray(Image.open(path))
    assert image.shape == (32, 32)
    # Nearest-neighbour ×4 of the 8×8 digit, ink (16) dark on white (0 → 255).
    pixels = pool.X[3].reshape(8, 8)
    np.testing.assert_array_equal(image[::4, ::4], (255 - np.round(pixels * 255 / 16)).astype(np.uint8))
    assert len(list((EXAMPLES / "digits_images").glob("*.png"))) == 1_797
