"""Learning quality: margin and entropy sampling against random sampling on real data.

Protocol of STACK.md's baseline table (30 % stratified test split per seed, 10 random start
labels, batches of 10), driven through alabel's own harness (`core.simulate`), with the
logistic-regression head. Results are appended per (data set, strategy, seed) to
bench/results/learning_runs.csv, so an interrupted run resumes where it stopped.

    python bench/bench_learning.py [--seeds 5] [--budget 500] [--datasets ogle3 portal_rodents]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from alabel.core.config import SessionConfig
from alabel.core.evaluation.simulate import SimulationPlan, load_oracle_pool, oracle_config, run_simulation

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BUDGETS = (20, 50, 100, 200, 500)
STRATEGIES = ("random", "margin", "entropy")
HEAD = {"type": "logistic_regression", "scale": True, "params": {"max_iter": 2000}}


def ceiling(config: SessionConfig, seeds) -> list[float]:
    """Accuracy with every pool label known (same split), the full-supervision ceiling."""
    from sklearn.model_selection import train_test_split

    from alabel.core.heads import build_head

    config = oracle_config(config, SimulationPlan(head=HEAD))
    pool = load_oracle_pool(config)
    truth = np.asarray(pool.ground_truth).astype(str)
    out = []
    for seed in seeds:
        train, test = train_test_split(np.arange(pool.n), test_size=0.3, stratify=truth, random_state=seed)
        head = build_head(HEAD, classes=config.class_names or None, random_state=seed)
        head.fit(pool.X[train], truth[train])
        out.append(float((head.predict(pool.X[test]) == truth[test]).mean()))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--datasets", nargs="+", default=["ogle3", "portal_rodents"])
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs_path = RESULTS / "learning_runs.csv"
    done = pd.read_csv(runs_path) if runs_path.exists() else pd.DataFrame(columns=["dataset", "strategy", "seed"])
    for dataset in args.datasets:
        config = SessionConfig.load(ROOT / "example_data" / f"{dataset}.yaml")
        for seed in range(args.seeds):
            for strategy in STRATEGIES:
                if ((done["dataset"] == dataset) & (done["strategy"] == strategy) & (done["seed"] == seed)).any():
                    continue
                started = time.perf_counter()
                plan = SimulationPlan(budget=args.budget, strategies=[{"type": strategy}], seeds=[seed],
                                      head=HEAD, initial_labels=10, batch_size=10)
                curve = run_simulation(config, plan)
                curve.insert(0, "dataset", dataset)
                curve.to_csv(runs_path, mode="a", header=not runs_path.exists(), index=False)
                done = pd.read_csv(runs_path)
                print(f"{dataset} {strategy} seed {seed}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        ceil_path = RESULTS / f"ceiling_{dataset}.txt"
        if not ceil_path.exists():
            values = ceiling(config, range(args.seeds))
            ceil_path.write_text(f"{np.mean(values):.4f} {np.std(values, ddof=1):.4f}\n")
    print(table(pd.read_csv(runs_path)))
    return 0


def table(runs: pd.DataFrame) -> str:
    """Markdown table: accuracy mean ± sd at each budget, per data set and strategy."""
    lines = ["| data | strategy | " + " | ".join(str(b) for b in BUDGETS) + " | all labels (ceiling) |",
             "|---|---|" + "---:|" * (len(BUDGETS) + 1)]
    for dataset, part in runs.groupby("dataset", sort=False):
        ceil_path = RESULTS / f"ceiling_{dataset}.txt"
        ceil = ceil_path.read_text().split() if ceil_path.exists() else None
        for i, strategy in enumerate(STRATEGIES):
            rows = part[part["strategy"] == strategy]
            cells = []
            for b in BUDGETS:
                acc = rows.loc[rows["labels"] == b, "accuracy"]
                cells.append(f"{acc.mean():.3f} ± {acc.std(ddof=1):.3f}" if len(acc) else "–")
            last = f"{float(ceil[0]):.3f} ± {float(ceil[1]):.3f}" if ceil and i == 0 else ""
            n = rows["seed"].nunique()
            lines.append(f"| {dataset if i == 0 else ''} | {strategy} ({n} seeds) | " + " | ".join(cells) + f" | {last} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
