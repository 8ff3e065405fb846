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

    nice -n 19 python bench/bench_wider.py [--seeds 5] [--max-budget 500] [--datasets penguins ...]
                                           [--methods ...] [--report]
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


#: Largest budget run (``--max-budget``); the report reads it from the runs on disk.
MAX_BUDGET = max(BUDGETS)


def budgets_for(pool: int) -> list[int]:
    """The report's budgets that leave the strategy something to choose from."""
    return [b for b in BUDGETS if b < pool and b <= MAX_BUDGET]


#: Runs to a budget other than the main table's go to their own files (``--runs-tag 500``).
RUNS_TAG = ""


def runs_path(name: str) -> Path:
    return RESULTS / f"wider{RUNS_TAG}_{name}.csv"


def load_runs(name: str) -> pd.DataFrame:
    path = runs_path(name)
    if not path.exists():
        return pd.DataFrame(columns=["dataset", "method", "seed"])
    # Two processes may finish the same (method, seed) run: count it once.
    return pd.read_csv(path).drop_duplicates(["method", "seed", "labels"], keep="first")


def run(args) -> None:
    methods = [default_method(), *baseline_methods()]
    if args.methods:
        methods = [m for m in methods if m.name in args.methods]
    for seed in (args.seed_list if args.seed_list is not None else range(args.seeds)):
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
        fl_runs = floor[floor["labels"] == b]["accuracy"]
        fl = fl_runs.mean()
        g = gap.loc[b]
        rows.append({"labels": b, "default": g["default"], "best_baseline": g["best_baseline"],
                     "best": g["best_accuracy"], "margin": g["margin"], "se": g["margin_se"],
                     "won": int(g["seeds_won"]), "seeds": int(g["seeds"]), "worst": at.min(),
                     "spread": at.max() - at.min(), "floor": fl, "collapse": bool(at.min() < fl),
                     "floor_worst": fl_runs.min(),
                     "share_full": g["default"] / full_acc})
    return pd.DataFrame(rows)


def report(names) -> str:
    parts = []
    for group, members in (("Tuning group", TUNING), ("Never-tuned group", NEVER_TUNED)):
        parts.append(f"#### {group}\n")
        parts.append("| data | labels | default | best baseline | its acc. | default − best ± paired s.e. "
                     "| seeds won | worst seed | spread | floor (logreg+random mean) | worst − floor "
                     "| floor's own worst seed | share of full sup. |")
        parts.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name in members:
            if name not in names:
                continue
            table = summary(name)
            if table is None or table.empty:
                parts.append(f"| {name} | not run | | | | | | | | | | | |")
                continue
            last = table["labels"].max()
            for i, r in enumerate(table.itertuples()):
                share = f"{r.share_full:.1%}" if r.labels == last else ""
                parts.append(f"| {name if i == 0 else ''} | {r.labels} | {r.default:.3f} | {r.best_baseline} | "
                             f"{r.best:.3f} | {format_margin(r.margin, r.se)} | {r.won} of {r.seeds} | "
                             f"{r.worst:.3f} | {r.spread:.3f} | {r.floor:.3f} | "
                             f"{'**' if r.collapse else ''}{r.worst - r.floor:+.3f}{'**' if r.collapse else ''} | "
                             f"{r.floor_worst:.3f} | {share} |")
        parts.append("")
    text = "\n".join(parts)
    (RESULTS / f"wider{RUNS_TAG}_table.md").write_text(text + "\n", encoding="utf-8")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=[*TUNING, *NEVER_TUNED], choices=[*DATASETS, "ogle3", "portal_rodents", "digits"])
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--report", action="store_true", help="only rebuild the tables")
    parser.add_argument("--seed-list", type=int, nargs="+", default=None,
                        help="run these seeds (several processes on disjoint seeds share the work)")
    parser.add_argument("--runs-tag", default="", help="suffix of the runs' files (e.g. 500: wider500_<set>.csv)")
    parser.add_argument("--max-budget", type=int, default=max(BUDGETS),
                        help="stop every run here (the shared 2-core machine cannot afford 500 everywhere)")
    parser.add_argument("--head-study", action="store_true",
                        help="only the 20-label head study (auto head as shipped vs trees from 30 labels)")
    parser.add_argument("--cold-start", action="store_true",
                        help="only the 20-label start study (logistic regression from each start)")
    args = parser.parse_args(argv)
    if args.head_study:
        head_study(args.datasets, args.seed_list or range(args.seeds))
        return 0
    if args.cold_start:
        return cold_start_main(args.datasets, args.seed_list or range(args.seeds))
    global MAX_BUDGET, RUNS_TAG
    MAX_BUDGET = args.max_budget
    RUNS_TAG = args.runs_tag
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report:
        run(args)
    print(report(list(DATASETS)))
    return 0



