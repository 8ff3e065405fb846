"""The baseline grid: the config's own session against plain heads and strategies.

``alabel simulate CONFIG --baselines`` runs the session the config describes
(what a user gets; with no head and no strategy named, the ``auto`` ones) and
the grid {logistic regression, histogram gradient boosting} x {random, margin,
entropy} on the same splits and seeds, under the protocol of the table in
STACK.md: a 30 % stratified test split per seed, 10 random start labels for
the baselines (the same ones for every baseline of a seed), then batches of
``loop.batch_size`` (10 unless the config says otherwise). Methods are
compared at equal numbers of human labels.

Everything here drives :func:`core.simulate.run_simulation`, so the numbers
come from the same session, label store and trainer a user runs.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import SessionConfig
from ..files import atomic_path, write_text
from ..strategies import parse_strategy
from .simulate import SimulationPlan, run_simulation, safe_name

#: Heads of the grid, as alabel's example configs write them.
BASELINE_HEADS: dict[str, dict] = {
    "logistic_regression": {"type": "logistic_regression", "params": {"max_iter": 2000}},
    "hist_gradient_boosting": {"type": "hist_gradient_boosting"},
}
#: Strategies of the grid.
BASELINE_STRATEGIES: tuple[str, ...] = ("random", "margin", "entropy")
#: Random start labels of every baseline (STACK.md's protocol).
BASELINE_START_LABELS = 10
#: Label counts the tables report.
BUDGETS: tuple[int, ...] = (20, 50, 100, 200, 500)
#: Name of the config's own session in tables and plots.
DEFAULT_NAME = "default"


@dataclass(frozen=True)
class Method:
    """One row of the comparison: a head, a strategy and how the first labels are chosen.

    ``head``/``strategy`` None mean the config's own; ``initial_labels`` None
    means the config's ``loop.initial_labels``.
    """

    name: str
    head: dict | None = None
    strategy: dict | None = None
    initial_labels: int | None = None
    baseline: bool = True


def baseline_methods() -> list[Method]:
    """The grid, head-major: ``logistic_regression+random`` ... ``hist_gradient_boosting+entropy``."""
    return [Method(name=f"{head}+{strategy}", head=copy.deepcopy(spec), strategy={"type": strategy},
                   initial_labels=BASELINE_START_LABELS)
            for head, spec in BASELINE_HEADS.items() for strategy in BASELINE_STRATEGIES]


def default_method() -> Method:
    """The config's own session (head, strategy and first labels as configured)."""
    return Method(name=DEFAULT_NAME, baseline=False)


def method_config(config: SessionConfig, method: Method) -> SessionConfig:
    """The config one method runs: baselines are plain (no audit picks)."""
    config = copy.deepcopy(config)
    if method.baseline and hasattr(config.labels, "audit_fraction"):
        config.labels.audit_fraction = 0.0
    return config


def run_method(config: SessionConfig, method: Method, seed: int, *, budget: int = 500,
               batch_size: int | None = None, test_size: float = 0.3, out_dir: Path | None = None,
               on_round: Callable[[dict], None] | None = None) -> pd.DataFrame:
    """Learning curve of one method on one seed (columns of ``CURVE_COLUMNS`` + ``method``).

    Random sampling does not look at the model, so its baselines skip the
    models between budgets (:func:`run_random_baseline`); every other method
    runs round by round through :func:`core.simulate.run_simulation`.
    """
    if method.baseline and (method.strategy or {}).get("type") == "random":
        return run_random_baseline(config, method, seed, budget=budget, test_size=test_size,
                                   on_round=on_round)
    plan = SimulationPlan(budget=budget, strategies=[method.strategy] if method.strategy else None,
                          seeds=[seed], initial_labels=method.initial_labels, batch_size=batch_size,
                          test_size=test_size, head=method.head)
    # A folder per method: two heads with one strategy would otherwise share a store's name,
    # and the second run would replace the first's labels.
    method_dir = None if out_dir is None else Path(out_dir) / safe_name(method.name)
    curve = run_simulation(method_config(config, method), plan, out_dir=method_dir, on_round=on_round)
    curve.insert(0, "method", method.name)
    return curve


