"""Loops: accuracy vs HUMAN labels for the active loop, self-training (each threshold policy) and ASPL.

Protocol of ``bench_learning.py`` (STACK.md's baseline table), run through ``alabel simulate``'s
harness: 30 % stratified test split per seed, 10 random start labels, batches of 10 chosen by
margin sampling, the logistic-regression head, accuracy on the held-out split. Every loop uses
the same strategy and head, so only what the loop adds (pseudo-labels) differs. Besides accuracy
the curves record the pseudo-labels each model was trained on and their precision against the
oracle. The loops run with their defaults (``core/loops``), which is what a user gets.

Results are appended per (data set, loop, seed) to ``bench/results/loops_runs_b<budget>.csv``, so
an interrupted run resumes where it stopped; ``--table`` prints the markdown table from that file.

    python bench/bench_loops.py [--seeds 5] [--budget 200] [--datasets digits ogle3 portal_rodents]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # a shared 2-core machine: one BLAS thread (before numpy)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from alabel.core.config import SessionConfig  # noqa: E402
from alabel.core.evaluation.simulate import SimulationPlan, run_simulation  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BUDGETS = (20, 50, 100, 200, 500)
#: Columns kept per round (fixed here so that curve columns added elsewhere keep the file resumable).
COLUMNS = ["dataset", "name", "seed", "strategy", "head", "loop", "labels", "accuracy", "balanced_accuracy",
           "macro_f1", "model_version", "pseudo_labels", "pseudo_precision", "train_seconds"]
HEAD = {"type": "logistic_regression", "scale": True, "params": {"max_iter": 2000}}
#: name in the table -> loop spec (defaults otherwise)
LOOPS = {
    "active": {"type": "active"},
    "self-training fixed τ=0.95": {"type": "self_training", "params": {"policy": "fixed"}},
    "self-training flexmatch": {"type": "self_training", "params": {"policy": "flexmatch"}},
    "self-training freematch": {"type": "self_training", "params": {"policy": "freematch"}},
    "self-training entropy (CEAL)": {"type": "self_training", "params": {"policy": "entropy"}},
    "aspl": {"type": "aspl"},
    "self-training flexmatch + precision gate 0.9": {"type": "self_training",
                                                     "params": {"policy": "flexmatch", "min_precision": 0.9}},
}


def run(dataset: str, name: str, seed: int, budget: int) -> pd.DataFrame:
    config = SessionConfig.load(ROOT / "example_data" / f"{dataset}.yaml")
    plan = SimulationPlan(budget=budget, strategies=[{"type": "margin"}], seeds=[seed], head=HEAD,
                          initial_labels=10, batch_size=10, loops=[LOOPS[name]])
    curve = run_simulation(config, plan)
    curve.insert(0, "dataset", dataset)
    curve.insert(1, "name", name)
    return curve.loc[:, COLUMNS]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--datasets", nargs="+", default=["digits", "ogle3", "portal_rodents"])
    parser.add_argument("--loops", nargs="+", default=list(LOOPS), choices=list(LOOPS))
    parser.add_argument("--table", action="store_true", help="only print the table of the runs so far")
    args = parser.parse_args(argv)
    runs_path = RESULTS / f"loops_runs_b{args.budget}.csv"
    if not args.table:
        RESULTS.mkdir(parents=True, exist_ok=True)
        done = pd.read_csv(runs_path) if runs_path.exists() else pd.DataFrame(columns=["dataset", "name", "seed"])
        # Seeds outermost: an interrupted run leaves every loop with the same seeds.
        for dataset in args.datasets:
            for seed in range(args.seeds):
                for name in args.loops:
                    if ((done["dataset"] == dataset) & (done["name"] == name) & (done["seed"] == seed)).any():
                        continue
                    started = time.perf_counter()
                    curve = run(dataset, name, seed, args.budget)
                    curve.to_csv(runs_path, mode="a", header=not runs_path.exists(), index=False)
                    done = pd.read_csv(runs_path)
                    print(f"{dataset} {name} seed {seed}: {time.perf_counter() - started:.1f} s",
                          file=sys.stderr, flush=True)
    print(table(pd.read_csv(runs_path)))
    return 0


def _cell(values: pd.Series, fmt: str = "{:.3f}") -> str:
    values = values.dropna()
    if values.empty:
        return ""
    if len(values) == 1:
        return fmt.format(values.mean())
    return f"{fmt.format(values.mean())} ± {fmt.format(values.std(ddof=1))}"


def table(runs: pd.DataFrame) -> str:
    """Two markdown tables: accuracy per budget, then pseudo-labels used and their precision.

    Accuracy is the mean ± sd over seeds; beside it, the mean difference from the active loop
    on the same seeds (same split and start labels) and the number of seeds the loop won.
    Pseudo-label cells give the mean number the model at that budget was trained on and
    their mean precision against the oracle (over the seeds that had any).
    """
    budgets = [b for b in BUDGETS if b <= runs["labels"].max()]
    at = runs[runs["labels"].isin(budgets)]
    head = " | ".join(str(b) for b in budgets)
    acc_lines = [f"| data | loop | seeds | {head} |", "|---|---|---:|" + "---:|" * len(budgets)]
    pseudo_lines = [f"| data | loop | {head} |", "|---|---|" + "---:|" * len(budgets)]
    for dataset, part in at.groupby("dataset", sort=False):
        active = part[part["name"] == "active"].set_index(["seed", "labels"])["accuracy"]
        first = True
        for name in [n for n in LOOPS if n in set(part["name"])]:
            rows = part[part["name"] == name]
            accuracy, pseudo = [], []
            for b in budgets:
                here = rows[rows["labels"] == b]
                cell = _cell(here["accuracy"])
                paired = here.set_index(["seed", "labels"])["accuracy"].sub(active).dropna()
                if name != "active" and len(paired):
                    cell += f" ({paired.mean():+.3f}, {int((paired > 0).sum())}/{len(paired)})"
                accuracy.append(cell)
                count = here["pseudo_labels"].mean() if len(here) else np.nan
                precision = here["pseudo_precision"].mean() if len(here) else np.nan
                pseudo.append("" if np.isnan(count) else f"{count:.0f} ({precision:.3f})" if count else "0")
            acc_lines.append(f"| {dataset if first else ''} | {name} | {rows['seed'].nunique()} | "
                             + " | ".join(accuracy) + " |")
            if name != "active":
                shown = any(line.startswith(f"| {dataset} |") for line in pseudo_lines)
                pseudo_lines.append(f"| {'' if shown else dataset} | {name} | " + " | ".join(pseudo) + " |")
            first = False
    return "Accuracy on the held-out split vs human labels\n\n" + "\n".join(acc_lines) + \
        "\n\nPseudo-labels the model was trained on (precision against the oracle)\n\n" + "\n".join(pseudo_lines)


if __name__ == "__main__":
    sys.exit(main())
