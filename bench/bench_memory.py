"""Benchmark: memory of a loaded pool per row (issue 12: ≤ 250 B/row settled at 10M rows × 16 features).

Generates ``rows`` rows of 16 float32 features, a text id and a five-class
ground truth as one Parquet file, then, in a fresh interpreter per size, loads
the pool as ``Session`` does (``core.data.load_pool``) and reports:

* settled: resident memory after loading (garbage collected), minus the
  interpreter with alabel imported, per row;
* peak: ``ru_maxrss`` during the load, minus the same baseline, per row;
* where it goes: bytes per row of each part the pool keeps (the feature
  matrix, the frame's columns, the ids, the id index with its hash table,
  the ground truth), measured with ``nbytes`` / ``memory_usage(deep=True)``.

The baseline of the same run is the size of the raw data: 16 float32 = 64 B/row.

Run:  .venv/bin/python bench/bench_memory.py [--rows 1000000 10000000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

N_FEATURES = 16
CLASSES = ["RRab", "RRc", "Cep", "EB", "LPV"]


def generate(folder: Path, rows: int, seed: int = 0) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    path = folder / f"pool-{rows}.parquet"
    writer = None
    step = 1_000_000
    for start in range(0, rows, step):
        n = min(step, rows - start)
        y = rng.integers(0, len(CLASSES), n)
        columns = {"id": pa.array([f"OGLE-{i:09d}" for i in range(start, start + n)])}
        X = (y[:, None] + rng.normal(size=(n, N_FEATURES))).astype(np.float32)
        columns.update({f"f{j}": pa.array(X[:, j]) for j in range(N_FEATURES)})
        columns["truth"] = pa.array(np.array(CLASSES)[y])
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()
    return path


def write_config(folder: Path, data: Path) -> Path:
    config = {
        "name": "memory", "seed": 0,
        "data": {"sources": [{"path": str(data)}], "id_column": "id", "ground_truth": "truth",
                 "features": {"numeric": [f"f{j}" for j in range(N_FEATURES)]}},
        "labels": {"store": str(folder / "labels.sqlite")},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


MEASURE = r"""
import gc, json, resource, sys, time
import numpy as np

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

from alabel.core.config import SessionConfig
from alabel.core.data import load_pool
config = SessionConfig.load(sys.argv[1])
gc.collect()
base, base_peak = rss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
started = time.perf_counter()
pool = load_pool(config.data)
pool.index_of([str(pool.ids[0])])  # the id index is used at once (the first lookup builds its hash table)
seconds = time.perf_counter() - started
gc.collect()
settled = rss() - base
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
n = pool.n
parts = {"X (float32 features)": pool.X.nbytes}
frame = pool.frame.memory_usage(deep=True, index=True)
for column, size in frame.items():
    key = "frame: features" if str(column).startswith("f") and str(column)[1:].isdigit() else f"frame: {column}"
    parts[key] = parts.get(key, 0) + int(size)
ids = pool.ids
def objects(values):  # distinct objects only: rows may share one str (a class name)
    return sum(sys.getsizeof(v) for v in {id(v): v for v in values}.values()) if values.dtype == object else 0
parts["ids"] = int(ids.nbytes + objects(ids))
index = getattr(pool, "_index", None)
if index is not None:
    parts["id index (hash table)"] = int(index._engine.sizeof()) if hasattr(index._engine, "sizeof") else 0
truth = pool.ground_truth
if truth is not None:
    parts["ground truth"] = int(truth.nbytes + objects(truth))
print(json.dumps({"rows": n, "seconds": seconds, "settled": settled, "peak": peak,
                  "parts": {k: v / n for k, v in parts.items()}}))
"""


def measure(config: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(config)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"measuring {config} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="alabel-memory-") as tmp:
        for rows in args.rows:
            folder = Path(tmp) / str(rows)
            folder.mkdir()
            data = generate(folder, rows)
            load = os.getloadavg()[0]
            result = measure(write_config(folder, data))
            result["load"] = (load, os.getloadavg()[0])
            results.append(result)
            data.unlink()
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')} · load average {results[0]['load'][0]:.1f}–{results[-1]['load'][1]:.1f}")
    print("\n| rows | load (s) | settled B/row | peak B/row | raw features B/row |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['rows']:,} | {r['seconds']:.1f} | **{r['settled'] / r['rows']:.0f}** | "
              f"{r['peak'] / r['rows']:.0f} | {4 * N_FEATURES} |")
    print("\nWhere it goes (B/row, largest size):\n\n| part | B/row |\n|---|---:|")
    for name, size in sorted(results[-1]["parts"].items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {size:.0f} |")


if __name__ == "__main__":
    main()
