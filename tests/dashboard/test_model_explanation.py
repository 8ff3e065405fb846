"""The model panel and learning curve show the auto head's choice and the audit estimate (no browser)."""
from __future__ import annotations

import numpy as np
from dash_fixtures import wait_for

from alabel.dashboard.cli.training import model_explanation
from alabel.dashboard.components.metrics import MetricsPanel
from alabel.dashboard.components.model import ModelPanel, head_choice_html, metrics_html

AUTO = {"head": {"type": "auto"}, "strategy": {"type": "auto", "params": {"explore_labels": 0}}}


def _label_queries(session, rounds: int) -> None:
    truth = np.asarray(session.pool.ground_truth).astype(str)
    for _ in range(rounds):
        items = session.query(10, lease=False)
        session.teach_many([i.object_id for i in items], [truth[i.row] for i in items])
        session.wait_for_model(timeout=60)


def test_panels_show_the_head_choice_and_the_audit_estimate(make_hub, make_state):
    hub = make_hub(**AUTO)
    state = make_state(hub)
    _label_queries(hub.session, 4)
    assert wait_for(lambda: (state.metrics or {}).get("estimate", {}).get("n", 0) >= 3
                    and state.model_n_labels == 40, timeout=60), state.metrics
    estimate, choice = state.metrics["estimate"], state.metrics["head_choice"]
    assert estimate["source"] == "audit" and estimate["n"] == 4 and not estimate["biased"]

    shown = ModelPanel(state).scores.object
    assert "estimated accuracy" in shown and f"{estimate['accuracy']:.3f}" in shown
    assert f"data-n='{estimate['n']}'" in shown
    assert f"data-chosen='{choice['chosen']}'" in shown and "logistic_regression" in shown

    curve = MetricsPanel(state).curve_estimate.data
    audited = [h for h in state.history if (h["metrics"].get("estimate") or {}).get("source") == "audit"]
    assert curve["n"] == [h["n_labels"] for h in audited] and curve["n"][-1] == 40
    assert all(lo <= a <= hi for a, lo, hi in zip(curve["acc"], curve["low"], curve["high"]))


def test_without_audit_labels_no_estimate_row_is_claimed():
    metrics = {"evaluation": "out-of-fold", "n_evaluated": 30, "accuracy": 0.9, "accuracy_interval": [0.8, 0.95],
               "balanced_accuracy": 0.88, "macro_f1": 0.87,
               "estimate": {"accuracy": 0.9, "interval": [0.8, 0.95], "n": 30, "source": "out-of-fold",
                            "biased": True, "method": "out of fold on 30 labels chosen by the strategy (biased)"}}
    shown = metrics_html(metrics)
    assert "estimated accuracy" not in shown and "head-choice" not in shown and "biased" in shown
    lines = model_explanation(metrics)
    assert len(lines) == 1 and "BIASED" in lines[0]


def test_cli_explanation_names_the_choice_and_the_interval():
    metrics = {"head_choice": {"chosen": "ensemble", "n_selected": 60, "criterion": "log_loss", "scores": {},
                               "note": "chose ensemble by 5-fold out-of-fold log-loss on 60 labels"},
               "estimate": {"accuracy": 0.8, "interval": [0.49, 0.94], "n": 10, "source": "audit", "biased": False,
                            "method": "10 random audit labels, out-of-fold predictions of the chosen head"}}
    head, estimate = model_explanation(metrics)
    assert head == "head auto: chose ensemble by 5-fold out-of-fold log-loss on 60 labels"
    assert "0.800" in estimate and "0.490-0.940" in estimate and "BIASED" not in estimate


def test_both_panels_say_when_the_choice_rests_on_few_labels():
    caution = "rests on few labels (12 labels, the rarest labelled class has 1): treat the choice as provisional"
    metrics = {"head_choice": {"chosen": "logistic_regression", "n_selected": 12, "criterion": "log_loss",
                               "scores": {}, "note": "logistic_regression: the only candidate eligible",
                               "fewest_per_class": 1, "few_labels": True, "caution": caution}}
    assert model_explanation(metrics)[1] == f"head auto: CAUTION: {caution}"
    shown = head_choice_html(metrics)
    assert "data-few-labels='true'" in shown and "head-choice-caution" in shown
    assert "rarest labelled class" in shown
    metrics["head_choice"].update(few_labels=False, caution=None)
    assert len(model_explanation(metrics)) == 1 and "head-choice-caution" not in head_choice_html(metrics)


def test_candidates_still_waiting_read_as_their_own_words():
    metrics = {"head_choice": {"chosen": "logistic_regression", "n_selected": 12, "criterion": "log_loss",
                               "scores": {"logistic_regression": None, "random_forest": None},
                               "note": "the only candidate eligible"}}
    shown = head_choice_html(metrics)
    # Seen on the shipped page: "random_forestout of fold on the labels": two inline <small>s ran
    # together. The closing words start a line of their own.
    waiting = shown.index("random_forest</small>") + len("random_forest</small>")
    assert shown[waiting:].startswith(("<br>", "<div>")), shown[waiting:waiting + 40]


def test_both_panels_say_whether_self_training_is_on_and_why():
    from alabel.core.loops.gate import summary
    from alabel.dashboard.components.model import self_training_html

    off = summary({"open": False, "precision": 0.72, "n": 25, "min_precision": 0.9}, 0, checked_by=7)
    lines = model_explanation({"self_training": off})
    assert lines == [f"self-training: {off['note']}"] and "only 0.72 right" in lines[0]
    assert "data-on='false'" in self_training_html({"self_training": off})
    on = summary({"open": True, "precision": 0.97, "n": 31, "min_precision": 0.9}, 12, checked_by=8)
    assert model_explanation({"self_training": on})[0].startswith("self-training: ON: 12 pseudo-labels")
    assert "data-on='true'" in self_training_html({"self_training": on})
    assert self_training_html({}) == ""