def run_random_baseline(config: SessionConfig, method: Method, seed: int, *, budget: int = 500,
                        test_size: float = 0.3, on_round: Callable[[dict], None] | None = None
                        ) -> pd.DataFrame:
    """A random-sampling baseline, with models fitted at the budgets only.

    Same split and start labels as :func:`core.simulate.run_simulation` (both
    seeded by ``seed``); the later labels are a seeded uniform draw from the
    rest of the pool, taken in chunks up to each budget. Random picks never
    depend on the model, so this has the distribution of batches of 10 at a
    tenth of the retrains.
    """
    import tempfile

    from sklearn.model_selection import train_test_split

    from ..labels import LabelStore
    from ..session import EvaluationSet, Session
    from .simulate import CURVE_COLUMNS, _estimate_columns, load_oracle_pool, oracle_config

    run_config = oracle_config(method_config(config, method), SimulationPlan(head=method.head))
    run_config.strategy = parse_strategy(method.strategy, where=run_config.source)
    run_config.seed = int(seed)
    pool = load_oracle_pool(run_config)
    truth = np.asarray(pool.ground_truth).astype(str)
    pool_rows, test_rows = train_test_split(np.arange(pool.n), test_size=test_size, stratify=truth,
                                            random_state=seed)
    rng = np.random.default_rng(seed)
    initial = int(method.initial_labels or 0)
    start = rng.choice(pool_rows, min(initial, budget), replace=False)
    order = np.concatenate([start, rng.permutation(np.setdiff1d(pool_rows, start))])
    checkpoints = sorted({b for b in (initial, *BUDGETS, budget) if 0 < b <= budget})
    rows = []
    with tempfile.TemporaryDirectory(prefix="alabel-random-") as tmp:
        store = LabelStore.open(Path(tmp) / "labels.sqlite")
        with Session(run_config, pool=pool, store=store, background=False, annotator="oracle",
                     evaluation_set=EvaluationSet(rows=test_rows, labels=truth[test_rows])) as session:
            taught = 0
            for k in checkpoints:
                new = order[taught:k]
                session.teach_many(pool.ids[new], truth[new])
                taught = k
                model = session.retrain()
                if model is None or not model.metrics.get("n_evaluated"):
                    continue
                row = {"seed": seed, "strategy": "random", "head": run_config.head.get("type", "head"),
                       "labels": model.n_labels, "accuracy": model.metrics["accuracy"],
                       "balanced_accuracy": model.metrics["balanced_accuracy"],
                       "macro_f1": model.metrics["macro_f1"], "model_version": model.version,
                       "evaluation": model.metrics["evaluation"], "train_seconds": model.train_seconds,
                       "loop": run_config.loop.type, "pseudo_labels": 0, "pseudo_precision": np.nan,
                       **_estimate_columns(model.metrics)}
                rows.append(row)
                if on_round is not None:
                    on_round(row)
    curve = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    curve.insert(0, "method", method.name)
    return curve


def run_grid(config: SessionConfig, seeds: Sequence[int], *, budget: int = 500,
             batch_size: int | None = None,
             test_size: float = 0.3, methods: Sequence[Method] | None = None,
             out_dir: Path | None = None, on_round: Callable[[dict], None] | None = None,
             on_run: Callable[[pd.DataFrame], None] | None = None,
             skip: Callable[[str, int], bool] | None = None) -> pd.DataFrame:
    """The default session and every baseline, on every seed.

    Parameters
    ----------
    config
        Session config with a ground-truth column.
    seeds
        Seeds of the splits (and of the start labels).
    methods
        What to run (default: the config's session, then :func:`baseline_methods`).
    on_run
        Called with each finished (method, seed) curve (resumable benchmarks append it).
    skip
        ``skip(method_name, seed)`` -> True to leave a run out (already done).
    """
    methods = list(methods) if methods is not None else [default_method(), *baseline_methods()]
    curves = []
    for seed in seeds:
        for method in methods:
            if skip is not None and skip(method.name, seed):
                continue
            curve = run_method(config, method, seed, budget=budget, batch_size=batch_size,
                               test_size=test_size, out_dir=out_dir, on_round=on_round)
            if on_run is not None:
                on_run(curve)
            curves.append(curve)
    return pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------
