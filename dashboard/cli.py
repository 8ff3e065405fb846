"""``alabel``: the command line.

Headless commands (train, score, query, label, simulate, export) use only the
engine; ``serve`` starts the Panel dashboard. Heavy libraries are imported
inside each command so that ``alabel --help`` answers at once.

Exit codes: 0 success; 1 unexpected error; 2 usage or config error; 3 data
error; 4 label-store error; 5 not ready (e.g. no labels of two classes yet);
6 nothing left to query; 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

DEFAULT_CONFIG = "config.yaml"

EPILOG = """\
examples:
  alabel init my_table.parquet --out config.yaml    # propose a config from your data
  alabel simulate config.yaml --budget 200 --strategy margin --strategy random --seeds 3 --out runs/ogle
  alabel query config.yaml -n 10 --out next.csv     # what to label next (--new-store the first time)
  alabel label config.yaml --from my_labels.csv     # import labels (columns id,label)
  alabel label config.yaml --from sample.csv --chosen random   # a random sample: honest estimate
  alabel train config.yaml                          # retrain, save model + metrics + curve
  alabel score config.yaml --out predictions.parquet
  alabel export config.yaml --out bundle/           # hand the session to a colleague
  alabel serve config.yaml                          # the browser dashboard
  alabel passwd users.txt ana                       # a sign-in for: alabel serve --password-file users.txt
  alabel serve my_table.parquet                     # no config yet: a setup page writes one

