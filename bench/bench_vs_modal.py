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

`--defaults` (issue 12, freshness): alabel runs its defaults (no `head:`, `strategy:` or
`training:` in the config: the `auto` head and strategy, thread backend) against two
synchronous loops measured in the same run: modAL's (logistic regression + margin, as above)
and a random-forest loop (scikit-learn's `RandomForestClassifier` with its defaults, the
forest of alabel's `auto` ladder: fit on all labels, score the whole pool, take the top margin,
per label). Each row carries the load average before and after it, and a machine-speed floor
(a fixed numpy sort) timed in the same run.

    python bench/bench_vs_modal.py [--sizes 10000 100000 1000000] [--steps 15]
    python bench/bench_vs_modal.py --defaults --sizes 100000 --out bench/results/vs_modal_defaults.csv --append
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


def bench_forest(X, y, start, steps):
    """A synchronous random-forest loop: per label, fit on all labels, score the pool, top margin."""
    from sklearn.ensemble import RandomForestClassifier

    candidate = np.ones(len(X), dtype=bool)
    candidate[start] = False
    labelled = list(start)

    def fit_and_pick():
        forest = RandomForestClassifier(random_state=0).fit(X[labelled], y[labelled])
        proba = forest.predict_proba(X)
        top2 = np.partition(proba, -2, axis=1)[:, -2:] if proba.shape[1] > 1 else np.c_[proba, proba]
        margin = top2[:, 1] - top2[:, 0]
        margin[~candidate] = np.inf
        return int(np.argmin(margin))

    row = fit_and_pick()
    latencies = []
    for _ in range(steps):
        t0 = time.perf_counter()
        labelled.append(row)
        candidate[row] = False
        row = fit_and_pick()
        latencies.append(time.perf_counter() - t0)
    return np.array(latencies)


def speed_floor(repeats: int = 7) -> np.ndarray:
    """A fixed piece of work (sorting 200k random floats): how fast the machine is right now."""
    values = np.random.default_rng(0).random(200_000)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.sort(values)
        times.append(time.perf_counter() - t0)
    return np.array(times)


def bench_alabel(X, y, start, steps, folder: Path, defaults: bool = False, training: dict | None = None):
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
    if defaults:  # alabel as a new user runs it: the auto head and strategy, the default trainer
        del cfg["head"], cfg["strategy"], cfg["training"]
        if training:
            cfg["training"] = dict(training)
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    served, fresh, step_log = [], [], []
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
            step_log.append({"step": len(fresh), "ms": 1000 * fresh[-1], "version": model.version,
                             "n_labels": model.n_labels, "head": str(getattr(model.head, "chosen_", "")),
                             "train_s": model.train_seconds, "load": os.getloadavg()[0]})
            print(step_log[-1], file=sys.stderr, flush=True)
        chosen = getattr(session.model.head, "chosen_", "")
    bench_alabel.last_info = {"versions": int(session.model.version), "head": str(chosen)}
    bench_alabel.last_steps = step_log
    return np.array(served), np.array(fresh)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--defaults", action="store_true",
                        help="alabel's defaults (auto head and strategy) against modAL and a random-forest loop")
    parser.add_argument("--out", type=Path, default=None, help="CSV to write (default bench/results/vs_modal.csv)")
    parser.add_argument("--append", action="store_true", help="append to --out instead of replacing it")
    parser.add_argument("--systems", nargs="+", default=["modal", "forest", "alabel"],
                        choices=["modal", "forest", "alabel"], help="with --defaults: which loops to run")
    parser.add_argument("--alabel-steps", type=int, default=None,
                        help="with --defaults: labels of each alabel loop (default --steps)")
    parser.add_argument("--coalesce", type=float, default=None,
                        help="with --defaults: set training.coalesce_s (else the default)")
    parser.add_argument("--steps-out", type=Path, default=None,
                        help="with --defaults: CSV of alabel's fresh steps (latency, model version, chosen head)")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.defaults:
        return main_defaults(args)
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
    table.to_csv(args.out or RESULTS / "vs_modal.csv", index=False)
    print(markdown(table))
    return 0


def main_defaults(args) -> int:
    """Freshness with alabel's defaults against two synchronous loops, with load and floor."""
    import subprocess

    out = args.out or RESULTS / "vs_modal_defaults.csv"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    training = None if args.coalesce is None else {"coalesce_s": args.coalesce}
    label = "" if training is None else f", coalesce_s {args.coalesce:g}"
    rows = []
    earlier = pd.read_csv(out) if args.append and out.exists() else None

    def save():  # after every row: a run cut short by its timeout keeps what it measured
        table = pd.DataFrame(rows)
        if earlier is not None:
            table = pd.concat([earlier, table], ignore_index=True)
        table.to_csv(out, index=False)
        return table

    for n in args.sizes:
        X, y = synthetic_pool(n)
        start = np.random.default_rng(1).choice(n, START, replace=False)
        floor_before = speed_floor()

        def timed(name, run):
            load0 = os.getloadavg()[0]
            values = run()
            row = {"commit": commit, "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "rows": n,
                   "system": name, "median_ms": 1000 * np.median(values),
                   "p95_ms": 1000 * np.percentile(values, 95), "max_ms": 1000 * np.max(values),
                   "steps": len(values), "load_before": load0, "load_after": os.getloadavg()[0],
                   "floor_sort_median_ms": 1000 * np.median(floor_before)}
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
            save()
            return values

        if "modal" in args.systems:
            timed("modAL teach+query (logreg, margin)", lambda: bench_modal(X, y, start, args.steps))
        if "forest" in args.systems:
            timed("random forest fit+score+margin (sync)", lambda: bench_forest(X, y, start, args.steps))
        if "alabel" not in args.systems:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            result = {}

            def run_alabel():
                result["served"], result["fresh"] = bench_alabel(X, y, start, steps, Path(tmp), defaults=True,
                                                                 training=training)
                return result["fresh"]
            steps = args.alabel_steps or args.steps
            timed(f"alabel defaults{label} (b) label→query from updated model", run_alabel)
            rows[-1].update(bench_alabel.last_info)
            served = result["served"]
            rows.append({**rows[-1], "system": f"alabel defaults{label} (a) label→next query",
                         "median_ms": 1000 * np.median(served), "p95_ms": 1000 * np.percentile(served, 95),
                         "max_ms": 1000 * np.max(served)})
            if args.steps_out is not None:
                frame = pd.DataFrame(bench_alabel.last_steps).assign(rows=n, commit=commit,
                                                                     coalesce_s=args.coalesce)
                if args.steps_out.exists():
                    frame = pd.concat([pd.read_csv(args.steps_out), frame], ignore_index=True)
                frame.to_csv(args.steps_out, index=False)
        floor = np.concatenate([floor_before, speed_floor()])
        for r in rows:
            if r["rows"] == n:
                r["floor_sort_median_ms"] = 1000 * np.median(floor)
    print(save().to_string())
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
