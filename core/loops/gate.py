"""The self-training check: would pseudo-labels this confident be right?

Self-training helps only when the model's confident predictions are right; when
they are not, it teaches the model its own mistakes (confirmation bias; on
Portal rodents predictions above 0.95 were right 50-79 % of the time, see
bench/RESULTS.md, issue 5). The check asks the human labels: each is predicted
by a model fitted without it (out of fold), and among those predicted at least
as confidently as the least confident pseudo-label, the share predicted right
estimates the pseudo-labels' precision. Below ``min_precision`` (or with too few
such labels to tell) no pseudo-label is written, so the loop falls back to plain
active learning by itself, and opens again once the human labels vouch for it.

:func:`gate_verdict` is the pure rule (tested on synthetic probabilities);
:func:`precision_gate` fits the folds; :func:`describe` is the sentence users see.
"""
from __future__ import annotations

import numpy as np

#: Fewest human labels as confident as the pseudo-labels for the check to say anything.
MIN_VOUCHING = 5


def gate_verdict(oof_proba: np.ndarray, y: np.ndarray, classes, lowest_confidence: float,
                 min_precision: float, *, min_vouching: int = MIN_VOUCHING) -> dict:
    """The check on out-of-fold probabilities of the human labels.

    Parameters
    ----------
    oof_proba : ndarray of shape (n, n_classes)
        Out-of-fold probabilities of the human labels (columns follow ``classes``).
    y : ndarray of shape (n,)
        The human labels.
    classes : sequence of str
    lowest_confidence : float
        Confidence of the least confident pseudo-label that would be written.
    min_precision : float
        Share of vouching labels that must be predicted right.
    min_vouching : int
        Fewer vouching labels than this: closed (the share of 2 or 3 labels says nothing).

    Returns
    -------
    dict
        ``open`` (bool), ``precision`` (float or None), ``n`` (vouching labels),
        ``min_precision``.
    """
    sure = np.asarray(oof_proba).max(axis=1) >= float(lowest_confidence) - 1e-6  # pool proba is float32
    n = int(sure.sum())
    if n < min_vouching:
        return {"open": False, "precision": None, "n": n, "min_precision": float(min_precision)}
    predicted = np.asarray(classes)[np.asarray(oof_proba)[sure].argmax(axis=1)]
    precision = float(np.mean(predicted == np.asarray(y).astype(str)[sure]))
    return {"open": precision >= min_precision, "precision": round(precision, 4), "n": n,
            "min_precision": float(min_precision)}


def precision_gate(context, model, confidence: np.ndarray, min_precision: float | None) -> dict | None:
    """Run the check for pseudo-labels of these confidences; None when the check is off.

    The folds refit the model's own ``evaluation_template()`` (an ``auto`` head's chosen
    candidate), so the check measures the model that wrote the pseudo-labels, at 3 fits.
    """
    from ..evaluation.noise import out_of_fold_proba

    if min_precision is None or len(confidence) == 0:
        return None
    classes = list(model.classes)
    human = context.labels("train")
    y = human["label"].astype(str).to_numpy()
    if len(set(y)) < 2 or np.unique(y, return_counts=True)[1].max() < 2:
        return {"open": False, "precision": None, "n": 0, "min_precision": float(min_precision)}
    template = getattr(model.head, "evaluation_template", None)
    oof = out_of_fold_proba(context.head_spec, classes, context.pool.X[human["row"].to_numpy()], y,
                            folds=3, seed=context.seed, where=context.where,
                            template=template() if template is not None else None)
    return gate_verdict(oof, y, classes, float(np.min(confidence)), min_precision)


def describe(gate: dict | None, n_pseudo: int) -> str:
    """One line for ``alabel train`` and the model panel: is self-training on, and why."""
    if gate is None:
        return f"on without a check: {n_pseudo} pseudo-labels in force"
    need = f"{gate['min_precision']:.2f}"
    if gate["open"]:
        return (f"ON: {n_pseudo} pseudo-labels in force; out of fold, {gate['n']} human labels as "
                f"confident were {gate['precision']:.2f} right (needs {need})")
    if gate["precision"] is None:
        return (f"OFF: only {gate['n']} human labels predicted (out of fold) as confidently as the "
                f"pseudo-labels would be; at least {MIN_VOUCHING} must vouch for them")
    return (f"OFF: out of fold, {gate['n']} human labels as confident as the pseudo-labels were only "
            f"{gate['precision']:.2f} right (needs {need}): pseudo-labels would teach the model its mistakes")


def summary(gate: dict | None, n_pseudo: int, checked_by: int) -> dict:
    """``metrics["self_training"]`` of a model: the check's verdict, as data and as a sentence.

    ``on`` is whether pseudo-labels are in use; ``check`` the verdict of :func:`gate_verdict`
    (None: the loop runs without a check); ``checked_by`` the model version whose predictions
    were checked (the teacher of a teacher/student pair).
    """
    on = n_pseudo > 0 and (gate is None or bool(gate["open"]))
    return {"on": on, "pseudo_labels": int(n_pseudo), "check": gate, "checked_by": int(checked_by),
            "note": describe(gate, n_pseudo)}
