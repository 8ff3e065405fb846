"""Label-noise check: human labels the model confidently contradicts.

Labels are checked against *out-of-fold* probabilities (each label is judged
by a model that never saw it) with the confident-learning rule of Northcutt
et al. (2021) as implemented by ``cleanlab.filter.find_label_issues``
(``prune_by_noise_rate``): per class, the confident joint of given and likely
true labels estimates how many labels are wrong, and the labels with the
highest margin towards another class are flagged. The flagged labels form the
suspicious-labels queue a person re-checks; nothing is changed automatically
(catalogue labels can be wrong, and so can the model).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

#: Columns of the suspicious-labels queue.
SUSPICIOUS_COLUMNS = ("object_id", "row", "label", "suggested", "self_confidence",
                      "suggested_confidence", "rank", "event_id", "annotator")


@dataclass
class NoiseCheck:
    """Result of one label-noise check.

    Attributes
    ----------
    suspicious : DataFrame
        The flagged labels, most suspicious first (columns :data:`SUSPICIOUS_COLUMNS`).
    n_checked : int
        Labels checked (labels of classes with fewer than two labels cannot be judged).
    folds : int
        Cross-validation folds used.
    checked_at : float
        Unix time of the check.
    note : str
        Why nothing could be checked, if so.
    """

    suspicious: pd.DataFrame
    n_checked: int
    folds: int
    checked_at: float
    note: str = ""


def out_of_fold_proba(head_spec: dict, classes: list[str], X, y, *, folds: int = 5, seed: int = 0,
                      where: str = "config.yaml", template=None) -> np.ndarray:
    """Probabilities of each labelled row from a head fitted without it.

    Parameters
    ----------
    head_spec : dict
        The session's ``head:`` section.
    classes : list of str
        Column order of the result.
    X : array of shape (n, D)
    y : array of shape (n,)
        Labels (class names).
    folds : int
        Stratified folds (fewer when the largest class has fewer labels).
    seed : int
        Seed of the fold split and of the heads.
    template : Head, optional
        A head to clone in every fold instead of building ``head_spec``: a model's
        ``evaluation_template()``, so that an ``auto`` head is measured as the candidate it chose
        (re-running the choice in every fold costs folds x candidates x folds fits).

    Returns
    -------
    ndarray of shape (n, len(classes))
    """
    from sklearn.base import clone

    from ..heads import build_head

    y = np.asarray(y).astype(str)
    _, counts = np.unique(y, return_counts=True)
    n_splits = int(min(folds, counts.max(), len(y)))
    if n_splits < 2:
        raise ValueError("out_of_fold_proba: needs at least two labels of one class")
    proba = np.zeros((len(y), len(classes)))
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # Rare classes with fewer labels than folds are expected early in a context.
        warnings.filterwarnings("ignore", message="The least populated class")
        for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
            head = (clone(template) if template is not None else
                    build_head(head_spec, classes=list(classes), random_state=seed, where=where))
            head.fit(X[train_idx], y[train_idx])
            proba[test_idx] = head.predict_proba(X[test_idx])
    return proba


def find_suspicious(y, proba, classes: list[str]) -> pd.DataFrame:
    """Labels the confident-learning rule flags, most suspicious first.

    Parameters
    ----------
    y : array of shape (n,)
        Given labels.
    proba : array of shape (n, len(classes))
        Out-of-fold probabilities.
    classes : list of str
        Column names of ``proba``.

    Returns
    -------
    DataFrame
        Columns ``position`` (index into ``y``), ``label``, ``suggested``,
        ``self_confidence``, ``suggested_confidence``, ``rank``. Only labels of
        classes with at least two labels are judged.
    """
    from cleanlab.filter import find_label_issues

    y = np.asarray(y).astype(str)
    proba = np.asarray(proba, dtype=np.float64)
    classes = [str(c) for c in classes]
    values, counts = np.unique(y, return_counts=True)
    judged = [c for c, k in zip(values, counts) if k >= 2 and c in classes]
    columns = ["position", "label", "suggested", "self_confidence", "suggested_confidence", "rank"]
    if len(judged) < 2:
        return pd.DataFrame(columns=columns)
    keep = np.flatnonzero(np.isin(y, judged))
    col = [classes.index(c) for c in judged]
    sub = proba[np.ix_(keep, col)] + 1e-12  # a fold may give a class exactly zero
    sub /= sub.sum(axis=1, keepdims=True)
    codes = np.searchsorted(np.asarray(judged), y[keep])
    ranked = find_label_issues(codes, sub, filter_by="prune_by_noise_rate",
                               return_indices_ranked_by="self_confidence", n_jobs=1)
    positions = keep[np.asarray(ranked, dtype=np.int64)]
    given = y[positions]
    best = proba[positions].argmax(axis=1)
    given_col = np.array([classes.index(c) for c in given], dtype=np.int64)
    return pd.DataFrame({
        "position": positions,
        "label": given,
        "suggested": np.asarray(classes, dtype=object)[best],
        "self_confidence": proba[positions, given_col],
        "suggested_confidence": proba[positions, best],
        "rank": np.arange(1, len(positions) + 1),
    }, columns=columns)


def check_session_labels(context, *, folds: int = 5) -> NoiseCheck:
    """Run the check on a session's human train labels (human, catalogue and import)."""
    labels = context.labels("train")
    now = time.time()
    y = labels["label"].astype(str).to_numpy()
    if len(set(y)) < 2 or np.unique(y, return_counts=True)[1].max() < 2:
        return NoiseCheck(pd.DataFrame(columns=list(SUSPICIOUS_COLUMNS)), 0, folds, now,
                          note="too few labels to check")
    rows = labels["row"].to_numpy()
    proba = out_of_fold_proba(context.head_spec, list(context.classes), context.pool.X[rows], y,
                              folds=folds, seed=context.seed, where=context.where)
    found = find_suspicious(y, proba, list(context.classes))
    picked = labels.iloc[found["position"].to_numpy(dtype=np.int64)]
    suspicious = pd.DataFrame({
        "object_id": picked["object_id"].astype(str).to_numpy(),
        "row": picked["row"].to_numpy(),
        "label": found["label"].to_numpy(),
        "suggested": found["suggested"].to_numpy(),
        "self_confidence": found["self_confidence"].to_numpy(dtype=float),
        "suggested_confidence": found["suggested_confidence"].to_numpy(dtype=float),
        "rank": found["rank"].to_numpy(dtype=np.int64),
        "event_id": picked["event_id"].astype(str).to_numpy(),
        "annotator": picked["annotator"].astype(str).to_numpy(),
    }, columns=list(SUSPICIOUS_COLUMNS))
    judged = int(np.isin(y, [c for c, k in zip(*np.unique(y, return_counts=True)) if k >= 2]).sum())
    return NoiseCheck(suspicious, judged, folds, now)
