"""Is the harness honest? Reproduce STACK.md's logistic-regression baseline rows with `simulate`.

The reference (shared/tools/baseline_curves.py) uses median imputation + scaling + one-hot +
LogisticRegression(max_iter=2000), a 30 % stratified test split per seed, 10 random start
labels and batches of 10. Here the same protocol runs through alabel's harness with the
equivalent head (`missing_indicators: false`: the reference has no missing-value indicators).
Start labels and random picks come from different random streams than the reference's, so
agreement is statistical: the table reports our mean over 5 seeds, the published figure
(mean of 3 seeds) and the difference, with the standard error of our mean.

    python bench/reproduce_baseline.py [--seeds 5]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from alabel.core.config import SessionConfig
from alabel.core.evaluation.simulate import SimulationPlan, run_simulation

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
HEAD = {"type": "logistic_regression", "scale": True, "missing_indicators": False, "params": {"max_iter": 2000}}
#: STACK.md, "Active-learning baselines on the shared data", OGLE-III logreg rows.
PUBLISHED = {
    "random": {20: 0.883, 50: 0.916, 100: 0.922, 200: 0.939, 500: 0.953},
    "margin": {20: 0.805, 50: 0.944, 100: 0.965, 200: 0.974, 500: 0.978},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "reproduce_ogle_logreg.csv"
    done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["strategy", "seed"])
    config = SessionConfig.load(ROOT / "example_data" / "ogle3.yaml")
    for seed in range(args.seeds):
        for strategy in PUBLISHED:
            if ((done["strategy"] == strategy) & (done["seed"] == seed)).any():
                continue
            plan = SimulationPlan(budget=500, strategies=[{"type": strategy}], seeds=[seed], head=HEAD,
                                  initial_labels=10, batch_size=10)
            curve = run_simulation(config, plan)
            curve.to_csv(path, mode="a", header=not path.exists(), index=False)
            done = pd.read_csv(path)
            print(f"{strategy} seed {seed} done", file=sys.stderr)
    print(table(pd.read_csv(path)))
    return 0


def table(runs: pd.DataFrame) -> str:
    lines = ["| strategy | labels | alabel simulate (mean ± s.e., n seeds) | STACK.md | difference |",
             "|---|---:|---:|---:|---:|"]
    for strategy, figures in PUBLISHED.items():
        for labels, published in figures.items():
            acc = runs.loc[(runs["strategy"] == strategy) & (runs["labels"] == labels), "accuracy"]
            se = acc.std(ddof=1) / np.sqrt(len(acc))
            lines.append(f"| {strategy} | {labels} | {acc.mean():.3f} ± {se:.3f} ({len(acc)}) | {published:.3f} | "
                         f"{acc.mean() - published:+.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
