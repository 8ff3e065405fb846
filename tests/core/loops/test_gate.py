"""The self-training check (core/loops/gate.py): on when the human labels vouch for the
pseudo-labels, off when out-of-fold precision is poor or too few labels can tell."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from alabel.core.heads import build_head
from alabel.core.loops.gate import describe, gate_verdict, precision_gate, summary

CLASSES = ["a", "b"]


def _proba(predicted, p):
    """Two-class probabilities putting ``p`` on each row's predicted class."""
    out = np.full((len(predicted), 2), 1.0 - p)
    out[np.arange(len(predicted)), [CLASSES.index(c) for c in predicted]] = p
    return out


def test_opens_when_confident_out_of_fold_predictions_are_right():
    y = np.array(["a", "b"] * 5)
    verdict = gate_verdict(_proba(y, 0.97), y, CLASSES, lowest_confidence=0.95, min_precision=0.9)
    assert verdict == {"open": True, "precision": 1.0, "n": 10, "min_precision": 0.9}


def test_closes_when_confident_out_of_fold_predictions_are_often_wrong():
    y = np.array(["a", "b"] * 5)
    predicted = np.array(["a", "a"] * 5)  # right on the five a's, wrong on the five b's
    verdict = gate_verdict(_proba(predicted, 0.97), y, CLASSES, lowest_confidence=0.95, min_precision=0.9)
    assert not verdict["open"] and verdict["precision"] == 0.5 and verdict["n"] == 10


def test_only_labels_as_confident_as_the_pseudo_labels_vouch():
    # Six sure and right, four unsure and wrong: pseudo-labels at 0.95 and above are judged by the six.
    y = np.array(["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"])
    predicted = np.concatenate([y[:6], np.where(y[6:] == "a", "b", "a")])
    p = np.concatenate([_proba(predicted[:6], 0.97), _proba(predicted[6:], 0.6)])
    assert gate_verdict(p, y, CLASSES, lowest_confidence=0.95, min_precision=0.9)["open"]
    # Pseudo-labels down to 0.55 are vouched for by all ten, of which only six were right.
    lower = gate_verdict(p, y, CLASSES, lowest_confidence=0.55, min_precision=0.9)
    assert not lower["open"] and lower["precision"] == 0.6 and lower["n"] == 10


def test_closes_when_too_few_labels_can_tell():
    y = np.array(["a", "b", "a", "b", "a", "b"])
    p = np.concatenate([_proba(y[:3], 0.99), _proba(y[3:], 0.6)])
    verdict = gate_verdict(p, y, CLASSES, lowest_confidence=0.95, min_precision=0.9)
    assert verdict == {"open": False, "precision": None, "n": 3, "min_precision": 0.9}


def _context(X, y):
    rows = np.arange(len(y))
    labels = pd.DataFrame({"object_id": [f"o{r}" for r in rows], "row": rows, "label": y})
    spec = {"type": "logistic_regression", "scale": True}
    return SimpleNamespace(labels=lambda split="train", sources=None: labels, head_spec=spec,
                           pool=SimpleNamespace(X=X), seed=0, where="test"), spec


def _model(X, y, spec):
    head = build_head(spec, classes=CLASSES, random_state=0).fit(X, y)
    return SimpleNamespace(classes=CLASSES, head=head, version=1)


@pytest.mark.parametrize("separable, expected", [(True, True), (False, False)])
def test_a_real_head_on_data_where_the_answer_is_known(separable, expected):
    """Separated blobs: the confident predictions are right, the check opens. Labels that do not
    depend on the features: a fitted model can still be confident, and the check closes."""
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 20)
    shift = np.where(y == "a", -4.0, 4.0)[:, None] if separable else 0.0
    X = (rng.normal(size=(40, 2)) + shift).astype(np.float32)
    if not separable:
        y = y[rng.permutation(40)]
    context, spec = _context(X, y)
    model = _model(X, y, spec)
    confidence = np.full(5, 0.6)
    verdict = precision_gate(context, model, confidence, min_precision=0.9)
    assert verdict["open"] is expected
    assert verdict["n"] >= 5


def test_the_check_is_off_when_no_minimum_is_set_or_nothing_would_be_written():
    assert precision_gate(None, None, np.array([0.99]), None) is None
    assert precision_gate(None, None, np.zeros(0), 0.9) is None


def test_the_verdict_says_on_or_off_and_why():
    on = summary({"open": True, "precision": 0.97, "n": 31, "min_precision": 0.9}, 12, checked_by=4)
    assert on["on"] and on["pseudo_labels"] == 12 and on["checked_by"] == 4
    assert on["note"].startswith("ON: 12 pseudo-labels") and "0.97 right (needs 0.90)" in on["note"]
    off = summary({"open": False, "precision": 0.72, "n": 25, "min_precision": 0.9}, 0, checked_by=5)
    assert not off["on"] and off["note"].startswith("OFF:") and "only 0.72 right" in off["note"]
    few = describe({"open": False, "precision": None, "n": 2, "min_precision": 0.9}, 0)
    assert few.startswith("OFF: only 2 human labels")
    assert summary(None, 3, checked_by=1)["on"]
