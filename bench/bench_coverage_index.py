"""The default's coverage start before and after fd5927c (issue 15: the mpg_class drop).

fd5927c made coverage (the auto strategy's first 20 labels) answer from a once-per-pool
``CoverageIndex``: the pool's sample (test rows of a simulation included) in weighted
micro-clusters, typicality measured among the whole sample, the query's groups from a numpy
weighted k-means of the micro-clusters. Before it, every query clustered the labelled rows and
the candidates themselves (scikit-learn k-means, 3 starts) and took the most typical row
inside each group (``cold_start.typical_coverage``, still in the code as the direct form).

This runs the default session (``bench_wider.config_for``: auto head, auto strategy, audit
picks) on the current engine twice per (set, seed), on the same split: ``index`` = coverage as
shipped; ``direct`` = the pre-fd5927c coverage step patched in (measurement only; the product
is not changed). Everything after the coverage phase is the shipped engine in both.

Resumable: rows are appended to bench/results/coverage_index_<budget>.csv.

    nice -n 19 python bench/bench_coverage_index.py --datasets mpg_class wine --seed-list 0 1 2 --budget 100
    python bench/bench_coverage_index.py --report --budget 20
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_wider import RESULTS, config_for  # noqa: E402
from datasets import NEVER_TUNED, TUNING  # noqa: E402

from alabel.core.evaluation.baselines import default_method, run_method  # noqa: E402
from alabel.core.strategies import cold_start  # noqa: E402
from alabel.core.strategies.base import Selection  # noqa: E402

INDEX = cold_start._CoverageMixin._coverage


def direct_coverage(self, context, n, why):
    """The coverage step as it was before fd5927c (a5ba6d5:core/strategies/cold_start.py)."""
    candidates = context.candidates
    limit = self.params["max_rows"]
    if len(candidates) > limit:
        candidates = np.sort(context.rng.choice(candidates, size=limit, replace=False))
    seed = int(context.rng.integers(2**31 - 1))
    Z_all = cold_start.embed(context.X, np.concatenate([context.labelled, candidates]), seed)
    Z_l, Z_c = Z_all[:len(context.labelled)], Z_all[len(context.labelled):]
    positions, priorities, shares = cold_start.typical_coverage(Z_l, Z_c, n, seed)
    return Selection(indices=candidates[positions], scores=priorities, strategy=self.type_name,
                     reason=f"{why}: most typical row of an unlabelled cluster holding "
                            f"{100 * shares[0]:.1f}% of the pool")


VARIANTS = {"index": INDEX, "direct": direct_coverage}
BUDGETS = (20, 50, 100, 200)


def path_for(budget: int) -> Path:
    return RESULTS / f"coverage_index_{budget}.csv"


def run(names, seeds, budget: int) -> None:
    path = path_for(budget)
    configs = {name: config_for(name)[0] for name in names}
    for seed in seeds:
        for name in names:
            for variant, coverage in VARIANTS.items():
                done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["set", "seed", "variant"])
                if ((done["set"] == name) & (done["seed"] == seed) & (done["variant"] == variant)).any():
                    continue
                cold_start._CoverageMixin._coverage = coverage
                started = time.perf_counter()
                try:
                    curve = run_method(configs[name], default_method(), seed, budget=budget)
                finally:
                    cold_start._CoverageMixin._coverage = INDEX
                at = curve.groupby("labels").last()
                row = {"set": name, "seed": seed, "variant": variant, "budget": budget,
                       "secs": round(time.perf_counter() - started)}
                for b in BUDGETS:
                    if b in at.index:
                        row[f"acc{b}"] = round(float(at.loc[b, "accuracy"]), 4)
                        row[f"head{b}"] = str(at.loc[b, "head_choice"])
                frame = pd.DataFrame([row])
                if path.exists():
                    frame = frame.reindex(columns=pd.read_csv(path, nrows=0).columns)
                frame.to_csv(path, mode="a", header=not path.exists(), index=False)
                print(row, file=sys.stderr, flush=True)


def report(budget: int) -> str:
    runs = pd.read_csv(path_for(budget)).drop_duplicates(["set", "seed", "variant"])
    lines = ["| data | labels | seeds | direct (pre-fd5927c) | index (shipped) | index − direct ± paired s.e. "
             "| seeds won/lost | worst seed (direct → index) |", "|---|---|---|---|---|---|---|---|"]
    pooled = []
    for b in [b for b in BUDGETS if f"acc{b}" in runs]:
        wide = runs.pivot_table(index=["set", "seed"], columns="variant", values=f"acc{b}").dropna()
        if wide.empty:
            continue
        wide["diff"] = wide["index"] - wide["direct"]
        for name in [n for n in (*TUNING, *NEVER_TUNED) if n in wide.index.get_level_values(0)]:
            one = wide.loc[name]
            lines.append(_row(name, b, one))
        pooled.append(_row("all sets", b, wide))
    return "\n".join(lines + pooled)


def _row(name: str, b: int, frame: pd.DataFrame) -> str:
    d = frame["diff"]
    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    return (f"| {name} | {b} | {len(d)} | {frame['direct'].mean():.3f} | {frame['index'].mean():.3f} | "
            f"{d.mean():+.3f} ± {se:.3f} | {int((d > 1e-9).sum())}/{int((d < -1e-9).sum())} | "
            f"{frame['direct'].min():.3f} → {frame['index'].min():.3f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=[*TUNING, *NEVER_TUNED])
    parser.add_argument("--seed-list", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args(argv)
    if not args.report:
        run(args.datasets, args.seed_list, args.budget)
    print(report(args.budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
