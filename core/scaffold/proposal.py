"""Propose a config from data files: the id, the ground truth, the classes and every column's role."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from ..checks import leaky_columns
from ..errors import ConfigError, DataError, did_you_mean
from .columns import ColumnContext, Decision, decide, same_order_pairs, unique_per_row, ID_NAME

#: Names a ground-truth column usually has, in order of preference (compared in lower case).
TRUTH_NAMES = ("label", "labels", "class", "classes", "target", "truth", "ground_truth", "y",
               "category", "type")
#: A ground-truth column has between 2 and this many classes.
MAX_CLASSES = 100
#: Order in which feature kinds are listed.
FEATURE_KINDS = ("numeric", "categorical", "arrays", "embeddings")


@dataclass
class Proposal:
    """A config proposed for data files, with the reason for every choice.

    Attributes
    ----------
    paths : list of Path
        The data files (the first one's rows are the pool; the others are joined on the id).
    frame : DataFrame
        The joined table.
    id_column, ground_truth : str, str or None
        The chosen columns.
    classes : list of (str, int)
        Class names with their number of rows (from the ground truth, commonest first).
    decisions : dict
        Every other column → its :class:`~core.scaffold.columns.Decision`.
    notes : list of str
        Why the id, the ground truth and the classes were chosen.
    text_featurizer : str
        The featurizer text columns are embedded with.
    """

    paths: list[Path]
    frame: pd.DataFrame
    id_column: str
    ground_truth: str | None
    classes: list[tuple[str, int]]
    decisions: dict[str, Decision]
    notes: list[str] = field(default_factory=list)
    text_featurizer: str = "tfidf"

    def features(self, kind: str) -> list[str]:
        """Feature columns of one kind, in table order."""
        return [c for c, d in self.decisions.items() if d.role == "feature" and d.kind == kind]

    @property
    def hidden(self) -> list[str]:
        return [c for c, d in self.decisions.items() if d.role == "hidden"]

    @property
    def detail(self) -> list[tuple[str, str]]:
        """Columns for the detail view with their renderer (text features are shown as text)."""
        shown = [(c, d.kind) for c, d in self.decisions.items() if d.role == "detail"]
        return shown + [(c, "text") for c in self.features("embeddings")]

    @property
    def class_names(self) -> list[str]:
        return [name for name, _ in self.classes]

    def set_role(self, column: str, role: str, kind: str = "", reason: str = "chosen by hand") -> None:
        """Change one column's role (the setup page's edits)."""
        if column not in self.decisions:
            raise ConfigError(f"{column}: not a column of {self.paths[0]}{did_you_mean(column, self.decisions)}")
        self.decisions[column] = Decision(role, kind, reason)

    def report(self) -> list[str]:
        """What was decided and why, one line per decision (what ``alabel init`` prints)."""
        lines = list(self.notes)
        for kind in FEATURE_KINDS:
            columns = self.features(kind)
            if columns:
                lines.append(f"{kind} features ({len(columns)}): {_short(columns)}")
        groups = {"hidden": "hidden while labelling", "detail": "shown in the detail view",
                  "left_out": "left out"}
        for role, title in groups.items():
            for column, d in self.decisions.items():
                if d.role == role:
                    lines.append(f"{title}: {column}: {d.reason}")
        return lines


def _short(columns: Sequence[str], n: int = 12) -> str:
    return ", ".join(columns[:n]) + (f", ... ({len(columns) - n} more)" if len(columns) > n else "")


def read_tables(paths: Sequence[str | os.PathLike]) -> list[tuple[Path, pd.DataFrame]]:
    """Each data file read through the format registry (CSV, Parquet, FITS or a plugin)."""
    from ..data.formats import format_for

    tables = []
    for path in (Path(p) for p in paths):
        if not path.is_file():
            raise DataError(f"{path}: data file {'is not a file' if path.exists() else 'not found'}")
        frame = format_for(path).load(path)
        if len(frame) == 0:
            raise DataError(f"{path}: the table has no rows")
        frame.columns = [str(c) for c in frame.columns]
        tables.append((path, frame))
    return tables


def choose_id(tables: list[tuple[Path, pd.DataFrame]], wanted: str | None) -> tuple[str, str]:
    """The id column and why: a column every file has, with a distinct value in every row."""
    path, first = tables[0]
    shared = [c for c in first.columns if all(c in frame.columns for _, frame in tables[1:])]
    if wanted is not None:
        if wanted not in first.columns:
            raise DataError(f"{path}: --id-column: column {wanted!r} not found{did_you_mean(wanted, first.columns)}")
        if not unique_per_row(first[wanted]):
            raise DataError(f"{path}: --id-column: column {wanted!r} has missing or repeated values; "
                            "an id needs a distinct value in every row")
        return wanted, "chosen with --id-column"
    unique = [c for c in shared if unique_per_row(first[c])
              and not isinstance(first[c].dropna().iloc[0], (list, tuple))]
    ranked = sorted(unique, key=lambda c: (c.lower() != "id", not ID_NAME.search(c),
                                           not pd.api.types.is_integer_dtype(first[c])))
    if not ranked:
        raise DataError(f"{path}: no column has a distinct value in every row"
                        f"{' and is in every file' if len(tables) > 1 else ''}, so none can be "
                        "data.id_column; add one (e.g. the row number) or name one with --id-column")
    chosen = ranked[0]
    why = ("named id" if chosen.lower() == "id" else "named like an id" if ID_NAME.search(chosen)
           else "the first such integer column" if pd.api.types.is_integer_dtype(first[chosen])
           else "the first such column")
    return chosen, f"a distinct value in every row, {why}"


def choose_ground_truth(frame: pd.DataFrame, id_column: str, wanted: str | None) -> tuple[str | None, str]:
    """The ground-truth column (None: none) and why."""
    if wanted == "":
        return None, "none (--ground-truth '')"
    if wanted is not None:
        if wanted not in frame.columns:
            raise DataError(f"--ground-truth: column {wanted!r} not found{did_you_mean(wanted, frame.columns)}")
        if wanted == id_column:
            raise DataError(f"--ground-truth: {wanted!r} is the id column")
        return wanted, "chosen with --ground-truth"
    by_name = {c.lower(): c for c in frame.columns if c != id_column}
    for name in TRUTH_NAMES:
        column = by_name.get(name)
        if column is None:
            continue
        values = frame[column]
        if 2 <= values.nunique() <= MAX_CLASSES and not unique_per_row(values):
            return column, f"named like a label, {values.nunique()} distinct values"
    return None, ("none: no column named like a label (label, class, target, ...) with 2 to "
                  f"{MAX_CLASSES} values; labelling starts from scratch")


def class_counts(frame: pd.DataFrame, ground_truth: str | None, names: Sequence[str] | None
                 ) -> list[tuple[str, int]]:
    """Classes with their rows: the given names, else the ground truth's values, commonest first
    (integers in their order)."""
    counts = (frame[ground_truth].dropna().astype(str).value_counts() if ground_truth
              else pd.Series(dtype=int))
    if names:
        return [(str(n), int(counts.get(str(n), 0))) for n in names]
    if len(counts) and all(str(n).lstrip("-").isdigit() for n in counts.index):
        ordered = sorted(counts.items(), key=lambda item: int(item[0]))  # digits: in their order
    else:
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(str(name), int(n)) for name, n in ordered]


def text_featurizer() -> str:
    """``minilm`` when its optional packages are installed, else ``tfidf`` (no extra packages)."""
    from ..data.featurizers import featurizer_class

    try:
        featurizer_class("minilm")
    except ConfigError:
        return "tfidf"
    return "minilm"


def propose(paths: Sequence[str | os.PathLike], *, id_column: str | None = None,
            ground_truth: str | None = None, classes: Sequence[str] | None = None,
            featurizer: str | None = None, seed: int = 0) -> Proposal:
    """Read the data files and propose a config, with a reason for each choice.

    Parameters
    ----------
    paths
        Data files (CSV, Parquet, FITS, ...); the others are joined onto the first by the id.
    id_column, ground_truth
        Columns to use instead of the proposed ones (``ground_truth=""``: none).
    classes
        Class names to use instead of the ground truth's values.
    featurizer
        Featurizer of text columns (default: ``minilm`` if installed, else ``tfidf``).
    seed
        Seed of the row samples the checks look at.

    Raises
    ------
    DataError
        A file that cannot be read, or no column that can be the id.
    """
    from ..data.sources import join_sources
    from ..data.spec import DataSpec, FeatureSpec, SourceSpec

    tables = read_tables(paths)
    id_col, id_why = choose_id(tables, id_column)
    if len(tables) > 1:
        spec = DataSpec(sources=tuple(SourceSpec(p) for p, _ in tables), id_column=id_col,
                        features=FeatureSpec(numeric=(id_col,)))
        frame = join_sources(spec).frame
    else:
        frame = tables[0][1].reset_index(drop=True)
    truth, truth_why = choose_ground_truth(frame, id_col, ground_truth)
    counted = class_counts(frame, truth, classes)
    notes = [f"read {', '.join(p.name for p, _ in tables)}: {len(frame):,} rows, {frame.shape[1]} columns",
             f"id column: {id_col} ({id_why})", f"ground truth: {truth or '-'} ({truth_why})"]
    if counted:
        notes.append(f"classes ({len(counted)}): " + ", ".join(f"{n} {c:,}" for n, c in counted[:20])
                     + (", ..." if len(counted) > 20 else ""))
    ctx = ColumnContext(n_rows=len(frame), id_column=id_col, ground_truth=truth,
                        text_featurizer=featurizer or text_featurizer())
    decisions = {c: decide(frame[c], ctx) for c in frame.columns if c not in (id_col, truth)}
    if truth is not None:
        _hide_leaks(frame, truth, decisions, seed)
    _drop_same_order(frame, decisions, seed)
    return Proposal(paths=[p for p, _ in tables], frame=frame, id_column=id_col, ground_truth=truth,
                    classes=counted, decisions=decisions, notes=notes, text_featurizer=ctx.text_featurizer)


def _hide_leaks(frame: pd.DataFrame, truth: str, decisions: dict[str, Decision], seed: int) -> None:
    """Hide every column that predicts the ground truth on its own (a finer label, a class code)."""
    candidates = [c for c, d in decisions.items()
                  if (d.role == "feature" and d.kind in ("numeric", "categorical")) or d.role == "left_out"]
    for leak in leaky_columns(frame, candidates, frame[truth], seed=seed):
        decisions[leak.column] = Decision(
            "hidden", "", f"alone predicts {truth} for {leak.accuracy:.1%} of the rows (balanced accuracy "
                          f"{leak.balanced_accuracy:.3f}): a finer label or a code of the class")


def _drop_same_order(frame: pd.DataFrame, decisions: dict[str, Decision], seed: int) -> None:
    """Keep one of each pair of numeric features that are functions of each other."""
    numeric = [c for c, d in decisions.items() if d.role == "feature" and d.kind == "numeric"]
    for keep, drop, rho in same_order_pairs(frame, numeric, seed=seed):
        decisions[drop] = replace(decisions[drop], role="left_out", kind="",
                                  reason=f"in the same order as {keep} (Spearman {rho:.3f}): the same "
                                         f"information; kept {keep}, the less skewed")
