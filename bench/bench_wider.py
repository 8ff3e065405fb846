"""Defaults on data nobody tuned on (issue 15): the default session against the baseline grid
on the eight sets of bench/datasets.md.

Every set is written to Parquet (bench/datasets.py) and run with a config that names no head,
no strategy and no start labels: the ``auto`` head and strategy, as ``alabel simulate`` runs
them. Beside it, the grid of ``alabel simulate --baselines`` (core/evaluation/baselines.py):
{logistic regression, HGB} x {random, margin, entropy}, 10 random start labels, batches of 10,
30 % stratified test split per seed. Budgets: those of 20/50/100/200/500 below the pool size.
The random baselines also fit their head on the whole pool of the seed: that is the
full-supervision accuracy.

Resumable: every finished (set, seed, method) run is appended to
bench/results/wider_<set>.csv and skipped next time; ``--report`` only rebuilds the tables
(bench/results/wider_table.md).

    nice -n 19 python bench/bench_wider.py [--seeds 5] [--datasets penguins ...] [--methods ...] [--report]
"""
from __future__ import annotations

import os

# One OpenMP thread per process (HGB's pool spins on a shared 2-core machine).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datasets import DATASETS, NEVER_TUNED, TUNING, build  # noqa: E402

from alabel.core.config import SessionConfig  # noqa: E402
from alabel.core.evaluation.baselines import (  # noqa: E402
    BUDGETS,
    DEFAULT_NAME,
    baseline_methods,
    default_method,
    format_margin,
    margins,
    run_method,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DATA = ROOT / ".alabel" / "wider_data"
#: The no-collapse reference: the default's worst seed must be at or above this method's mean.
FLOOR = "logistic_regression+random"


def config_for(name: str) -> tuple[SessionConfig, int]:
    """The default session's config for one set and the pool size after the test split."""
    raw = build(name, DATA)
    n = len(pd.read_parquet(DATA / f"{name}.parquet", columns=["id"]))
    pool = n - math.ceil(0.3 * n)
    return SessionConfig.from_dict(raw, base_dir=DATA, where=f"{name} (bench/datasets.py)"), pool


def budgets_for(pool: int) -> list[int]:
    """The report's budgets that leave the strategy something to choose from."""
    return [b for b in BUDGETS if b < pool]


def runs_path(name: str) -> Path:
    return RESULTS / f"wider_{name}.csv"


def load_runs(name: str) -> pd.DataFrame:
    path = runs_path(name)
    return pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["dataset", "method", "seed"])


def run(args) -> None:
    methods = [default_method(), *baseline_methods()]
    if args.methods:
        methods = [m for m in methods if m.name in args.methods]
    for seed in range(args.seeds):
        for name in args.datasets:
            config, pool = config_for(name)
            budget = budgets_for(pool)[-1]
            for method in methods:
                done = load_runs(name)
                if ((done["method"] == method.name) & (done["seed"] == seed)).any():
                    continue
                started = time.perf_counter()
                random = (method.strategy or {}).get("type") == "random"
                # Random picks ignore the model: run on to the whole pool for the full-supervision fit.
                curve = run_method(config, method, seed, budget=pool if random else budget)
                curve.insert(0, "dataset", name)
                path = runs_path(name)
                if path.exists():
                    curve = curve.reindex(columns=pd.read_csv(path, nrows=0).columns)
                curve.to_csv(path, mode="a", header=not path.exists(), index=False)
                print(f"{name} seed {seed} {method.name}: {time.perf_counter() - started:.0f} s",
                      file=sys.stderr, flush=True)


def complete_seeds(runs: pd.DataFrame) -> pd.DataFrame:
    """The seeds every method has finished, so means compare like with like."""
    methods = runs["method"].unique()
    per_seed = runs.groupby("seed")["method"].nunique()
    return runs[runs["seed"].isin(per_seed[per_seed == len(methods)].index)]


def summary(name: str) -> pd.DataFrame | None:
    """Per budget: default, best baseline, margin ± paired s.e., seeds won, worst seed, spread,
    the floor (logreg + random mean) and whether the worst seed clears it; share of full supervision."""
    runs = load_runs(name)
    if runs.empty or DEFAULT_NAME not in set(runs["method"]):
        return None
    runs = complete_seeds(runs)
    if runs.empty:
        return None
    _, pool = config_for(name)
    budgets = budgets_for(pool)
    gap = margins(runs, budgets).set_index("labels")
    mine = runs[runs["method"] == DEFAULT_NAME]
    floor = runs[runs["method"] == FLOOR]
    full = runs[(runs["labels"] == pool) & runs["method"].str.endswith("+random")]
    full_acc = full.groupby("seed")["accuracy"].max().mean() if len(full) else float("nan")
    rows = []
    for b in budgets:
        if b not in gap.index:
            continue
        at = mine[mine["labels"] == b]["accuracy"]
        fl = floor[floor["labels"] == b]["accuracy"].mean()
        g = gap.loc[b]
        rows.append({"labels": b, "default": g["default"], "best_baseline": g["best_baseline"],
                     "best": g["best_accuracy"], "margin": g["margin"], "se": g["margin_se"],
                     "won": int(g["seeds_won"]), "seeds": int(g["seeds"]), "worst": at.min(),
                     "spread": at.max() - at.min(), "floor": fl, "collapse": bool(at.min() < fl),
                     "share_full": g["default"] / full_acc})
    return pd.DataFrame(rows)


def report(names) -> str:
    parts = []
    for group, members in (("Tuning group", TUNING), ("Never-tuned group", NEVER_TUNED)):
        parts.append(f"#### {group}\n")
        parts.append("| data | labels | default | best baseline | its acc. | default − best ± paired s.e. "
                     "| seeds won | worst seed | spread | floor (logreg+random mean) | worst ≥ floor "
                     "| share of full sup. |")
        parts.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name in members:
            if name not in names:
                continue
            table = summary(name)
            if table is None or table.empty:
                parts.append(f"| {name} | not run | | | | | | | | | | |")
                continue
            last = table["labels"].max()
            for i, r in enumerate(table.itertuples()):
                share = f"{r.share_full:.1%}" if r.labels == last else ""
                parts.append(f"| {name if i == 0 else ''} | {r.labels} | {r.default:.3f} | {r.best_baseline} | "
                             f"{r.best:.3f} | {format_margin(r.margin, r.se)} | {r.won} of {r.seeds} | "
                             f"{r.worst:.3f} | {r.spread:.3f} | {r.floor:.3f} | "
                             f"{'no — COLLAPSE' if r.collapse else 'yes'} | {share} |")
        parts.append("")
    text = "\n".join(parts)
    (RESULTS / "wider_table.md").write_text(text + "\n", encoding="utf-8")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=[*TUNING, *NEVER_TUNED], choices=list(DATASETS))
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--report", action="store_true", help="only rebuild the tables")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report:
        run(args)
    print(report(list(DATASETS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