# ---------------------------------------------------------------------------
# cold start (issue 15, step 4): which 20 labels, measured on the tuning group only
# ---------------------------------------------------------------------------
def _typical_batches(X, pool_rows, seed, *, member="typical", batches=(10, 10)):
    """The auto strategy's coverage phase as the session runs it: batches of 10, labels growing.

    ``member="random"``: a seeded random member of each chosen cluster instead of its most
    typical row (mean-imputed NaN cells and repeated rows make artificial dense spikes that
    typicality prefers).
    """
    from alabel.core.strategies import cold_start

    rng = np.random.default_rng(seed)
    labelled = np.empty(0, dtype=np.int64)
    for n in batches:
        candidates = np.setdiff1d(pool_rows, labelled)
        Z = cold_start.embed(X, np.concatenate([labelled, candidates]), seed)
        Z_l, Z_c = Z[:len(labelled)], Z[len(labelled):]
        if member == "typical":
            positions, _, _ = cold_start.typical_coverage(Z_l, Z_c, n, seed)
        else:
            positions = _random_member_coverage(Z_l, Z_c, n, seed, rng)
        labelled = np.concatenate([labelled, candidates[positions]])
    return labelled


def _random_member_coverage(Z_l, Z_c, n, seed, rng):
    from sklearn.cluster import KMeans

    Z = np.vstack([Z_l, Z_c]) if len(Z_l) else Z_c
    k = int(min(len(Z_l) + n, len(Z)))
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(Z)
    held = np.bincount(km.labels_[:len(Z_l)], minlength=k)
    groups_c = km.labels_[len(Z_l):]
    sizes = np.bincount(km.labels_, minlength=k)
    order = sorted(range(k), key=lambda g: (held[g] > 0, -sizes[g]))
    picks = []
    for g in order:
        members = np.flatnonzero(groups_c == g)
        if len(members) and len(picks) < n:
            picks.append(int(rng.choice(members)))
    rest = np.setdiff1d(np.arange(len(Z_c)), picks)
    picks += list(rng.choice(rest, n - len(picks), replace=False)) if len(picks) < n else []
    return np.asarray(picks, dtype=np.int64)