exit codes: 0 ok, 2 usage/config error, 3 data error, 4 label-store error,
            5 not ready (no model yet), 6 nothing left to query, 1 other errors
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alabel",
        description="Active-learning labelling: label as few objects as possible for a good classifier. "
                    "Every command takes a session config (config.yaml) describing the data, classes, "
                    "classifier head, query strategy and label store.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"alabel {_version()}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name, help_text, func):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("config", nargs="?", default=DEFAULT_CONFIG,
                       help=f"session config file (default: {DEFAULT_CONFIG})")
        p.set_defaults(func=func)
        return p

    p = sub.add_parser("init", help="Propose a config from data files (CSV, Parquet, FITS): the id, features, "
                                    "hidden columns, ground truth and classes, each with its reason.",
                       description="Read the data files and write a commented config.yaml that loads as it is: "
                                   "the id column, numeric / categorical / array / text features, the "
                                   "ground-truth column and its classes, and the columns that look like ids, "
                                   "names or finer labels under data.hidden. Prints what it decided and why.")
    p.add_argument("data", nargs="+", type=Path, metavar="DATA",
                   help="data files; the others are joined onto the first by the id column")
    p.add_argument("--out", type=Path, default=Path(DEFAULT_CONFIG), help=f"config to write (default: {DEFAULT_CONFIG})")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--id-column", default=None, help="id column (default: proposed)")
    p.add_argument("--ground-truth", default=None,
                   help="ground-truth column (default: proposed; '' for none)")
    p.add_argument("--classes", default=None, help="class names, comma-separated (default: the ground truth's)")
    p.add_argument("--featurizer", default=None, help="featurizer of text columns (default: minilm if installed, "
                                                      "else tfidf)")
    p.add_argument("--name", default=None, help="session name (default: the first file's name)")
    p.set_defaults(func=cmd_init)

    p = add("train", "Retrain the head on the stored labels; save the model (skops), metrics JSON "
                     "and a learning-curve PNG.", cmd_train)
    p.add_argument("--out", type=Path, help="folder for metrics.json, curve.csv and curve.png "
                                            "(default: the config's models folder)")

    p = add("score", "Predict every object: class, probabilities and uncertainty, to Parquet or CSV.",
            cmd_score)
    p.add_argument("--out", type=Path, required=True, help="output file (.parquet or .csv)")

    p = add("query", "Print the next objects to label (CSV), chosen by the config's strategy.", cmd_query)
    p.add_argument("-n", type=int, default=None, help="how many (default: loop.batch_size)")
    p.add_argument("--annotator", help="who will label them (they are leased to this name)")
    p.add_argument("--no-lease", action="store_true", help="do not reserve them for the annotator")
    p.add_argument("--new-store", action="store_true",
                   help="create the label store if it does not exist yet (a new session's first query; "
                        "without it a missing store is an error, so a typo in labels.store is caught)")
    p.add_argument("--out", type=Path, help="write CSV here instead of standard output")

    p = add("label", "Import labels from a CSV/Parquet file into the label store.", cmd_label)
    p.add_argument("--from", dest="source_file", type=Path, required=True, help="file with labels")
    p.add_argument("--id-column", default=None, help="id column in the file (default: data.id_column)")
    p.add_argument("--label-column", default="label", help="label column in the file (default: label)")
    p.add_argument("--source", default="import", choices=("import", "human", "catalogue"),
                   help="how these labels were obtained (default: import)")
    p.add_argument("--annotator", default=None, help="annotator name recorded with the labels")
    p.add_argument("--split", default="train", choices=("train", "test"),
                   help="train labels teach the model; test labels only evaluate it")
    p.add_argument("--chosen", default="strategy", choices=("strategy", "random"),
                   help="how the objects were chosen: random (a uniform random sample of the data: they "
                        "also measure accuracy without bias, as audit labels) or strategy (default: any "
                        "other way, e.g. by a query strategy or by hand)")

    p = add("simulate", "Evaluation harness: an oracle (the ground-truth column) answers the queries; "
                        "writes DIR/curve.csv and DIR/curve.png.", cmd_simulate)
    p.add_argument("--budget", type=int, default=200, help="human labels to spend (default: 200)")
    p.add_argument("--strategy", action="append", default=None,
                   help="query strategy (repeat to compare; default: the config's)")
    p.add_argument("--seed", action="append", type=int, default=None,
                   help="seed of the split and start labels (repeatable; default: the config's)")
    p.add_argument("--seeds", type=int, default=None, help="run seeds 0..N-1 instead")
    p.add_argument("--out", type=Path, default=Path("runs/simulate"), help="output folder")
    p.add_argument("--oracle-column", default=None, help="ground-truth column (default: data.ground_truth)")
    p.add_argument("--head", default=None, help="head type to use instead of the config's")
    p.add_argument("--initial", type=int, default=None, help="random start labels (default: loop.initial_labels)")
    p.add_argument("--batch-size", type=int, default=None, help="labels per query batch (default: loop.batch_size)")
    p.add_argument("--test-size", type=float, default=0.3, help="held-out stratified fraction (default: 0.3)")
    p.add_argument("--loop", action="append", default=None,
                   help="loop to run: active, self-training, self-paced or aspl (repeat to compare; "
                        "default: the config's); reports pseudo-labels and their precision per round")
    p.add_argument("--loop-param", action="append", default=None, metavar="KEY=VALUE",
                   help="loop parameter for every --loop, e.g. policy=flexmatch or tau=0.9 (repeatable)")
    p.add_argument("--baselines", action="store_true",
                   help="also run {logistic regression, HGB} x {random, margin, entropy} (10 random start "
                        "labels) on the same splits and seeds; writes DIR/baselines.md (tables) and "
                        "DIR/baselines.png (the config's session over the baselines' envelope)")

    p = add("export", "Write a bundle a colleague can open: config (relative paths), labels and data.",
            cmd_export)
    p.add_argument("--out", type=Path, required=True, help="bundle folder (created; must be empty)")
    p.add_argument("--data", choices=("copy", "link"), default="copy",
                   help="copy the data into the bundle, or point to it (default: copy)")
    p.add_argument("--with-model", action="store_true", help="include the newest saved model")

    p = add("serve", "Start the browser dashboard on the config (default: the shipped config.yaml and "
                     "example_data/); given a data file (DATA.parquet, .csv, .fits) instead, a setup page "
                     "writes config.yaml next to it and starts labelling.", cmd_serve)
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=5006, help="port to listen on (default: 5006)")
    p.add_argument("--show", action="store_true", help="open the dashboard in a web browser")
    p.add_argument("--num-threads", type=int, default=0,
                   help="threads handling browser events (default: 0, on the event loop: the lowest latency, "
                        "as every slow task already runs in worker threads)")
    p.add_argument("--layout", default=None,
                   help="dashboard layout: a name from layouts/ or a .yaml file (default: the config's ui.layout)")
    p.add_argument("--allow-plugins", action="store_true",
                   help="let uploaded or opened bundles name plugin classes by dotted import path "
                        "(runs their code: only for bundles from people you trust)")
    auth = p.add_argument_group("who may connect (README: Safety)")
    auth.add_argument("--password-file", type=Path, default=None,
                      help="sign-in with the users of this file (hashed; make it with: alabel passwd FILE USER)")
    auth.add_argument("--oauth-provider", default=None,
                      help="sign-in through Panel's OAuth provider of this name (github, google, azure, generic...); "
                           "client secret in PANEL_OAUTH_SECRET")
    auth.add_argument("--oauth-key", default=None, help="OAuth client id (default: PANEL_OAUTH_KEY)")
    auth.add_argument("--oauth-redirect-uri", default=None, help="OAuth redirect URI (default: Panel's)")
    auth.add_argument("--cookie-secret-file", type=Path, default=None,
                      help="file keeping the secret that signs sign-in cookies, made 0600 on first use "
                           "(default: .alabel/cookie-secret beside the config; PANEL_COOKIE_SECRET overrides)")
    auth.add_argument("--allow-host", action="append", default=[], metavar="HOST[:PORT]",
                      help="also answer requests for this host name (repeatable), e.g. the name a reverse "
                           "proxy forwards; by default only the bound address and this machine's loopback names")

    p = sub.add_parser("passwd", help="Add a user to a password file for alabel serve --password-file, or change "
                                      "their password (stored as a salted scrypt hash).",
                       description="Add a user to a password file for alabel serve --password-file, or change "
                                   "their password. The password is read from the terminal (twice), or as one "
                                   "line from standard input when it is not a terminal. The file keeps salted "
                                   "scrypt hashes, mode 0600.")
    p.add_argument("file", type=Path, help="password file (created if missing)")
    p.add_argument("user", help="user name (letters, digits, ._@+-)")
    p.add_argument("--delete", action="store_true", help="remove the user instead")
    p.set_defaults(func=cmd_passwd)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from alabel.core.errors import AlabelError

    _one_line_warnings()
    try:
        return int(args.func(args) or 0)
    except AlabelError as exc:
        print(f"alabel: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except sqlite3.Error as exc:  # the label store's disk is full or read-only
        print(f"alabel: error: label store: {exc}", file=sys.stderr)
        return 4
    except OSError as exc:  # disk full, read-only folder...: one line, never a traceback
        from alabel.core.files import storage_error

        where = exc.filename or "alabel"
        print(f"alabel: error: {storage_error(where, exc, 'input/output error')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("alabel: interrupted", file=sys.stderr)
        return 130


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------
def _one_line_warnings() -> None:
    """Show alabel's own warnings (a leaky feature, a class lost to ``missing: drop``) as one line."""
    import warnings

    from alabel.core.data import DataWarning

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataWarning):
            print(f"alabel: warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def _open_session(args, **kwargs):
    """The session of a command that reads labels: it never creates a store."""
    from alabel.core.session import Session

    kwargs.setdefault("create_store", False)
    return Session.from_config(args.config, background=False, persist_models=True, **kwargs)


def _current_model(session, quiet: bool):
    """The newest saved model if it has seen every label, else a fresh retrain."""
    from alabel.core.errors import NotReadyError

    model = session.restore_latest_model()
    if model is not None and model.label_revision == session.labels_revision:
        _info(f"using model version {model.version} ({model.n_labels} labels)", quiet)
        return model
    _info("labels changed since the last saved model: retraining" if model is not None
          else "no saved model yet: training", quiet)
    model = session.retrain()
    if model is None:
        raise NotReadyError(f"{session.config.source}: no model yet: label objects of at least two "
                            "classes first (alabel query / alabel label)")
    return model


def cmd_init(args) -> int:
    from alabel.core.scaffold import propose, write_config

    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    proposal = propose(args.data, id_column=args.id_column, ground_truth=args.ground_truth, classes=classes,
                       featurizer=args.featurizer)
    out = write_config(proposal, args.out, force=args.force, name=args.name)
    for line in proposal.report():
        print(line)
    print(f"wrote {out}; check it, then: alabel serve {out}"
          + (f" (or alabel simulate {out})" if proposal.ground_truth else ""))
    return 0


def cmd_train(args) -> int:
    from alabel.core import files
    from alabel.core.errors import NotReadyError
    from alabel.core.evaluation.learning_curve import replay_learning_curve
    from alabel.core.evaluation.simulate import plot_curve

    with _open_session(args) as session:
        _info(f"training {session.config.head.get('type')} on the labels in {session.config.store_path}",
              args.quiet)
        model = session.retrain()
        if model is None:
            raise NotReadyError(f"{session.config.source}: no model: the store holds no train labels of "
                                "two classes yet")
        out = args.out or session.config.models_dir
        files.write_text(out / "metrics.json", json.dumps(model.summary(), indent=2))
        curve = replay_learning_curve(session, progress=not args.quiet)
        with files.atomic_path(out / "curve.csv") as tmp:
            curve.to_csv(tmp, index=False)
        if len(curve):
            plot_curve(curve, out / "curve.png", title=f"{session.config.name}: learning curve")
        metrics = model.metrics
        print(f"model version {model.version}: {model.n_labels} labels, "
              + (f"accuracy {metrics['accuracy']:.3f} ({metrics['evaluation']}, n={metrics['n_evaluated']})"
                 if metrics.get("n_evaluated") else f"not evaluated ({metrics.get('note', '')})"))
        for line in model_explanation(metrics):
            print(line)
        print(f"wrote {session.config.models_dir}/model-v{model.version:05d}.skops, {out}/metrics.json, "
              f"{out}/curve.csv" + (f", {out}/curve.png" if len(curve) else ""))
    return 0


def model_explanation(metrics: dict) -> list[str]:
    """Lines saying which head the auto head chose (and why) and the accuracy to trust."""
    from alabel.core.evaluation import estimates

    lines = []
    choice = metrics.get("head_choice")
    if choice:
        lines.append(f"head auto: {choice.get('note') or choice.get('chosen')}")
        if choice.get("caution"):
            lines.append(f"head auto: CAUTION: {choice['caution']}")
    estimate = metrics.get("estimate")
    if estimate is not None:
        biased = " BIASED: no random labels yet, see labels.audit_fraction" if estimate.get("biased") else ""
        lines.append(f"estimate: {estimates.describe(estimate)}{biased}")
    return lines


def cmd_score(args) -> int:
    from alabel.core.predictions import check_output_path, score_table, write_table

    check_output_path(args.out)  # fail before any work
    with _open_session(args) as session:
        model = _current_model(session, args.quiet)
        table = score_table(session, model)
        path = write_table(table, args.out)
        print(f"scored {len(table)} objects with model version {model.version}: {path}")
    return 0


def cmd_query(args) -> int:
    import pandas as pd

    from alabel.core.labels import anonymous_annotator

    _at_least(args.n, 1, "-n")
    # Without --annotator (or labels.annotator) the leases are this run's own: two runs
    # must not hand out the same objects.
    with _open_session(args, annotator=args.annotator or None, create_store=args.new_store) as session:
        if not (args.annotator or session.config.labels.annotator):
            session.annotator = anonymous_annotator()
        model = None
        if session.labels("train")["label"].nunique() >= 2:
            model = _current_model(session, args.quiet)
        elif not args.quiet:
            _info("no model yet (labels of two classes needed): the strategy picks at random", False)
        items = session.query(args.n, lease=not args.no_lease)
        table = pd.DataFrame([{
            "id": i.object_id, "score": i.score, "strategy": i.strategy,
            "prediction": i.prediction, "model_version": i.model_version, "reason": i.reason,
        } for i in items])
        del model
        if args.out:
            from alabel.core.files import atomic_path

            with atomic_path(args.out) as tmp:
                table.to_csv(tmp, index=False)
            print(f"wrote {len(table)} queries to {args.out}")
        else:
            table.to_csv(sys.stdout, index=False)
    return 0


def cmd_label(args) -> int:
    from alabel.core.config import SessionConfig
    from alabel.core.data import load_pool
    from alabel.core.evaluation.estimates import random_sample_event_id

    config = SessionConfig.load(args.config)
    pool = load_pool(config.data, cache_dir=config.cache_dir)
    store = config.open_store(create=True)  # labelling creates the store
    classes = config.class_names or _truth_classes(pool)
    # The store must be this session's (core/labels/identity.py).
    classes = store.claim(id_column=config.data.id_column, ids=pool.ids, classes=classes,
                          foreign=config.labels.foreign_store, where=config.source)
    if classes:
        store.set_classes(classes)
        _check_import_classes(args.source_file, args.label_column, classes, config.source)
    before = store.n_labels(split=None, sources=None)
    events = store.import_labels(args.source_file, source=args.source,
                                 annotator=args.annotator or config.labels.annotator or "import",
                                 id_column=args.id_column or config.data.id_column,
                                 label_column=args.label_column, split=args.split,
                                 known_ids=set(pool.ids),
                                 event_id=random_sample_event_id if args.chosen == "random" else None)
    after = store.n_labels(split=None, sources=None)
    print(f"imported {len(events)} labels from {args.source_file} into {config.store_path} "
          f"({after - before} newly labelled objects, {after} in total)"
          + ("; marked as a random sample: they count for the audit estimate" if args.chosen == "random" else ""))
    return 0


def _check_import_classes(path: Path, column: str, classes: list[str], where: str) -> None:
    """Every label of an import file is a class of the config (the error names both files and the key)."""
    import pandas as pd

    from alabel.core.checks import check_labels

    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, usecols=[column])
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path, columns=[column])
        else:
            return  # the store's importer names the formats it reads
    except (OSError, ValueError, KeyError):
        return  # a missing file or column: the store's importer says which, in one line
    labels = frame[column].astype(object).where(frame[column].notna(), None)
    check_labels(labels, classes, where=where, context=f"{path}: column {column!r}, ")


