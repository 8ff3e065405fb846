"""The evaluation harness: an oracle answers the session's queries.

The protocol is the one of the baseline table in STACK.md (and of
``shared/tools/baseline_curves.py``): a stratified test split held out per
seed (30 % by default), a few random start labels, then batches chosen by the
strategy; the model is evaluated on the held-out split after every retrain.
The harness drives a real :class:`~core.session.Session` (label store,
background trainer, leases off), so what it measures is what users run.
"""
from __future__ import annotations

import copy
import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..checks import check_truth_classes
from ..config import LoopSpec, SessionConfig
from ..data import load_pool
from ..errors import ConfigError, DataError, EmptyPoolError
from ..files import atomic_path
from ..heads import parse_head
from ..strategies import parse_strategy

#: ``labels`` counts human labels only; loops that pseudo-label report ``pseudo_labels`` (used to
#: train that model) and ``pseudo_precision`` (their agreement with the oracle, NaN when none).
CURVE_COLUMNS = ["seed", "strategy", "head", "labels", "accuracy", "balanced_accuracy", "macro_f1",
                 "model_version", "evaluation", "train_seconds", "loop", "pseudo_labels",
                 "pseudo_precision", "head_choice", "estimate_accuracy", "estimate_low", "estimate_high",
                 "estimate_n"]


@dataclass
class SimulationPlan:
    """What to simulate: budgets, strategies, seeds and the split."""

    budget: int = 500
    strategies: Sequence[dict] | None = None  # strategy specs; None = the config's strategy
    seeds: Sequence[int] = (0,)
    initial_labels: int | None = None
    batch_size: int | None = None
    test_size: float = 0.3
    oracle_column: str | None = None
    head: dict | None = None  # override the config's head
    loops: Sequence[dict] | None = None  # loop specs ({type, params}); None = the config's loop


def oracle_config(config: SessionConfig, plan: SimulationPlan) -> SessionConfig:
    """The config the simulation runs: oracle column, head override, no coalescing delay."""
    config = copy.deepcopy(config)
    if plan.oracle_column:
        config.data = dataclasses.replace(config.data, ground_truth=plan.oracle_column)
    if config.data.ground_truth is None:
        raise ConfigError(f"{config.source}: data.ground_truth: simulate needs an oracle column "
                          "(set data.ground_truth or pass --oracle-column)")
    if plan.head is not None:
        config.head = parse_head(plan.head, where=config.source)
    # Each round waits for the model anyway; a coalescing delay would only slow the harness.
    config.training.coalesce_s = 0.0
    return config


def load_oracle_pool(config: SessionConfig):
    pool = load_pool(config.data, require_ground_truth=True, cache_dir=config.cache_dir)
    # Before any run: an oracle answer no class lists would stop the run part-way.
    pool.ground_truth = check_truth_classes(pool.ground_truth, config.class_names, where=config.source,
                                            column=config.data.ground_truth)
    truth = pool.ground_truth
    missing = pd.isna(pd.Series(truth, dtype=object)).to_numpy()
    if missing.any():
        raise DataError(f"{config.data.sources[0].path}: column {config.data.ground_truth!r}: "
                        f"{int(missing.sum())} rows have no ground truth; the oracle needs every row")
    return pool


def run_simulation(config: SessionConfig, plan: SimulationPlan, *, out_dir: Path | None = None,
                   on_round: Callable[[dict], None] | None = None) -> pd.DataFrame:
    """Run every (strategy, seed) of ``plan``; return the learning curves.

    Parameters
    ----------
    config
        The session config (its data must have a ground-truth column).
    plan
        Budget, strategies, seeds and split.
    out_dir
        Where the per-run label stores are written (a temporary folder if None).
    on_round
        Called with each curve row as it is produced (progress bars).
    """
    config = oracle_config(config, plan)
    pool = load_oracle_pool(config)
    truth = np.asarray(pool.ground_truth).astype(str)
    # Each strategy validated once, here (and checked against the head), before any run.
    strategies = [parse_strategy(spec, where=config.source, head=config.head)
                  for spec in (plan.strategies or [config.strategy])]
    loops = [loop_spec(config, spec) for spec in plan.loops] if plan.loops else [config.loop]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="alabel-sim-") as tmp:
        store_dir = Path(out_dir) if out_dir is not None else Path(tmp)
        store_dir.mkdir(parents=True, exist_ok=True)
        for seed in plan.seeds:
            pool_rows, test_rows = train_test_split(
                np.arange(pool.n), test_size=plan.test_size, stratify=truth, random_state=seed)
            for loop in loops:
                for strategy in strategies:
                    rows.extend(_simulate_one(config, pool, truth, strategy, seed, pool_rows, test_rows,
                                              plan, store_dir, on_round, loop=loop))
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def loop_spec(config: SessionConfig, spec: dict, where: str | None = None):
    """The config's ``loop:`` section with another loop type and params (``--loop``), validated."""
    loop = {**config.loop.to_dict(), "type": str(spec["type"]).replace("-", "_"),
            "params": dict(spec.get("params") or {})}
    return LoopSpec.from_dict(loop, where or config.source)