def cold_start_study(names, seeds) -> pd.DataFrame:
    """Accuracy at 20 labels of logistic regression (the auto head's first rung) from each start."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from alabel.core.evaluation.simulate import load_oracle_pool

    def model():
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000))

    rows = []
    for name in names:
        config, _ = config_for(name)
        pool = load_oracle_pool(config)
        X, y = pool.X, np.asarray(pool.ground_truth).astype(str)
        for seed in seeds:
            pool_rows, test_rows = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=seed)
            rng = np.random.default_rng(seed)
            first = rng.choice(pool_rows, 10, replace=False)
            starts = {"random": np.concatenate([first, rng.choice(np.setdiff1d(pool_rows, first), 10,
                                                                  replace=False)])}
            if len(set(y[first])) > 1:
                rest = np.setdiff1d(pool_rows, first)
                p = model().fit(X[first], y[first]).predict_proba(X[rest])
                ent = -(p * np.log(np.clip(p, 1e-12, 1))).sum(1)
                starts["entropy"] = np.concatenate([first, rest[np.argsort(-ent)[:10]]])
            starts["typical"] = _typical_batches(X, pool_rows, seed)
            starts["typical_random_member"] = _typical_batches(X, pool_rows, seed, member="random")
            hedge = _typical_batches(X, pool_rows, seed, batches=(10,))
            starts["typical10_random10"] = np.concatenate(
                [hedge, rng.choice(np.setdiff1d(pool_rows, hedge), 10, replace=False)])
            for start, rows_ in starts.items():
                row = {"dataset": name, "seed": seed, "start": start, "classes_seen": len(set(y[rows_])),
                       "accuracy": np.nan, "balanced_accuracy": np.nan}
                if len(set(y[rows_])) > 1:
                    pred = model().fit(X[rows_], y[rows_]).predict(X[test_rows])
                    row.update(accuracy=float((pred == y[test_rows]).mean()),
                               balanced_accuracy=float(balanced_accuracy_score(y[test_rows], pred)))
                rows.append(row)
    return pd.DataFrame(rows)


def cold_start_main(names, seeds) -> int:
    table = cold_start_study(names, seeds)
    table.to_csv(RESULTS / "wider_cold_start.csv", index=False)
    summary = table.groupby(["dataset", "start"]).agg(
        accuracy=("accuracy", "mean"), worst=("accuracy", "min"), balanced=("balanced_accuracy", "mean"),
        classes_seen=("classes_seen", "mean"), seeds=("seed", "nunique")).round(3)
    print(summary.to_string())
    return 0



# ---------------------------------------------------------------------------
# the auto head's first choice (issue 15, step 4): trees from 20 or from 30 labels
# ---------------------------------------------------------------------------
#: The variant: the ladder of core.heads.adaptive.DEFAULT_CANDIDATES with the trees eligible from 30.
LATER_TREES = {"type": "auto", "candidates": [
    {"type": "logistic_regression", "params": {"max_iter": 2000}},
    {"type": "hist_gradient_boosting", "min_labels": 30},
    {"type": "random_forest", "min_labels": 30}]}


def design_config(name: str) -> SessionConfig:
    """One of the three sets the defaults were designed on, as bench_defaults.py runs it."""
    from bench_defaults import default_config

    return default_config(name)


def head_study(names, seeds) -> pd.DataFrame:
    """Accuracy of the default session at 20 labels, auto head as shipped vs trees from 30 labels.

    The first 20 labels come from coverage, which never looks at the model, so both runs of a
    seed label the same rows: the difference is the head's choice alone.
    """
    from alabel.core.evaluation.baselines import Method

    group = "never_tuned" if set(names) <= set(NEVER_TUNED) else "tuning"
    path = RESULTS / f"wider_head_study_{group}.csv"
    done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["dataset", "method", "seed"])
    for seed in seeds:
        for name in names:
            config = design_config(name) if name in ("ogle3", "portal_rodents", "digits") else config_for(name)[0]
            for method in (Method(name="default", baseline=False),
                           Method(name="trees_from_30", head=LATER_TREES, baseline=False)):
                if ((done["dataset"] == name) & (done["method"] == method.name) & (done["seed"] == seed)).any():
                    continue
                started = time.perf_counter()
                curve = run_method(config, method, seed, budget=20)
                curve.insert(0, "dataset", name)
                curve = curve[curve["labels"] == 20]
                curve.to_csv(path, mode="a", header=not path.exists(), index=False)
                done = pd.read_csv(path)
                print(f"{name} seed {seed} {method.name}: {time.perf_counter() - started:.0f} s "
                      f"{curve['accuracy'].round(3).tolist()} {curve['head_choice'].tolist()}",
                      file=sys.stderr, flush=True)
    return done


if __name__ == "__main__":
    sys.exit(main())
