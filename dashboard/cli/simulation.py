"""``alabel simulate``: the oracle harness, strategies and loops against each other and the baselines."""
from __future__ import annotations

from .common import at_least, config_error, info, progress_bar


def cmd_simulate(args) -> int:
    from alabel.core.config import SessionConfig
    from alabel.core.evaluation.simulate import SimulationPlan, format_summary, plot_curve, run_simulation, summarise

    at_least(args.budget, 1, "--budget")
    at_least(args.seeds, 1, "--seeds")
    at_least(args.initial, 0, "--initial")
    at_least(args.batch_size, 1, "--batch-size")
    if not 0.0 < args.test_size < 1.0:
        raise config_error(f"--test-size: must be between 0 and 1, got {args.test_size}")
    config = SessionConfig.load(args.config)
    seeds = list(range(args.seeds)) if args.seeds else (args.seed or [config.seed])
    if args.baselines:  # the config's session beside the baseline grid (core/evaluation/baselines.py)
        from alabel.core.evaluation.baselines import simulate_with_baselines

        for option in ("strategy", "head", "loop", "loop_param"):
            if getattr(args, option):
                raise config_error(f"--{option.replace('_', '-')}: not with --baselines, which runs the "
                                    "config's own session beside a fixed grid (edit the config instead)")
        progress = progress_bar(total=len(seeds) * 7 * args.budget, quiet=args.quiet, unit="label")
        done = {}

        def on_grid_round(row):
            key = (row["seed"], row["strategy"], row["head"])
            progress.update(max(0, row["labels"] - done.get(key, 0)))
            done[key] = row["labels"]
            progress.set_postfix_str(f"{row['head']} {row['strategy']} seed {row['seed']}: "
                                     f"acc {row['accuracy']:.3f}")

        text = simulate_with_baselines(config, seeds, budget=args.budget, batch_size=args.batch_size,
                                       test_size=args.test_size, initial_labels=args.initial,
                                       out_dir=args.out, on_round=on_grid_round)
        progress.close()
        print(text)
        return 0
    from alabel.core.heads import parse_head
    from alabel.core.strategies import parse_strategy

    # Validated once here (naming the option); the simulation builds from these specs.
    strategies = [parse_strategy({"type": s}, where="--strategy") for s in args.strategy] if args.strategy else None
    head = parse_head({"type": args.head}, where="--head") if args.head else None
    loops = _loop_specs(config, args.loop, args.loop_param)
    plan = SimulationPlan(budget=args.budget, strategies=strategies, seeds=seeds,
                          initial_labels=args.initial, batch_size=args.batch_size,
                          test_size=args.test_size, oracle_column=args.oracle_column, head=head,
                          loops=loops)
    args.out.mkdir(parents=True, exist_ok=True)
    progress = progress_bar(total=len(seeds) * len(strategies or [None]) * len(loops or [None]) * args.budget,
                             quiet=args.quiet, unit="label")
    last = {}

    def on_round(row):
        key = (row["seed"], row["strategy"], row["loop"])
        progress.update(row["labels"] - last.get(key, 0))
        last[key] = row["labels"]
        pseudo = (f", {row['pseudo_labels']} pseudo ({row['pseudo_precision']:.1%} right)"
                  if row["pseudo_labels"] else "")
        progress.set_postfix_str(f"{row['loop']} {row['strategy']} seed {row['seed']}: "
                                 f"acc {row['accuracy']:.3f}{pseudo}")

    curve = run_simulation(config, plan, out_dir=args.out / "stores", on_round=on_round)
    progress.close()
    from alabel.core.files import atomic_path

    with atomic_path(args.out / "curve.csv") as tmp:
        curve.to_csv(tmp, index=False)
    if len(curve) and curve["labels"].max() < args.budget:
        info(f"note: the pool ran out at {int(curve['labels'].max())} labels, before --budget "
              f"{args.budget}: the curve stops there", args.quiet)
    plot_curve(curve, args.out / "curve.png", title=f"{config.name}: simulate")
    budgets = sorted({b for b in (20, 50, 100, 200, 500, 1000, 2000) if b <= args.budget} | {args.budget})
    print(format_summary(summarise(curve, budgets)))
    print(f"wrote {args.out / 'curve.csv'} and {args.out / 'curve.png'}")
    return 0


def _loop_specs(config, names, params) -> list[dict] | None:
    """``--loop`` / ``--loop-param`` as validated loop specs (None: the config's loop)."""
    import yaml

    from alabel.core.config import LoopSpec
    from alabel.core.evaluation.simulate import loop_spec

    parsed = {}
    for item in params or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise config_error(f"--loop-param: expected KEY=VALUE, got {item!r}")
        parsed[key.strip()] = yaml.safe_load(value)
    if params and not names:
        names = [config.loop.type]
        parsed = {**config.loop.params, **parsed}
    if not names:
        return None
    classes = [LoopSpec(type=name, where="--loop").cls for name in names]
    # A --loop-param goes to the loops that take it (compare active with self-training at
    # one tau); one that no loop takes goes to the first, whose validation explains why.
    specs = [{"type": name.replace("-", "_"),
              "params": {k: v for k, v in parsed.items() if k in cls.params_spec}}
             for name, cls in zip(names, classes)]
    unused = [k for k in parsed if not any(k in c.params_spec for c in classes)]
    if unused:
        specs[0]["params"][unused[0]] = parsed[unused[0]]
    for spec in specs:
        loop_spec(config, spec, where="--loop")  # raises ConfigError naming the loop or parameter
    return specs
