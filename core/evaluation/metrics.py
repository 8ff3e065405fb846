"""Classification metrics of a model version, and how they were estimated.

The estimate matters as much as the number: labels picked by a query strategy
are not a random sample, so accuracy measured on them is biased. Metrics are
computed on held-out *test* labels when there are any (``evaluation="test"``)
and otherwise as out-of-fold estimates on the labelled set
(``evaluation="out-of-fold"``), and always say which.
"""
from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score


def classification_metrics(y_true, y_pred, classes: list[str], *, evaluation: str) -> dict:
    """Accuracy, balanced accuracy, macro-F1 and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred
        True and predicted class names.
    classes
        Row/column order of the confusion matrix.
    evaluation
        How the labels were obtained: ``"test"``, ``"out-of-fold"`` or ``"oracle"``.

    Returns
    -------
    dict
        JSON-ready: ``accuracy``, ``accuracy_interval`` (95 % Wilson interval),
        ``balanced_accuracy``, ``macro_f1``, ``confusion`` (list of lists),
        ``classes``, ``n_evaluated`` and ``evaluation``.
    """
    y_true = np.asarray(y_true).astype(str)
    y_pred = np.asarray(y_pred).astype(str)
    n = len(y_true)
    if n == 0:
        return {"evaluation": evaluation, "n_evaluated": 0}
    acc = float(accuracy_score(y_true, y_pred))
    present = sorted(set(y_true))
    return {
        "evaluation": evaluation,
        "n_evaluated": int(n),
        "accuracy": acc,
        "accuracy_interval": list(wilson_interval(acc, n)),
        # Balanced accuracy over the classes present in the evaluation labels only:
        # an absent class has no recall to average.
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)) if present else math.nan,
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "classes": list(classes),
        "confusion": confusion_matrix(y_true, y_pred, labels=list(classes)).tolist(),
    }


def wilson_interval(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion ``p`` measured on ``n`` samples."""
    if n == 0:
        return (0.0, 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
