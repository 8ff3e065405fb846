"""Label → next query on a PostgreSQL label store against SQLite, in the same run.

    .venv/bin/python bench/bench_store_backends.py [--rows 20000] [--clicks 80] [--labels 300]

One synthetic pool (four Gaussian classes in eight features, seeded) and two
:class:`~core.session.Session` objects over it that differ only in
``labels.store``: a SQLite file, and a schema of a throwaway PostgreSQL
cluster (socket only, ``fsync`` on, as SQLite's ``synchronous=FULL``; the
cluster helper of ``tests/_pg_cluster.py``). Both stores start
with the same ``--labels`` human labels and a trained model (logistic
regression, retrained once, not during the clicks), so the query ranks the
pool with the strategy.

A click is what the labelling page does: ``Session.teach`` (the label is
committed, the served object's lease dropped) then ``Session.query(5)``
(candidates: labels, skips and leases read from the store; the ranking; the
new leases written). The two backends alternate click by click, so machine
noise falls on both alike. A trivial baseline (a 100k-element numpy sum) is
timed in the same loop, and the load average is read before and after.
Prints a markdown table (the one in bench/RESULTS.md) and writes
``bench/results/store_backends.csv``.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("_pg_cluster", REPO / "tests/_pg_cluster.py")
pg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pg)

from alabel.core.config import SessionConfig  # noqa: E402
from alabel.core.session import Session  # noqa: E402

CLASSES = ["A", "B", "C", "D"]


def write_pool(folder: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), rows)
    centres = rng.normal(scale=2.0, size=(len(CLASSES), 8))
    x = centres[y] + rng.normal(size=(rows, 8))
    frame = pd.DataFrame(x.astype("float32"), columns=[f"f{i}" for i in range(8)])
    frame.insert(0, "obj", np.arange(rows))
    frame["truth"] = np.array(CLASSES)[y]
    frame.to_parquet(folder / "pool.parquet", index=False)


def session(folder: Path, store: str) -> Session:
    cfg = {
        "name": "bench", "seed": 0,
        "data": {"sources": [{"path": "pool.parquet"}], "id_column": "obj",
                 "features": {"numeric": [f"f{i}" for i in range(8)]}, "ground_truth": "truth"},
        "classes": CLASSES,
        "head": {"type": "logistic_regression", "scale": True},
        "strategy": {"type": "margin"},
        "loop": {"batch_size": 5, "initial_labels": 0},
        "training": {"coalesce_s": 0.0},
        "labels": {"store": store, "models": "models"},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return Session(SessionConfig.load(folder / "config.yaml"), annotator="bench", background=False,
                   process_leases=True)


def seed_labels(s: Session, n: int) -> None:
    rng = np.random.default_rng(1)
    rows = rng.choice(s.pool.n, n, replace=False)
    truth = s.pool.ground_truth
    s.teach_many([s.pool.ids[r] for r in rows], [str(truth[r]) for r in rows])
    s.retrain()


def click(s: Session, served: list) -> tuple[float, list]:
    """Label the first served object with its true class, then ask for the next ones."""
    item = served[0]
    label = str(s.pool.ground_truth[s._row_index.get_loc(item.object_id)])
    start = time.perf_counter()
    s.teach(item.object_id, label)
    nxt = s.query(5)
    return time.perf_counter() - start, nxt


def baseline(data: np.ndarray) -> float:
    start = time.perf_counter()
    float(data.sum())
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--clicks", type=int, default=80)
    parser.add_argument("--labels", type=int, default=300)
    args = parser.parse_args(argv)
    bin_dir = pg.find_bin()
    if bin_dir is None:
        print(f"PostgreSQL is not installed: {pg.INSTALL_HINT}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    cluster = pg.Cluster(bin_dir, fsync=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            sessions = {}
            for name, store in (("sqlite", "labels.sqlite"), ("postgresql", cluster.url(cluster.new_schema("bench")))):
                folder = root / name
                folder.mkdir()
                write_pool(folder, args.rows)
                sessions[name] = session(folder, store)
                seed_labels(sessions[name], args.labels)
            served = {name: s.query(5) for name, s in sessions.items()}
            times: dict[str, list[float]] = {name: [] for name in sessions}
            times["baseline (numpy sum 100k)"] = []
            data = np.random.default_rng(0).random(100_000)
            for i in range(args.clicks + 5):
                for name, s in sessions.items():
                    took, served[name] = click(s, served[name])
                    if i >= 5:  # the first clicks warm caches and connections
                        times[name].append(took)
                if i >= 5:
                    times["baseline (numpy sum 100k)"].append(baseline(data))
            for s in sessions.values():
                s.close()
    finally:
        cluster.destroy()
    load_after = os.getloadavg()
    rows = []
    for name, values in times.items():
        rows.append({"what": name, "clicks": len(values), "p50_ms": round(pct(values, 50), 2),
                     "p95_ms": round(pct(values, 95), 2), "mean_ms": round(statistics.fmean(values) * 1000, 2)})
    out = REPO / "bench" / "results" / "store_backends.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    ratio50 = rows[1]["p50_ms"] / rows[0]["p50_ms"]
    ratio95 = rows[1]["p95_ms"] / rows[0]["p95_ms"]
    print(f"pool {args.rows} rows, {args.labels} labels before, {args.clicks} clicks per backend; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print("| label → next query | p50 ms | p95 ms | mean ms |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['what']} | {row['p50_ms']} | {row['p95_ms']} | {row['mean_ms']} |")
    print(f"| **PostgreSQL / SQLite** | **{ratio50:.2f}×** | **{ratio95:.2f}×** | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
