"""``alabel``: the command line (one module per group of commands; this one parses and dispatches).

Headless commands (train, score, query, label, simulate, export) use only the
engine; ``serve`` starts the Panel dashboard. Heavy libraries are imported
inside each command so that ``alabel --help`` answers at once.

Exit codes: 0 success; 1 unexpected error; 2 usage or config error; 3 data
error; 4 label-store error; 5 not ready (e.g. no labels of two classes yet);
6 nothing left to query; 130 interrupted.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from .common import DEFAULT_CONFIG
from .labelling import cmd_label, cmd_query
from .scoring import cmd_score
from .serving import cmd_export, cmd_passwd, cmd_serve
from .simulation import cmd_simulate
from .training import cmd_init, cmd_train

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

    p = add("score", "Predict every object: class, probabilities and uncertainty, to Parquet or CSV; "
                     "with --data, apply a saved model to a new catalogue (a file or a folder of files).",
            cmd_score)
    p.add_argument("--out", type=Path, required=True,
                   help="output file (.parquet or .csv); with --data, a folder: one Parquet file per input file")
    p.add_argument("--data", type=Path, default=None,
                   help="new data to score instead of the pool: a CSV/Parquet file or a folder of them, with "
                        "the pool's id and feature columns; read in chunks")
    p.add_argument("--model", default=None, metavar="vN",
                   help="saved model version to apply with --data (default: the newest)")
    p.add_argument("--chunk-rows", type=int, default=None,
                   help="rows read and scored at a time with --data (bounds memory; default: 200000)")

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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alabel")
    except PackageNotFoundError:
        return "unknown"


__all__ = ["build_parser", "main"]