def comparison_table(curve: pd.DataFrame, budgets: Sequence[int] = BUDGETS) -> pd.DataFrame:
    """Mean and sd over seeds of accuracy and balanced accuracy, per method and budget.

    Returns
    -------
    DataFrame
        Columns ``method, labels, accuracy_mean, accuracy_sd, balanced_accuracy_mean,
        balanced_accuracy_sd, seeds``; methods in first-seen order.
    """
    at = curve[curve["labels"].isin(budgets)]
    table = at.groupby(["method", "labels"], sort=False).agg(
        accuracy_mean=("accuracy", "mean"), accuracy_sd=("accuracy", "std"),
        balanced_accuracy_mean=("balanced_accuracy", "mean"),
        balanced_accuracy_sd=("balanced_accuracy", "std"), seeds=("seed", "nunique")).reset_index()
    order = {m: i for i, m in enumerate(pd.unique(curve["method"]))}
    return table.sort_values(["method", "labels"], key=lambda s: s.map(order) if s.name == "method" else s,
                             kind="stable").reset_index(drop=True)


def margins(curve: pd.DataFrame, budgets: Sequence[int] = BUDGETS,
            default: str = DEFAULT_NAME) -> pd.DataFrame:
    """Default minus the best baseline (mean accuracy) at each budget.

    Every method of a seed runs on the same split, so the margin is also taken
    seed by seed against that best baseline: ``margin_se`` is the standard
    error of those paired differences (NaN with one seed) and ``seeds_won``
    how many seeds the default was at or above it.

    Returns
    -------
    DataFrame
        ``labels, default, best_baseline, best_accuracy, margin, margin_se,
        seeds_won, seeds`` (margin >= 0: the default is at or above every
        baseline), plus the same for balanced accuracy (``best_balanced``,
        ``balanced_margin``).
    """
    table = comparison_table(curve, budgets)
    at = curve[curve["labels"].isin(budgets)]
    rows = []
    for labels, part in table.groupby("labels"):
        mine = part[part["method"] == default]
        others = part[part["method"] != default]
        if mine.empty or others.empty:
            continue
        best = others.loc[others["accuracy_mean"].idxmax()]
        best_bal = others["balanced_accuracy_mean"].max()
        here = at[at["labels"] == labels]
        per_seed = (here[here["method"] == default].groupby("seed")["accuracy"].mean()
                    - here[here["method"] == best["method"]].groupby("seed")["accuracy"].mean()).dropna()
        rows.append({"labels": int(labels), "default": float(mine["accuracy_mean"].iloc[0]),
                     "best_baseline": best["method"], "best_accuracy": float(best["accuracy_mean"]),
                     "margin": float(mine["accuracy_mean"].iloc[0] - best["accuracy_mean"]),
                     "margin_se": float(per_seed.std(ddof=1) / np.sqrt(len(per_seed))) if len(per_seed) > 1
                     else float("nan"),
                     "seeds_won": int((per_seed >= 0).sum()), "seeds": int(len(per_seed)),
                     "default_balanced": float(mine["balanced_accuracy_mean"].iloc[0]),
                     "best_balanced": float(best_bal),
                     "balanced_margin": float(mine["balanced_accuracy_mean"].iloc[0] - best_bal)})
    return pd.DataFrame(rows, columns=["labels", "default", "best_baseline", "best_accuracy", "margin",
                                       "margin_se", "seeds_won", "seeds", "default_balanced", "best_balanced",
                                       "balanced_margin"])