def loop_label(loop) -> str:
    """A short name of a loop spec for curves and file names, e.g. ``self_training(policy=flexmatch)``."""
    if not loop.params:
        return loop.type
    return f"{loop.type}(" + ",".join(f"{k}={v}" for k, v in sorted(loop.params.items())) + ")"


def _simulate_one(config, pool, truth, strategy: dict, seed: int, pool_rows, test_rows,
                  plan: SimulationPlan, store_dir: Path, on_round, loop=None) -> list[dict]:
    from ..labels import LabelStore
    from ..loops import pseudo_precision
    from ..session import EvaluationSet, Session

    run_config = copy.deepcopy(config)
    run_config.strategy = strategy
    run_config.seed = int(seed)
    if loop is not None:
        run_config.loop = copy.deepcopy(loop)
    name = strategy.get("type", "strategy")
    loop_name = loop_label(run_config.loop)
    tag = name if run_config.loop.type == "active" and not run_config.loop.params else \
        f"{name}-{safe_name(loop_name)}"
    store_path = store_dir / f"labels-{tag}-seed{seed}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(store_path) + suffix).unlink(missing_ok=True)
    store = LabelStore.open(store_path)
    evaluation = EvaluationSet(rows=test_rows, labels=truth[test_rows], name="oracle")
    batch = plan.batch_size or run_config.loop.batch_size
    initial = plan.initial_labels if plan.initial_labels is not None else run_config.loop.initial_labels
    rng = np.random.default_rng(seed)
    head_name = run_config.head.get("type", "head")
    curve = []
    with Session(run_config, pool=pool, store=store, evaluation_set=evaluation,
                 annotator="oracle") as session:
        if initial:
            start = rng.choice(pool_rows, min(initial, plan.budget), replace=False)
            session.teach_many(pool.ids[start], truth[start])
        n_labels = initial
        while True:
            model = session.wait_for_model()
            if model is not None and model.metrics.get("n_evaluated"):
                row = {
                    "seed": seed, "strategy": name, "head": head_name, "labels": model.n_labels,
                    "accuracy": model.metrics["accuracy"],
                    "balanced_accuracy": model.metrics["balanced_accuracy"],
                    "macro_f1": model.metrics["macro_f1"], "model_version": model.version,
                    "evaluation": model.metrics["evaluation"], "train_seconds": model.train_seconds,
                    "loop": loop_name, "pseudo_labels": model.n_pseudo_labels,
                    "pseudo_precision": pseudo_precision(model.loop_info.get("pseudo_rows", []),
                                                         model.loop_info.get("pseudo_labels", []), truth),
                    **_estimate_columns(model.metrics),
                }
                curve.append(row)
                if on_round is not None:
                    on_round(row)
            if n_labels >= plan.budget:
                break
            try:
                items = session.query(min(batch, plan.budget - n_labels), lease=False)
            except EmptyPoolError:
                break  # the pool ran out before the budget: keep the curve measured so far
            if not items:
                break
            for split in ("train", "test"):  # random test picks (labels.test_fraction) stay held out
                rows = np.array([item.row for item in items if item.split == split], dtype=np.int64)
                if len(rows):
                    session.teach_many(pool.ids[rows], truth[rows], split=split)
            n_labels += len(items)
    return curve


def _estimate_columns(metrics: dict) -> dict:
    """The auto head's choice and the accuracy estimate a user would see (core/evaluation/estimates.py)."""
    choice = metrics.get("head_choice") or {}
    estimate = metrics.get("estimate") or {}
    if estimate.get("source") == "oracle":  # the oracle's own accuracy, not an estimate
        estimate = {}
    low, high = estimate.get("interval") or (np.nan, np.nan)
    accuracy = estimate.get("accuracy")
    return {"head_choice": choice.get("chosen"),
            "estimate_accuracy": np.nan if accuracy is None else accuracy,
            "estimate_low": low, "estimate_high": high, "estimate_n": estimate.get("n", 0)}


