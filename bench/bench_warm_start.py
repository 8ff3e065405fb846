"""Retrain latency: warm start vs training from scratch after 1, 10 and 100 new labels.

Protocol: OGLE-III variable stars (shared example data; 9 numeric features,
NaN included, plus the one-hot region; 8 classes), a 30 % stratified test
split, ``--base`` random labels fitted from scratch; then ``k`` more random
labels arrive and the head is refitted (a) from scratch (``max_epochs``) and
(b) warm, continuing from the previous weights for ``warm_epochs`` (default
``max_epochs // 10``). Reported: median wall time of the refit and mean test
accuracy over ``--repeats`` draws. Torch threads are the heads' default (all
cores but one), as in background training.

    python bench/bench_warm_start.py [--base 500] [--repeats 5] [--heads linear_probe mlp_torch]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "example_data" / "ogle3_variable_stars.parquet"
NUMERIC = ["mag_I", "mag_V", "color_VI", "log10_period", "amplitude_I", "R21", "phi21", "R31", "phi31"]


def load():
    frame = pd.read_parquet(DATA)
    X = pd.concat([frame[NUMERIC], pd.get_dummies(frame["region"], dtype=np.float32)], axis=1)
    return X.to_numpy(dtype=np.float32), frame["label"].to_numpy().astype(str)


def main(argv=None) -> int:
    from alabel.core.heads import build_head

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=500, help="labels of the first (scratch) fit")
    parser.add_argument("--new", type=int, nargs="+", default=[1, 10, 100], help="labels added before the refit")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--heads", nargs="+", default=["linear_probe", "mlp_torch"])
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "warm_start.json")
    args = parser.parse_args(argv)

    X, y = load()
    classes = sorted(set(y))
    X_pool, X_test, y_pool, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    machine = f"{platform.machine()} CPU, {os.cpu_count()} cores"
    print(f"machine: {machine}; data: OGLE-III, {len(y_pool)} pool / {len(y_test)} test rows, {len(classes)} classes")
    print("| head | new labels | scratch refit (s) | warm refit (s) | speed-up | scratch acc. | warm acc. |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for head_type in args.heads:
        template = build_head({"type": head_type, "warm_start": True}, classes=classes, random_state=0)
        template.fit(X_pool[:50], y_pool[:50])  # pay the one-off import/initialisation cost outside the timings
        for k in args.new:
            times = {"scratch": [], "warm": []}
            accs = {"scratch": [], "warm": []}
            for rep in range(args.repeats):
                order = np.random.default_rng(rep).permutation(len(y_pool))
                base, grown = order[:args.base], order[:args.base + k]
                previous = clone(template).set_params(random_state=rep).fit(X_pool[base], y_pool[base])
                for kind in ("scratch", "warm"):
                    head = clone(previous)
                    if kind == "warm":
                        head.warm_start_from(previous)
                    else:
                        head.set_params(warm_start=False)
                    t0 = time.perf_counter()
                    head.fit(X_pool[grown], y_pool[grown])
                    times[kind].append(time.perf_counter() - t0)
                    assert head.fit_kind_ == ("warm" if kind == "warm" else "full")
                    accs[kind].append(float((head.predict(X_test) == y_test).mean()))
            row = {"head": head_type, "base": args.base, "new": k,
                   **{f"{kind}_s": float(np.median(v)) for kind, v in times.items()},
                   **{f"{kind}_acc": float(np.mean(v)) for kind, v in accs.items()}}
            rows.append(row)
            print(f"| {head_type} | {k} | {row['scratch_s']:.3f} | {row['warm_s']:.3f} | "
                  f"{row['scratch_s'] / row['warm_s']:.1f}× | {row['scratch_acc']:.3f} | {row['warm_acc']:.3f} |",
                  flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "base": args.base, "repeats": args.repeats, "rows": rows},
                                    indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