def markdown_table(curve: pd.DataFrame, budgets: Sequence[int] = BUDGETS, *, title: str = "",
                   metric: str = "accuracy") -> str:
    """A table like STACK.md's: one row per method, ``mean ± sd`` at each budget.

    The best mean of each budget is in bold; ``title`` fills the first column
    of the first row (the data set's name).
    """
    table = comparison_table(curve, budgets)
    present = [b for b in budgets if b in set(table["labels"])]
    mean, sd = f"{metric}_mean", f"{metric}_sd"
    best = table.groupby("labels")[mean].max()
    lines = [f"| data | method ({metric.replace('_', ' ')}) | " + " | ".join(str(b) for b in present)
             + " | seeds |", "|---|---|" + "---|" * len(present) + "---|"]
    for i, (method, part) in enumerate(table.groupby("method", sort=False)):
        cells = []
        for b in present:
            row = part[part["labels"] == b]
            if row.empty:
                cells.append("")
                continue
            m, s = float(row[mean].iloc[0]), row[sd].iloc[0]
            text = f"{m:.3f} ± {s:.3f}" if np.isfinite(s) else f"{m:.3f}"
            cells.append(f"**{text}**" if np.isclose(m, best[b]) else text)
        seeds = int(part["seeds"].max())
        lines.append(f"| {title if i == 0 else ''} | {method} | " + " | ".join(cells) + f" | {seeds} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# plot
# ---------------------------------------------------------------------------
def plot_envelope(curve: pd.DataFrame, path: Path, *, title: str = "", metric: str = "accuracy",
                  default: str = DEFAULT_NAME, ax=None) -> Path | None:
    """The default's curve (mean ± sd over seeds) over the baselines' envelope.

    The envelope spans, at each label count, the lowest and the highest
    baseline mean; the best baseline at each label count is drawn as a dashed
    line. Written to ``path`` (PNG) unless an axis is given.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = curve.groupby(["method", "labels"])[metric].agg(["mean", "std"]).reset_index()
    base = means[means["method"] != default].pivot(index="labels", columns="method", values="mean")
    base = base.dropna()  # label counts every baseline reached (random ones: the budgets only)
    own = means[means["method"] == default].set_index("labels").sort_index()
    own_fig = ax is None
    if own_fig:
        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    if not base.empty:
        ax.fill_between(base.index, base.min(axis=1), base.max(axis=1), color="0.8", alpha=0.7,
                        label=f"baselines ({base.shape[1]}): range of means")
        ax.plot(base.index, base.max(axis=1), "--", color="0.35", lw=1.2, label="best baseline")
    if not own.empty:
        sd = own["std"].fillna(0.0)
        ax.plot(own.index, own["mean"], color="C3", lw=2.0, label=f"{default} (mean ± sd)")
        ax.fill_between(own.index, (own["mean"] - sd).clip(lower=0.0), (own["mean"] + sd).clip(upper=1.0),
                        color="C3", alpha=0.2)
    ax.set_xscale("log")
    ticks = [t for t in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if t <= means["labels"].max()]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("human labels")
    ax.set_ylabel(f"{metric.replace('_', ' ')} on the held-out split")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    if not own_fig:
        return None
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------
# the report `alabel simulate --baselines` writes
# ---------------------------------------------------------------------------
def head_choices(curve: pd.DataFrame, budgets: Sequence[int] = BUDGETS,
                 default: str = DEFAULT_NAME) -> pd.DataFrame:
    """How often the default's head chose each candidate at each budget (over seeds)."""
    mine = curve[(curve["method"] == default) & curve["labels"].isin(budgets)]
    if mine.empty or "head_choice" not in mine or mine["head_choice"].isna().all():
        return pd.DataFrame(columns=["labels", "head_choice", "seeds"])
    return (mine.groupby(["labels", "head_choice"])["seed"].nunique().rename("seeds").reset_index())


def format_margin(margin: float, se: float) -> str:
    """``+0.012 ± 0.004`` (the s.e. left out when there is none)."""
    return f"{margin:+.3f}" + (f" ± {se:.3f}" if np.isfinite(se) else "")


def report_text(curve: pd.DataFrame, budgets: Sequence[int] = BUDGETS, *, title: str = "") -> str:
    """Markdown: accuracy and balanced-accuracy tables, the default's margins, its head choices."""
    parts = [markdown_table(curve, budgets, title=title, metric="accuracy"), "",
             markdown_table(curve, budgets, title=title, metric="balanced_accuracy"), ""]
    gap = margins(curve, budgets)
    if len(gap):
        parts += ["| labels | default | best baseline | its accuracy | margin (± paired s.e.) | seeds won "
                  "| bal. margin |", "|---|---|---|---|---|---|---|"]
        parts += [f"| {r.labels} | {r.default:.3f} | {r.best_baseline} | {r.best_accuracy:.3f} | "
                  f"{format_margin(r.margin, r.margin_se)} | {r.seeds_won} of {r.seeds} | "
                  f"{r.balanced_margin:+.3f} |" for r in gap.itertuples()]
        parts.append("")
    choices = head_choices(curve, budgets)
    if len(choices):
        per_budget = choices.groupby("labels").apply(
            lambda g: ", ".join(f"{c} ({s})" for c, s in zip(g["head_choice"], g["seeds"])),
            include_groups=False)
        parts.append("Head chosen by the default (seeds): " + "; ".join(
            f"{labels}: {text}" for labels, text in per_budget.items()))
    return "\n".join(parts).rstrip() + "\n"


def write_report(curve: pd.DataFrame, out_dir: Path, *, title: str = "",
                 budgets: Sequence[int] = BUDGETS) -> dict[str, Path]:
    """Write ``curve.csv``, ``baselines.md`` and ``baselines.png`` (accuracy and balanced accuracy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"curve": out_dir / "curve.csv", "table": out_dir / "baselines.md",
             "plot": out_dir / "baselines.png"}
    with atomic_path(paths["curve"]) as tmp:
        curve.to_csv(tmp, index=False)
    write_text(paths["table"], report_text(curve, budgets, title=title))
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.2), dpi=110)
    for ax, metric in zip(axes, ("accuracy", "balanced_accuracy")):
        plot_envelope(curve, None, title=f"{title}: {metric.replace('_', ' ')}".lstrip(": "),
                      metric=metric, ax=ax)
    fig.tight_layout()
    with atomic_path(paths["plot"]) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return paths


def simulate_with_baselines(config: SessionConfig, seeds: Sequence[int], *, budget: int = 500,
                            batch_size: int | None = None, test_size: float = 0.3,
                            initial_labels: int | None = None,
                            out_dir: Path, on_round: Callable[[dict], None] | None = None) -> str:
    """Run the config's session and the grid, write the report under ``out_dir``; return its text.

    What ``alabel simulate CONFIG --baselines`` does.
    """
    methods = [Method(name=DEFAULT_NAME, initial_labels=initial_labels, baseline=False), *baseline_methods()]
    curve = run_grid(config, seeds, budget=budget, batch_size=batch_size, test_size=test_size,
                     methods=methods, out_dir=Path(out_dir) / "stores", on_round=on_round)
    budgets = sorted({b for b in (*BUDGETS, 1000, 2000) if b <= budget} | {budget})
    paths = write_report(curve, out_dir, title=config.name, budgets=budgets)
    lines = [f"{DEFAULT_NAME} = the config's session ({config.head.get('type')} head, "
             f"{config.strategy.get('type')} strategy); the baselines start from "
             f"{BASELINE_START_LABELS} random labels", "", report_text(curve, budgets, title=config.name)]
    short = margins(curve, budgets)
    short = short[short["margin"] < 0]
    if len(short):
        lines.append("below the best baseline at: " + ", ".join(
            f"{r.labels} labels ({r.margin:+.3f} vs {r.best_baseline})" for r in short.itertuples()))
    lines.append(f"wrote {paths['curve']}, {paths['table']} and {paths['plot']}")
    return "\n".join(lines)
