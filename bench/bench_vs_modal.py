"""Speed against modAL: label → next query, on pools of 10k, 100k and 1M rows.

Same head (scikit-learn logistic regression on standardised features), same strategy (margin),
same synthetic pool (Gaussian blobs, D=16, C=5), 50 random start labels, then each step labels
the top query. Two latencies, both measured per label (median and p95 over the steps):

(a) label → next query served: modAL `teach` retrains before `query` can answer; alabel's
    `teach` commits the label to SQLite and returns, and `query` answers from the newest
    finished model while the retrain runs in the background;
(b) label → a query from a model that has seen that label: alabel waits until its background
    retrain has published a model of that label revision (`wait_for_revision`) before querying. Background training must not win (a) by
    hiding (b), so both are reported.

modAL's `ActiveLearner.teach` is broken on scikit-learn >= 1.8 (`force_all_finite` was
renamed, modAL issue #196); a small compatibility shim is applied here, in the benchmark only.

    python bench/bench_vs_modal.py [--sizes 10000 100000 1000000] [--steps 15]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
D, C, START = 16, 5, 50


def synthetic_pool(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(C, D))
    y = rng.integers(0, C, size=n)
    X = (centres[y] + rng.normal(size=(n, D))).astype(np.float32)
    return X, np.array([f"c{k}" for k in y])


def modal_shim():
    """Make modAL's teach work on scikit-learn >= 1.8 (benchmark only)."""
    import modAL.models.learners as learners
    from sklearn.utils import check_X_y

    def patched(*args, force_all_finite=True, **kwargs):
        return check_X_y(*args, ensure_all_finite=force_all_finite, **kwargs)

    learners.check_X_y = patched


def make_head():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def bench_modal(X, y, start, steps):
    from modAL.models import ActiveLearner
    from modAL.uncertainty import margin_sampling

    modal_shim()
    candidates = np.setdiff1d(np.arange(len(X)), start)
    learner = ActiveLearner(estimator=make_head(), query_strategy=margin_sampling,
                            X_training=X[start], y_training=y[start])
    idx, _ = learner.query(X[candidates])
    latencies = []
    for _ in range(steps):
        row = candidates[idx[0]]
        t0 = time.perf_counter()
        learner.teach(X[[row]], y[[row]])
        candidates = candidates[candidates != row]
        idx, _ = learner.query(X[candidates])
        latencies.append(time.perf_counter() - t0)
    return np.array(latencies)


def bench_alabel(X, y, start, steps, folder: Path):
    from alabel.core.session import Session

    n = len(X)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(D)])
    frame.insert(0, "id", np.arange(n))
    frame["truth"] = y
    frame.to_parquet(folder / "pool.parquet", index=False)
    cfg = {
        "data": {"sources": [{"path": "pool.parquet"}], "id_column": "id",
                 "features": {"numeric": [f"f{j}" for j in range(D)]}, "ground_truth": "truth"},
        "classes": [f"c{k}" for k in range(C)],
        "head": {"type": "logistic_regression", "scale": True, "params": {"max_iter": 2000}},
        "strategy": {"type": "margin"},
        "training": {"coalesce_s": 0.0},
        "labels": {"store": "labels.sqlite", "models": "models"},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    served, fresh = [], []
    with Session.from_config(folder / "config.yaml", annotator="bench") as session:
        session.teach_many(session.pool.ids[start], y[start])
        session.wait_for_model(timeout=600)
        item = session.query(1, lease=False)[0]
        for _ in range(steps):  # (a): label -> next query served
            t0 = time.perf_counter()
            session.teach(item.object_id, y[item.row])
            item = session.query(1, lease=False)[0]
            served.append(time.perf_counter() - t0)
        session.wait_for_model(timeout=600)
        item = session.query(1, lease=False)[0]
        for _ in range(steps):  # (b): label -> query from a model that has seen the label
            t0 = time.perf_counter()
            event = session.teach(item.object_id, y[item.row])
            model = session.wait_for_revision(event.seq, timeout=600)
            item = session.query(1, lease=False)[0]
            fresh.append(time.perf_counter() - t0)
            assert item.model_version == model.version
    return np.array(served), np.array(fresh)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=15)
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        X, y = synthetic_pool(n)
        start = np.random.default_rng(1).choice(n, START, replace=False)
        modal = bench_modal(X, y, start, args.steps)
        with tempfile.TemporaryDirectory() as tmp:
            served, fresh = bench_alabel(X, y, start, args.steps, Path(tmp))
        for name, values in (("modAL teach+query", modal), ("alabel (a) label→next query", served),
                             ("alabel (b) label→query from updated model", fresh)):
            rows.append({"rows": n, "system": name, "median_ms": 1000 * np.median(values),
                         "p95_ms": 1000 * np.percentile(values, 95)})
        print(f"n={n}: modAL {1000 * np.median(modal):.0f} ms, alabel (a) {1000 * np.median(served):.1f} ms, "
              f"(b) {1000 * np.median(fresh):.0f} ms", file=sys.stderr)
    table = pd.DataFrame(rows)
    table.to_csv(RESULTS / "vs_modal.csv", index=False)
    print(markdown(table))
    return 0


def markdown(table: pd.DataFrame) -> str:
    lines = ["| pool rows | system | median (ms) | p95 (ms) | modAL median / this median |", "|---:|---|---:|---:|---:|"]
    for n, part in table.groupby("rows"):
        base = part.loc[part["system"] == "modAL teach+query", "median_ms"].iloc[0]
        for _, r in part.iterrows():
            lines.append(f"| {n:,} | {r['system']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {base / r['median_ms']:.1f}× |")
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
