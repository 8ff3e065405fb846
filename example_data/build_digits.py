"""Build the handwritten-digits example from scikit-learn's bundled copy.

Writes ``digits.parquet`` (1,797 rows: ``id``, ``label`` '0'..'9', pixel
columns ``px_0``..``px_63`` as float32 in 0..16, ``image_path``) and one PNG per
digit in ``digits_images/`` (8x8 upscaled x4, dark ink on white).

The data are the UCI "Optical Recognition of Handwritten Digits" test set
shipped inside scikit-learn (no download). The output is deterministic: run
``python example_data/build_digits.py`` to rebuild it byte for byte.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.datasets import load_digits

SCALE = 4
IMAGE_DIR = "digits_images"


def build(out_dir: Path) -> pd.DataFrame:
    """Write the Parquet file and the images into ``out_dir``; return the table."""
    digits = load_digits()
    images = digits.images  # (n, 8, 8), values 0..16
    n = len(images)
    (out_dir / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        # 16 = full ink; draw ink dark on white so the thumbnails read like paper.
        gray = (255 - np.round(image * (255 / 16))).astype(np.uint8)
        big = Image.fromarray(gray, mode="L").resize((8 * SCALE, 8 * SCALE), Image.Resampling.NEAREST)
        rel = f"{IMAGE_DIR}/{i:05d}.png"
        big.save(out_dir / rel, optimize=True)
        paths.append(rel)
    pixels = digits.data.astype(np.float32)
    frame = pd.DataFrame({"id": np.arange(n, dtype=np.int64), "label": [str(t) for t in digits.target]})
    frame = pd.concat(
        [frame, pd.DataFrame(pixels, columns=[f"px_{j}" for j in range(pixels.shape[1])])], axis=1
    )
    frame["image_path"] = paths
    frame.to_parquet(out_dir / "digits.parquet", index=False)
    return frame


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    table = build(out)
    print(f"wrote {len(table)} digits to {out}")
