"""Cold start (issue 15, step 5b): does coverage on clipped coordinates spend the first 20 labels
better? Tuning group only.

Typical coverage clusters standardised features; a rare one-hot level (a category of 2 % is
7 standard deviations from its column's mean) or an outlier then makes a cluster of its own, and
coverage spends a label on it. The variant clips the standardised coordinates to ±``CLIP`` before
clustering (``typical_clipped``), so such rows join their neighbours instead. Measured with
bench_wider.py's cold-start harness (logistic regression at 20 labels, the auto head's first rung)
against random, entropy and the shipped typical start, on the same splits.

    nice -n 10 python bench/bench_cold_start_clip.py --seed-list 0 1 2 3 4
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_wider
from alabel.core.strategies import cold_start
from datasets import TUNING

CLIP = 2.0


def clipped_study(names, seeds) -> pd.DataFrame:
    shipped = bench_wider.cold_start_study(names, seeds)
    shipped = shipped[shipped["start"].isin(["random", "entropy", "typical"])]
    original = cold_start.embed

    def clipped(X, rows, random_state, **kw):
        return np.clip(original(X, rows, random_state, **kw), -CLIP, CLIP)

    cold_start.embed = clipped
    try:
        variant = bench_wider.cold_start_study(names, seeds)
    finally:
        cold_start.embed = original
    variant = variant[variant["start"] == "typical"].assign(start="typical_clipped")
    return pd.concat([shipped, variant], ignore_index=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(TUNING))
    parser.add_argument("--seed-list", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args(argv)
    table = clipped_study(args.datasets, args.seed_list)
    table.to_csv(bench_wider.RESULTS / "cold_start_clip.csv", index=False)
    wide = table.pivot_table(index=["dataset", "seed"], columns="start", values="accuracy")
    for start in ("random", "entropy", "typical_clipped"):
        d = wide["typical_clipped"] - wide[start] if start != "typical_clipped" else wide["typical_clipped"] - wide["typical"]
        name = "typical" if start == "typical_clipped" else start
        g = d.groupby(level=0)
        print(f"typical_clipped − {name}:", {k: f"{v.mean():+.3f} ± {v.std(ddof=1) / np.sqrt(len(v)):.3f} "
                                              f"({int((v > 0).sum())}/{int((v < 0).sum())})" for k, v in g})
    print(table.groupby(["dataset", "start"]).agg(accuracy=("accuracy", "mean"), worst=("accuracy", "min"),
                                                  classes=("classes_seen", "mean")).round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
