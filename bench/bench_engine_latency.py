"""Label → next query through the engine API, on the shipped ``config.yaml``.

    .venv/bin/python bench/bench_engine_latency.py [--labels 60] [--pace 0.3] [--tag new]

What a person labelling at a brisk pace sees, without a browser: the shipped
session (OGLE-III, the ``auto`` head and strategy, the thread backend, all as
``config.yaml`` ships them) in a fresh label store; one label every ``pace``
seconds (the oracle answers with the ground truth of the queried object), and
after each label a query of one object, as a labelling page asks for the next
object. The timed span is ``teach`` + ``query(1)``: label → next query, from
the very first label, cold start (no model yet) included, with retrains and
evaluations running in the trainer thread in between.

Two floors are timed just before every label in the same process: a trivial
operation (a fixed small Python workload), which shows what the machine's
load and the trainer thread's share of the interpreter cost any call at that
moment, and a trivial durable write (one row committed to a SQLite file beside
the label store, ``synchronous=FULL`` as the store commits), which shows what
the disk costs a label at that moment. The label → query figures are read
against them, not as absolute times (the machines are shared and noisy: the
load average is reported beside them). ``teach`` and ``query`` are also timed
apart.

``--tag`` names the code measured (e.g. ``old`` for a run with
``PYTHONPATH`` pointing at a checkout of the previous code); each run appends
one summary row to ``bench/results/engine_latency.csv`` and writes its
per-label timings next to it.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]


def trivial() -> int:
    """The floor's workload: a fixed bit of pure Python (about 0.2 ms on an idle machine).

    It holds the interpreter for its whole length, so it pays for the trainer
    thread's share of it and for the machine's load like the session's calls do.
    """
    return sum(i * i for i in range(3000))


class DurableWrite:
    """One row committed to a SQLite file with ``synchronous=FULL``: the floor of a durable label."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE t (x INTEGER)")

    def __call__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO t VALUES (1)")
        self.db.execute("COMMIT")


def shipped_config(folder: Path, config: Path) -> Path:
    """``config`` with its data path made absolute and its store and models in ``folder``."""
    spec = yaml.safe_load(config.read_text())
    for source in spec["data"]["sources"]:
        source["path"] = str((config.parent / source["path"]).resolve())
    spec["labels"]["store"] = str(folder / "labels.sqlite")
    spec["labels"]["models"] = str(folder / "models")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def percentiles(values) -> dict:
    values = np.asarray(values, dtype=np.float64) * 1000.0
    return {"p50_ms": float(np.percentile(values, 50)), "p95_ms": float(np.percentile(values, 95)),
            "max_ms": float(values.max())}


def run(config: Path, labels: int, pace: float) -> tuple[pd.DataFrame, dict]:
    from alabel.core.session import Session

    with tempfile.TemporaryDirectory(prefix="alabel-engine-bench-") as tmp:
        path = shipped_config(Path(tmp), config)
        started = time.perf_counter()
        session = Session.from_config(path)
        opened = time.perf_counter()
        truth = np.asarray(session.pool.ground_truth).astype(str)
        load_start = os.getloadavg()[0]
        t0 = time.perf_counter()
        item = session.query(1)[0]
        first_query_s = time.perf_counter() - t0
        durable = DurableWrite(Path(tmp) / "floor.sqlite")
        records = []
        clock = time.perf_counter()
        for i in range(labels):
            wait = clock + i * pace - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            f0 = time.perf_counter()
            trivial()
            floor = time.perf_counter() - f0
            f0 = time.perf_counter()
            durable()
            floor_write = time.perf_counter() - f0
            state = session.status.state
            model = session.model
            t0 = time.perf_counter()
            session.teach(item.object_id, truth[item.row])
            t1 = time.perf_counter()
            item = session.query(1)[0]
            elapsed = time.perf_counter() - t0
            records.append({"label": i + 1, "latency_s": elapsed, "teach_s": t1 - t0, "query_s": elapsed - (t1 - t0),
                            "floor_s": floor, "floor_write_s": floor_write, "trainer": state,
                            "model_version": model.version if model else None,
                            "strategy": item.strategy, "load": os.getloadavg()[0]})
        session.close()
    table = pd.DataFrame(records)
    info = {"open_s": opened - started, "first_query_s": first_query_s, "load_start": load_start,
            "load_end": os.getloadavg()[0], "threads": threading.active_count()}
    return table, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--labels", type=int, default=60)
    parser.add_argument("--pace", type=float, default=0.3, help="seconds between labels")
    parser.add_argument("--tag", default="new", help="which code this run measures (old, new, ...)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "engine_latency.csv")
    args = parser.parse_args()
    import alabel.core as core

    print(f"measuring the code in {Path(core.__file__).parent}", flush=True)
    table, info = run(args.config, args.labels, args.pace)
    lat, floor = percentiles(table["latency_s"]), percentiles(table["floor_s"])
    write, teach, query = (percentiles(table[c]) for c in ("floor_write_s", "teach_s", "query_s"))
    cold = table[table["model_version"].isna()]
    row = {"tag": args.tag, "when": time.strftime("%Y-%m-%d %H:%M"), "labels": len(table),
           "pace_s": args.pace, **{f"latency_{k}": round(v, 1) for k, v in lat.items()},
           "cold_labels": len(cold),
           "cold_p50_ms": round(float(cold["latency_s"].median() * 1000), 1) if len(cold) else None,
           **{f"teach_{k}": round(v, 1) for k, v in teach.items()},
           **{f"query_{k}": round(v, 1) for k, v in query.items()},
           **{f"floor_{k}": round(v, 3) for k, v in floor.items()},
           **{f"floor_write_{k}": round(v, 2) for k, v in write.items()},
           "first_query_ms": round(info["first_query_s"] * 1000, 1), "open_s": round(info["open_s"], 2),
           "load_start": round(info["load_start"], 2), "load_end": round(info["load_end"], 2),
           "last_model_version": table["model_version"].dropna().max()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Rewritten whole: rows of older runs keep their columns when this one adds some.
    earlier = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame()
    pd.concat([earlier, pd.DataFrame([row])], ignore_index=True).to_csv(args.out, index=False)
    table.to_csv(args.out.with_name(f"engine_latency_{args.tag}_labels.csv"), index=False)
    print(table.to_string(max_rows=200), file=sys.stderr)
    print("| code | labels | p50 (ms) | p95 (ms) | max (ms) | teach p95 / max | query p95 / max "
          "| cold-start p50 | trivial op p50/p95/max | durable write p50/p95/max | first query (ms) | load avg |")
    print("|---|---:|---:|---:|---:|---|---|---:|---|---|---:|---:|")
    print(f"| {args.tag} | {row['labels']} | {row['latency_p50_ms']:.0f} | {row['latency_p95_ms']:.0f} "
          f"| {row['latency_max_ms']:.0f} | {row['teach_p95_ms']:.0f} / {row['teach_max_ms']:.0f} "
          f"| {row['query_p95_ms']:.0f} / {row['query_max_ms']:.0f} | {row['cold_p50_ms'] or 0:.0f} "
          f"| {row['floor_p50_ms']:.2f} / {row['floor_p95_ms']:.2f} / {row['floor_max_ms']:.2f} "
          f"| {row['floor_write_p50_ms']:.1f} / {row['floor_write_p95_ms']:.1f} / {row['floor_write_max_ms']:.1f} "
          f"| {row['first_query_ms']:.0f} | {row['load_start']:.1f}–{row['load_end']:.1f} |")


if __name__ == "__main__":
    main()