def cmd_simulate(args) -> int:
    from alabel.core.config import SessionConfig
    from alabel.core.evaluation.simulate import SimulationPlan, format_summary, plot_curve, run_simulation, summarise

    _at_least(args.budget, 1, "--budget")
    _at_least(args.seeds, 1, "--seeds")
    _at_least(args.initial, 0, "--initial")
    _at_least(args.batch_size, 1, "--batch-size")
    if not 0.0 < args.test_size < 1.0:
        raise _config_error(f"--test-size: must be between 0 and 1, got {args.test_size}")
    config = SessionConfig.load(args.config)
    seeds = list(range(args.seeds)) if args.seeds else (args.seed or [config.seed])
    if args.baselines:  # the config's session beside the baseline grid (core/evaluation/baselines.py)
        from alabel.core.evaluation.baselines import simulate_with_baselines

        for option in ("strategy", "head", "loop", "loop_param"):
            if getattr(args, option):
                raise _config_error(f"--{option.replace('_', '-')}: not with --baselines, which runs the "
                                    "config's own session beside a fixed grid (edit the config instead)")
        progress = _progress_bar(total=len(seeds) * 7 * args.budget, quiet=args.quiet, unit="label")
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
    progress = _progress_bar(total=len(seeds) * len(strategies or [None]) * len(loops or [None]) * args.budget,
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
        _info(f"note: the pool ran out at {int(curve['labels'].max())} labels, before --budget "
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
            raise _config_error(f"--loop-param: expected KEY=VALUE, got {item!r}")
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


def cmd_export(args) -> int:
    from alabel.core.bundle import export_bundle
    from alabel.core.config import SessionConfig

    config = SessionConfig.load(args.config)
    path = export_bundle(config, args.out, data=args.data, with_model=args.with_model)
    print(f"exported the session to {path} (open it with: alabel train {path})")
    return 0


def cmd_serve(args) -> int:
    from alabel.core.registry import allow_bundle_plugins
    from alabel.dashboard.app import serve
    from alabel.dashboard.auth import AuthOptions

    allow_bundle_plugins(args.allow_plugins)
    auth = AuthOptions(password_file=args.password_file, oauth_provider=args.oauth_provider,
                       oauth_key=args.oauth_key, oauth_redirect_uri=args.oauth_redirect_uri,
                       cookie_secret_file=args.cookie_secret_file)
    options = dict(address=args.address, port=args.port, show=args.show, num_threads=args.num_threads,
                   layout=args.layout, allow_hosts=tuple(args.allow_host), auth=auth)
    if _is_data_file(Path(args.config)):  # no config yet: the setup page writes one next to the data
        from alabel.dashboard.setup_page import SetupServer

        data = Path(args.config)
        out = data.resolve().parent / DEFAULT_CONFIG
        if out.exists():
            raise _config_error(f"{out}: already exists; serve it (alabel serve {out}) or move it away to set "
                                f"up {data.name} again")
        serve(None, setup=SetupServer([data], out), **options)
        return 0
    config = Path(args.config)
    if args.config == DEFAULT_CONFIG and not config.exists():
        shipped = Path(__file__).resolve().parents[1] / DEFAULT_CONFIG  # the repository's example session
        config = shipped if shipped.exists() else config
    serve(config, **options)
    return 0


def cmd_passwd(args) -> int:
    from alabel.dashboard.passwords import check_user_name, set_password

    check_user_name(args.user)
    if args.delete:
        existed = set_password(args.file, args.user, None)
        print(f"{args.file}: {'removed' if existed else 'no'} user {args.user}")
        return 0
    password = _read_new_password()
    existed = set_password(args.file, args.user, password)
    print(f"{args.file}: {'changed the password of' if existed else 'added'} user {args.user}")
    return 0


def _read_new_password() -> str:
    """The new password: typed twice on a terminal, else the first line of standard input."""
    import getpass

    if sys.stdin.isatty():
        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            raise _config_error("passwd: the two passwords differ; nothing written")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise _config_error("passwd: the password is too short (at least 8 characters); nothing written")
    return password


# ---------------------------------------------------------------------------
def _is_data_file(path: Path) -> bool:
    """A table a data format reads (``.parquet``, ``.csv``, ``.fits``...), not a config."""
    from alabel.core.data.formats import known_formats

    name = path.name.lower()
    return not name.endswith((".yaml", ".yml")) and any(
        name.endswith(ext) for cls in known_formats().values() for ext in cls.extensions)


def _config_error(message: str):
    from alabel.core.errors import ConfigError

    return ConfigError(message)


def _at_least(value: int | None, minimum: int, option: str) -> None:
    if value is not None and value < minimum:
        raise _config_error(f"{option}: must be at least {minimum}, got {value}")


def _truth_classes(pool) -> list[str]:
    import pandas as pd

    if pool.ground_truth is None:
        return []
    return pd.Series(pool.ground_truth).dropna().astype(str).value_counts().index.tolist()


def _info(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr)


def _progress_bar(total: int, quiet: bool, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, disable=quiet, unit=unit, file=sys.stderr, dynamic_ncols=True, mininterval=1.0)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alabel")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
