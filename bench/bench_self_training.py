"""The unlabelled pool at work (issue 15, step 5): the default session with and without gated
self-training, on the sets of bench/datasets.md.

Same protocol as bench_wider.py (the default session: ``auto`` head and strategy, audit picks
counted as human labels; 30 % stratified test split per seed), run twice per seed on the same
split: once with the loop as shipped (``active``) and once with a self-training variant. The
first 20 labels come from coverage, which never looks at the model, so both runs of a seed
start from the same rows; from there the variant's pseudo-labels can change the model and hence
the queries. Paired differences per budget, seeds won, worst seed.

Resumable: finished (set, variant, seed) runs are appended to
bench/results/self_training_<group>.csv and skipped next time.

    nice -n 10 python bench/bench_self_training.py --datasets penguins ... --seed-list 0 1 2
                                                   [--variants ...] [--report]
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alabel.core.config import LoopSpec
from alabel.core.evaluation.baselines import default_method, run_method
from bench_wider import RESULTS, budgets_for, config_for, design_config
from datasets import NEVER_TUNED, TUNING

#: Loop variants (None: the config's own loop, i.e. the default as shipped).
VARIANTS: dict[str, dict | None] = {
    "default": None,
    # The opt-in gate of issue 5: pseudo-label only when, out of fold on the human labels,
    # predictions as confident as the pseudo-labels were right >= 90 % of the time.
    "st_flexmatch_gate90": {"type": "self_training", "params": {"policy": "flexmatch", "min_precision": 0.9}},
    "st_flexmatch_gate95": {"type": "self_training", "params": {"policy": "flexmatch", "min_precision": 0.95}},
    "st_fixed_gate95": {"type": "self_training", "params": {"policy": "fixed", "min_precision": 0.95}},
    "st_flexmatch_nogate": {"type": "self_training", "params": {"policy": "flexmatch"}},
}


#: The three sets the defaults were designed on (a change must not make them worse).
DESIGN = ("ogle3", "portal_rodents", "digits")


def group_of(names) -> str:
    if set(names) <= set(DESIGN):
        return "design"
    return "never_tuned" if set(names) <= set(NEVER_TUNED) else "tuning"


def run(names, seeds, variants, max_budget: int) -> None:
    path = RESULTS / f"self_training_{group_of(names)}.csv"
    for seed in seeds:
        for name in names:
            if name in DESIGN:
                config, pool = design_config(name), 10 ** 9
            else:
                config, pool = config_for(name)
            budget = min(max(budgets_for(pool)), max_budget)
            for variant in variants:
                done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["dataset", "variant", "seed"])
                if ((done["dataset"] == name) & (done["variant"] == variant) & (done["seed"] == seed)).any():
                    continue
                run_config = copy.deepcopy(config)
                if VARIANTS[variant] is not None:
                    spec = {**run_config.loop.to_dict(), **VARIANTS[variant]}
                    run_config.loop = LoopSpec.from_dict(spec, where=run_config.source)
                started = time.perf_counter()
                curve = run_method(run_config, default_method(), seed, budget=budget)
                # Several models per label count (teacher, student): the last one is the one in use.
                curve = curve.groupby("labels", as_index=False).last()
                curve.insert(0, "variant", variant)
                curve.insert(0, "dataset", name)
                curve["seconds"] = time.perf_counter() - started
                if path.exists():
                    curve = curve.reindex(columns=pd.read_csv(path, nrows=0).columns)
                curve.to_csv(path, mode="a", header=not path.exists(), index=False)
                at = curve.set_index("labels")["accuracy"]
                print(f"{name} seed {seed} {variant}: {time.perf_counter() - started:.0f} s "
                      f"{ {int(b): round(float(at[b]), 3) for b in budgets_for(pool) if b in at.index} }",
                      file=sys.stderr, flush=True)


def report(group: str, budgets=(20, 50, 100, 200, 500)) -> str:
    path = RESULTS / f"self_training_{group}.csv"
    runs = pd.read_csv(path)
    runs = runs.drop_duplicates(["dataset", "variant", "seed", "labels"])
    lines = [("| data | variant | labels | seeds | default | variant | diff ± paired s.e. | seeds won/lost "
              "| worst seed (default → variant) | pseudo-labels (precision) |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name in runs["dataset"].unique():
        mine = runs[runs["dataset"] == name]
        base = mine[mine["variant"] == "default"].set_index(["seed", "labels"])
        for variant in [v for v in VARIANTS if v != "default" and v in set(mine["variant"])]:
            other = mine[mine["variant"] == variant].set_index(["seed", "labels"])
            for b in budgets:
                keys = [k for k in other.index if k[1] == b and k in base.index]
                if not keys:
                    continue
                d = other.loc[keys, "accuracy"].to_numpy() - base.loc[keys, "accuracy"].to_numpy()
                se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
                pseudo = other.loc[keys, "pseudo_labels"].mean()
                prec = other.loc[keys, "pseudo_precision"].mean()
                lines.append(f"| {name} | {variant} | {b} | {len(d)} | {base.loc[keys, 'accuracy'].mean():.3f} | "
                             f"{other.loc[keys, 'accuracy'].mean():.3f} | {d.mean():+.3f} ± {se:.3f} | "
                             f"{int((d > 1e-9).sum())}/{int((d < -1e-9).sum())} | "
                             f"{base.loc[keys, 'accuracy'].min():.3f} → {other.loc[keys, 'accuracy'].min():.3f} | "
                             f"{pseudo:.0f} ({prec:.3f}) |")
    text = "\n".join(lines)
    (RESULTS / f"self_training_{group}_table.md").write_text(text + "\n", encoding="utf-8")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(TUNING))
    parser.add_argument("--seed-list", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["default", "st_flexmatch_gate90"], choices=list(VARIANTS))
    parser.add_argument("--max-budget", type=int, default=200)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args(argv)
    if not args.report:
        run(args.datasets, args.seed_list, args.variants, args.max_budget)
    print(report(group_of(args.datasets)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
