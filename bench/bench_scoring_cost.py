"""What one model costs to score over the pool, per candidate of the ``auto`` head (issue 12, freshness).

Each candidate of the ``auto`` ladder (and their mean, the ``ensemble`` option) is fitted
on the same random labels of the synthetic pool of ``bench_vs_modal.py`` (Gaussian blobs,
D = 16, C = 5) and then scores the whole pool the way a retrain does
(``core.training.retrain.predict_proba_chunked``: float32 chunks, BLAS/OpenMP on
``scoring_threads()`` threads). Fit and scoring are timed separately, three repeats, with
the load average and a machine-speed floor (a fixed numpy sort) of the same run.

    python bench/bench_scoring_cost.py [--rows 1000000] [--labels 60] [--out bench/results/scoring_cost.csv]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vs_modal import C, ROOT, speed_floor, synthetic_pool  # noqa: E402


def tree_counts(head) -> dict:
    """Trees and their nodes that one row of the pool walks through (0 for a linear head)."""
    model = head.pipeline_.steps[-1][1]
    if hasattr(model, "_predictors"):  # boosting: one tree per class per iteration
        trees = [tree for iteration in model._predictors for tree in iteration]
        return {"trees": len(trees), "nodes": int(sum(len(t.nodes) for t in trees))}
    if hasattr(model, "estimators_"):
        return {"trees": len(model.estimators_), "nodes": int(sum(e.tree_.node_count for e in model.estimators_))}
    return {"trees": 0, "nodes": 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--labels", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scoring_cost.csv")
    args = parser.parse_args()
    from alabel.core.heads import build_head
    from alabel.core.heads.adaptive import DEFAULT_CANDIDATES
    from alabel.core.training.retrain import _thread_limits, predict_proba_chunked

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    classes = [f"c{k}" for k in range(C)]
    specs = {c["type"]: {k: v for k, v in c.items() if k != "min_labels"} for c in DEFAULT_CANDIDATES}
    rows = []
    for n in args.rows:
        X, y = synthetic_pool(n)
        labelled = np.random.default_rng(1).choice(n, args.labels, replace=False)
        floor = speed_floor()
        fitted = {}
        for name, spec in specs.items():
            for repeat in range(args.repeats):
                load = os.getloadavg()[0]
                t0 = time.perf_counter()
                with _thread_limits(args.labels):  # as a retrain fits (one thread below 2,000 labels)
                    head = build_head(spec, classes=classes, random_state=0).fit(X[labelled], y[labelled])
                fit_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                predict_proba_chunked(head, X)
                score_s = time.perf_counter() - t0
                fitted[name] = head
                rows.append({"commit": commit, "rows": n, "labels": args.labels, "head": name, "repeat": repeat,
                             "fit_s": fit_s, "score_s": score_s, "load": load, **tree_counts(head),
                             "floor_sort_median_ms": 1000 * np.median(floor)})
                print(rows[-1], file=sys.stderr, flush=True)
        ensemble = sum(r["score_s"] for r in rows[-3 * args.repeats:] if r["repeat"] == args.repeats - 1)
        print(f"n={n}: the ensemble scores with all three: ~{ensemble:.1f} s per model", file=sys.stderr)
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.groupby(["rows", "head"])[["fit_s", "score_s", "trees", "nodes", "load"]].median().to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