def safe_name(text: str) -> str:
    """``text`` with every character but letters, digits, ``._-`` replaced: a file or folder name."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)


def summarise(curve: pd.DataFrame, budgets: Sequence[int] = (20, 50, 100, 200, 500)) -> pd.DataFrame:
    """Mean ± sd of accuracy and balanced accuracy at each budget, per head, loop and strategy.

    Loops that pseudo-label add the mean pseudo-label count and precision; runs
    of the ``auto`` head add the head it chose (``head_chosen``: the commonest
    choice over seeds, with its share when the seeds disagree); runs with audit
    labels add the honest estimate a user sees (``estimate``, its 95 % interval
    ``estimate_low``/``estimate_high`` and ``estimate_n``, means over seeds).
    """
    at = curve[curve["labels"].isin(budgets)]
    keys = ["head", "loop", "strategy", "labels"] if "loop" in at else ["head", "strategy", "labels"]
    table = at.groupby(keys).agg(
        accuracy_mean=("accuracy", "mean"), accuracy_sd=("accuracy", "std"),
        balanced_accuracy_mean=("balanced_accuracy", "mean"),
        balanced_accuracy_sd=("balanced_accuracy", "std"), seeds=("seed", "nunique"))
    if "pseudo_labels" in at and at["pseudo_labels"].fillna(0).gt(0).any():
        extra = at.groupby(keys).agg(pseudo_labels=("pseudo_labels", "mean"),
                                     pseudo_precision=("pseudo_precision", "mean"))
        table = table.join(extra)
    if "head_choice" in at and at["head_choice"].notna().any():
        table = table.join(at.groupby(keys)["head_choice"].agg(_commonest).rename("head_chosen"))
    if "estimate_accuracy" in at and at["estimate_accuracy"].notna().any():
        table = table.join(at.groupby(keys).agg(
            estimate=("estimate_accuracy", "mean"), estimate_low=("estimate_low", "mean"),
            estimate_high=("estimate_high", "mean"), estimate_n=("estimate_n", "mean")))
    return table.reset_index()


def _commonest(choices: pd.Series) -> str | None:
    """The commonest head choice over seeds, with its share when the seeds disagree (``hgb 2/3``)."""
    counts = choices.dropna().astype(str).value_counts()
    if counts.empty:
        return None
    name, n = counts.index[0], int(counts.iloc[0])
    return name if n == len(choices) else f"{name} {n}/{len(choices)}"


def format_summary(table: pd.DataFrame) -> str:
    """The summary as the text ``alabel simulate`` prints: per budget, the held-out accuracy,
    the head the default chose and the honest (audit) estimate with its interval side by side."""
    out = pd.DataFrame({c: table[c] for c in ("head", "loop", "strategy", "labels") if c in table})
    out["held-out accuracy"] = [f"{m:.3f} ± {0.0 if pd.isna(sd) else sd:.3f}"
                                for m, sd in zip(table["accuracy_mean"], table["accuracy_sd"])]
    if "head_chosen" in table:
        out["head chosen (auto)"] = table["head_chosen"].fillna("-")
    if "estimate" in table:
        out["audit estimate (95 % interval, labels)"] = [
            "-" if pd.isna(e) else f"{e:.3f} ({lo:.3f}-{hi:.3f}, n={n:.0f})"
            for e, lo, hi, n in zip(table["estimate"], table["estimate_low"], table["estimate_high"],
                                    table["estimate_n"])]
    out["balanced accuracy"] = [f"{v:.3f}" for v in table["balanced_accuracy_mean"]]
    for column in ("pseudo_labels", "pseudo_precision"):
        if column in table:
            out[column.replace("_", " ")] = [f"{v:.3f}" if column == "pseudo_precision" else f"{v:.0f}"
                                             for v in table[column]]
    out["seeds"] = table["seeds"]
    return out.to_string(index=False)


def plot_curve(curve: pd.DataFrame, path: Path, *, title: str = "alabel simulate",
               metric: str = "accuracy") -> Path:
    """Write a PNG of the learning curves (mean ± sd over seeds per strategy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    loops = curve["loop"] if "loop" in curve else pd.Series("active", index=curve.index)
    several = loops.nunique() > 1
    for (head, strategy, loop), part in curve.assign(loop=loops).groupby(["head", "strategy", "loop"]):
        stats = part.groupby("labels")[metric].agg(["mean", "std"]).fillna(0.0)
        ax.plot(stats.index, stats["mean"], label=f"{head} + {strategy}" + (f" + {loop}" if several else ""))
        ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                        alpha=0.2)
    ax.set_xlabel("human labels")
    ax.set_ylabel(f"{metric.replace('_', ' ')} on the held-out split")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path
