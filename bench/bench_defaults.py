"""Defaults a new user can trust (issue 6): the default session against the baseline grid.

For each data set the example config is loaded with its head, strategy and start labels
removed, so the session is what a user gets from a config that names none (the ``auto``
head and strategy). It runs beside {logistic regression, HGB} x {random, margin, entropy}
under STACK.md's protocol (30 % stratified test split per seed; the baselines start from 10
random labels, the default chooses its own; batches of 10) through ``core.baselines``.

Resumable: every finished (data set, seed, method) run is appended to
bench/results/defaults_<dataset>.csv and skipped next time. ``--report`` only rebuilds the
tables (bench/results/defaults_table.md) and the plot (bench/results/defaults.png).

    python bench/bench_defaults.py [--seeds 5] [--budget 500] [--datasets ogle3 portal_rodents digits]
                                   [--methods default logistic_regression+margin ...] [--report]
"""
from __future__ import annotations

import os

# One OpenMP thread per process: on a shared 2-core machine HGB's thread pool spins
# (a 100-label fit takes 10 s instead of 0.2 s). Set before scikit-learn loads.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from alabel.core.evaluation.baselines import (  # noqa: E402
    BUDGETS,
    baseline_methods,
    default_method,
    format_margin,
    margins,
    markdown_table,
    plot_envelope,
    run_method,
)
from alabel.core.config import SessionConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DATASETS = {"ogle3": "OGLE-III stars", "portal_rodents": "Portal rodents", "digits": "digits",
            "icd10": "ICD-10 text (not used for tuning)"}
#: The data sets of the issue's bar (run by default); others are extra checks, run on request.
BAR_DATASETS = ("ogle3", "portal_rodents", "digits")


def default_config(dataset: str) -> SessionConfig:
    """The example config with no head, strategy or start labels: what a new user gets."""
    path = ROOT / "example_data" / f"{dataset}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in ("head", "strategy"):
        raw.pop(key, None)
    raw.setdefault("loop", {}).pop("initial_labels", None)
    return SessionConfig.from_dict(raw, base_dir=path.parent, where=str(path))


def runs_path(dataset: str) -> Path:
    return RESULTS / f"defaults_{dataset}.csv"


def load_runs(dataset: str) -> pd.DataFrame:
    path = runs_path(dataset)
    return pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["dataset", "method", "seed"])


def run(args) -> None:
    methods = [default_method(), *baseline_methods()]
    if args.methods:
        unknown = set(args.methods) - {m.name for m in methods}
        if unknown:
            sys.exit(f"unknown methods {sorted(unknown)}; known: {[m.name for m in methods]}")
        methods = [m for m in methods if m.name in args.methods]
    for seed in range(args.seeds):
        for dataset in args.datasets:
            config = default_config(dataset)
            done = load_runs(dataset)
            for method in methods:
                if ((done["method"] == method.name) & (done["seed"] == seed)).any():
                    continue
                started = time.perf_counter()
                curve = run_method(config, method, seed, budget=args.budget)
                curve.insert(0, "dataset", dataset)
                path = runs_path(dataset)
                if path.exists():  # keep the file's column order (and its columns) when appending
                    curve = curve.reindex(columns=pd.read_csv(path, nrows=0).columns)
                curve.to_csv(path, mode="a", header=not path.exists(), index=False)
                at = curve[curve["labels"].isin(BUDGETS)].set_index("labels")["accuracy"].round(3)
                print(f"{dataset} seed {seed} {method.name}: {time.perf_counter() - started:.0f} s "
                      f"{at.to_dict()}", file=sys.stderr, flush=True)


def report(datasets) -> str:
    """Markdown tables (accuracy, balanced accuracy, default - best baseline) and the plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [d for d in datasets if runs_path(d).exists()]
    parts = []
    fig, axes = plt.subplots(2, max(1, len(present)), figsize=(5.0 * max(1, len(present)), 7.6),
                             dpi=110, squeeze=False)
    for j, dataset in enumerate(present):
        runs = load_runs(dataset)
        runs = complete_seeds(runs)
        name = DATASETS.get(dataset, dataset)
        parts.append(f"### {name}\n")
        for metric in ("accuracy", "balanced_accuracy"):
            parts.append(markdown_table(runs, BUDGETS, title=name, metric=metric) + "\n")
        gap = margins(runs, BUDGETS)
        if len(gap):
            parts.append("Default minus the best baseline (mean over seeds):\n")
            parts.append("| labels | default | best baseline | its accuracy | margin ± paired s.e. | seeds won "
                         "| default bal. acc. | best bal. acc. | bal. margin |\n"
                         "|---|---|---|---|---|---|---|---|---|")
            for r in gap.itertuples():
                parts.append(f"| {r.labels} | {r.default:.3f} | {r.best_baseline} | {r.best_accuracy:.3f} | "
                             f"{format_margin(r.margin, r.margin_se)} | {r.seeds_won} of {r.seeds} | "
                             f"{r.default_balanced:.3f} | {r.best_balanced:.3f} | {r.balanced_margin:+.3f} |")
            parts.append("")
        parts.append(estimate_check(runs))
        for i, metric in enumerate(("accuracy", "balanced_accuracy")):
            plot_envelope(runs, None, title=f"{name}: {metric.replace('_', ' ')}", metric=metric,
                          ax=axes[i][j])
    fig.tight_layout()
    fig.savefig(RESULTS / "defaults.png")
    plt.close(fig)
    text = "\n".join(parts)
    (RESULTS / "defaults_table.md").write_text(text + "\n", encoding="utf-8")
    return text


def estimate_check(runs: pd.DataFrame) -> str:
    """How the default's audit estimate (what the user sees) compares with the held-out accuracy."""
    mine = runs[(runs["method"] == "default") & runs["labels"].isin(BUDGETS)]
    mine = mine[mine["estimate_n"].fillna(0) > 0]
    if mine.empty:
        return ""
    lines = ["Audit estimate shown to the user vs accuracy on the held-out split (default session):\n",
             "| labels | audit labels | mean estimate | mean held-out | mean abs. error | interval holds the "
             "held-out accuracy |", "|---|---|---|---|---|---|"]
    for labels, part in mine.groupby("labels"):
        inside = ((part["estimate_low"] <= part["accuracy"]) & (part["accuracy"] <= part["estimate_high"]))
        lines.append(f"| {labels} | {part['estimate_n'].mean():.0f} | {part['estimate_accuracy'].mean():.3f} | "
                     f"{part['accuracy'].mean():.3f} | {(part['estimate_accuracy'] - part['accuracy']).abs().mean():.3f} "
                     f"| {int(inside.sum())} of {len(part)} |")
    return "\n".join(lines) + "\n"


def complete_seeds(runs: pd.DataFrame) -> pd.DataFrame:
    """Keep the seeds every method has finished, so means compare like with like."""
    methods = runs["method"].unique()
    per_seed = runs.groupby("seed")["method"].nunique()
    seeds = per_seed[per_seed == len(methods)].index
    return runs[runs["seed"].isin(seeds)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--datasets", nargs="+", default=list(BAR_DATASETS))
    parser.add_argument("--methods", nargs="+", default=None, help="subset of methods (default: all)")
    parser.add_argument("--report", action="store_true", help="only rebuild the table and plot")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report:
        run(args)
    # The report covers every data set with runs on disk, not only the ones just run.
    print(report([*DATASETS, *[d for d in args.datasets if d not in DATASETS]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
