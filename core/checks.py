"""Checks before the first label: classes against the data, label names, leaky features.

Each check runs when a session (or ``alabel init``, or the setup page) opens,
so a problem is reported in one line naming the config file and the key
before any label is spent, not part-way through a run:

* :func:`check_truth_classes` - every ground-truth value is a class of
  ``classes:`` (or the config lists a class named ``other`` to collect the rest);
* :func:`check_label` - a label a person or an import gives is a class, with the
  close match suggested (``'bll'`` -> ``'BLL'``);
* :func:`check_label_file` - a file of labels to import names its columns and the
  data's ids;
* :func:`leaky_columns` - a single column that predicts the ground truth (or the
  first labels) almost perfectly probably gives the class away (a catalogue's
  class code, a finer label): it should be under ``data.hidden``, not a feature.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ConfigError, LabelStoreError, did_you_mean

#: A class with this name collects the ground-truth values no other class lists.
OTHER_CLASS = "other"
#: A column alone reaching this balanced accuracy (held out) gives the class away...
LEAK_THRESHOLD = 0.95
#: ...and so does one that gets this share of rows right while removing at least
#: ``LEAK_ERROR_CUT`` of the errors of always guessing the commonest class (a finer
#: label shared by two classes, one of them rare, misses the rare one only).
LEAK_ACCURACY = 0.97
LEAK_ERROR_CUT = 0.9
#: Fewer labelled rows than this say nothing about leakage.
LEAK_MIN_ROWS = 30
#: Rows looked at per check (a seeded sample of larger tables).
LEAK_MAX_ROWS = 20_000
#: Numeric columns are cut into this many quantile bins (NaN gets a bin of its own).
LEAK_BINS = 64


def _listing(values: Sequence[str], n: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:n])
    return shown + (", ..." if len(values) > n else "")


# ---------------------------------------------------------------------------
# classes
# ---------------------------------------------------------------------------
def check_truth_classes(truth, classes: Sequence[str], *, where: str, column: str) -> np.ndarray | None:
    """The ground truth with every value a class of ``classes``.

    Parameters
    ----------
    truth : array of str or None, or None
        The ground-truth column (None where a row has no ground truth).
    classes : sequence of str
        The config's classes.
    where : str
        The config file, for the message.
    column : str
        The ground-truth column's name, for the message.

    Returns
    -------
    ndarray or None
        ``truth`` itself when every value is a class; with a class named
        ``other``, a copy where the values no class lists become ``other``.

    Raises
    ------
    ConfigError
        ``config.yaml: classes: ground-truth column 'label' has values no class lists: ...``
    """
    if truth is None or not classes:
        return truth
    values = pd.Series(np.asarray(truth, dtype=object))
    present = values.notna().to_numpy()
    known = values.isin(list(classes)).to_numpy()
    stray = present & ~known
    if not stray.any():
        return truth
    if OTHER_CLASS in classes:
        out = np.asarray(truth, dtype=object).copy()
        out[stray] = OTHER_CLASS
        return out
    counts = values[stray].astype(str).value_counts()
    listed = ", ".join(f"{name!r} ({n} rows)" for name, n in list(counts.items())[:5])
    more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
    hint = did_you_mean(counts.index[0], classes)
    raise ConfigError(
        f"{where}: classes: ground-truth column {column!r} has values no class lists: {listed}{more}{hint}; "
        f"add them to classes:, or add a class named {OTHER_CLASS!r} to collect them "
        f"(classes: {_listing(list(classes))})"
    )


def check_label(label, classes: Sequence[str] | None, *, where: str, context: str = "") -> str:
    """``label`` as text if it is one of ``classes``; else a one-line error with the close match.

    Parameters
    ----------
    label
        The label given (converted to str).
    classes : sequence of str or None
        The config's classes (None or empty: any label is accepted).
    where : str
        The config file, for the message.
    context : str
        Where the label came from (``"labels.csv: column 'label', data row 3: "``).

    Raises
    ------
    LabelStoreError
        ``config.yaml: classes: unknown class 'bll' (did you mean 'BLL'?; classes: bcu, BLL, ...)``
    """
    text = str(label)
    if not classes or text in classes:
        return text
    hint = did_you_mean(text, classes)
    hint = f" {hint.strip()[:-1]}; " if hint else " ("
    raise LabelStoreError(
        f"{where}: classes: {context}unknown class {text!r}{hint}classes: {_listing(list(classes))})"
    )


def check_labels(labels: Iterable, classes: Sequence[str] | None, *, where: str, context: str = "",
                 rows: str = "data row") -> None:
    """:func:`check_label` on each label; the message names the first bad one's position (1-based).

    Missing labels (None, NaN) are skipped: whoever reads them reports those.
    """
    if not classes:
        return
    allowed = set(classes)
    for number, label in enumerate(labels, start=1):
        if label is None or (isinstance(label, float) and np.isnan(label)):
            continue
        if str(label) not in allowed:
            check_label(label, classes, where=where, context=f"{context}{rows} {number}: ")


def check_label_file(path, *, id_column: str, label_column: str, known_ids: Iterable) -> tuple[pd.DataFrame, str]:
    """Refuse, in one line, a label file the store would refuse (columns, empty cells, ids not in
    the data), so that a command can check it before it creates a store for it.

    Returns
    -------
    rows : DataFrame
        The file's rows under the store's field names (``object_id``, ``label``), checked: the
        command hands them to ``LabelStore.import_labels`` instead of reading the file again.
    where : str
        The file's name, for the store's messages.
    """
    from .labels.files import label_rows

    return label_rows(path, id_column=id_column, label_column=label_column, known_ids=known_ids)


# ---------------------------------------------------------------------------
# leakage
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Leak:
    """A column that predicts the class on its own.

    Attributes
    ----------
    column : str
        The column.
    balanced_accuracy, accuracy : float
        How well it predicts the class on rows it was not fitted on.
    """

    column: str
    balanced_accuracy: float
    accuracy: float

    def message(self, where: str, key: str, target: str) -> str:
        """One line naming the column and the ``data.hidden`` fix."""
        return (f"{where}: {key}: column {self.column!r} alone predicts {target} (balanced accuracy "
                f"{self.balanced_accuracy:.3f} on rows it did not see): it probably gives the class away; "
                f"remove it from data.features and list it under data.hidden")


def leaky_columns(frame: pd.DataFrame, columns: Iterable[str], target, *,
                  threshold: float = LEAK_THRESHOLD, seed: int = 0) -> list[Leak]:
    """Columns of ``frame`` that predict ``target`` almost perfectly one at a time.

    Each column is cut into values (categories, or quantile bins of a number,
    NaN its own value); each value predicts the class most of its rows have.
    The map is learnt on one half of the rows and scored on the other, both
    ways, so an id-like column with a value per row scores nothing while a
    class code, a finer label or a feature that separates the classes with
    thresholds scores close to 1.

    Parameters
    ----------
    frame : DataFrame
        The table (rows aligned with ``target``).
    columns : iterable of str
        Columns to check (plain numeric or categorical ones).
    target : array-like
        The class of each row (None/NaN: unlabelled, ignored).
    threshold : float
        Balanced accuracy (and accuracy) from which a column is reported.
    seed : int
        Seed of the row sample and of the halves.

    Returns
    -------
    list of Leak
        Worst first.
    """
    y = pd.Series(np.asarray(target, dtype=object), index=frame.index)
    labelled = y.notna().to_numpy()
    if labelled.sum() < LEAK_MIN_ROWS or y[labelled].nunique() < 2:
        return []
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(labelled)
    if len(rows) > LEAK_MAX_ROWS:
        rows = np.sort(rng.choice(rows, LEAK_MAX_ROWS, replace=False))
    y = y.iloc[rows].astype(str).to_numpy()
    half = rng.permutation(len(rows)) % 2 == 0
    majority = float(pd.Series(y).value_counts(normalize=True).iloc[0])
    leaks = []
    for column in columns:
        codes = _value_codes(frame[column].iloc[rows])
        if codes is None:
            continue
        predicted = np.empty(len(y), dtype=y.dtype)
        for fit, score in ((half, ~half), (~half, half)):
            predicted[score] = _majority_map(codes[fit], y[fit], codes[score])
        hits = predicted == y
        accuracy = float(hits.mean())
        balanced = float(np.mean([hits[y == c].mean() for c in np.unique(y)]))
        cut = 1.0 - (1.0 - accuracy) / max(1.0 - majority, 1e-9)
        if (balanced >= threshold and accuracy >= threshold) or (accuracy >= LEAK_ACCURACY
                                                                  and cut >= LEAK_ERROR_CUT):
            leaks.append(Leak(column=str(column), balanced_accuracy=balanced, accuracy=accuracy))
    return sorted(leaks, key=lambda leak: -leak.balanced_accuracy)


def _value_codes(values: pd.Series) -> np.ndarray | None:
    """Integer codes of a column's values: categories as they are, numbers in quantile bins."""
    if values.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
        return None  # arrays: not one value per row
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
        if numbers.nunique() > LEAK_BINS:
            numbers = pd.qcut(numbers, LEAK_BINS, labels=False, duplicates="drop")
        codes, _ = pd.factorize(numbers, use_na_sentinel=False)
        return codes.astype(np.int64)
    if values.nunique() > len(values) // 2:
        return None  # a value per row (names, ids, free text): no map to learn from half the rows
    codes, _ = pd.factorize(values.astype(object).where(values.notna(), None), use_na_sentinel=False)
    return codes.astype(np.int64)


def _majority_map(fit_codes: np.ndarray, fit_y: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Predict, for each of ``codes``, the commonest class of that code in the fitted half."""
    classes, y_codes = np.unique(fit_y, return_inverse=True)
    size = int(max(fit_codes.max(initial=-1), codes.max(initial=-1))) + 1
    table = np.zeros((size, len(classes)), dtype=np.int64)
    np.add.at(table, (fit_codes, y_codes), 1)
    best = table.argmax(axis=1)
    # Values the fitted half never saw get its commonest class.
    best[table.sum(axis=1) == 0] = np.bincount(y_codes).argmax()
    return classes[best[codes]]
