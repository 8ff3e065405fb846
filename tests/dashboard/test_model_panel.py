"""The model panel: idle progress, Cancel when idle, the auto head's candidates, versions across restarts."""
from __future__ import annotations

import numpy as np
from dash_fixtures import wait_for, write_config

from alabel.dashboard.components.model import ModelPanel, head_choice_html
from alabel.dashboard.hub import ServerHub


def _label(session, n: int) -> None:
    truth = np.asarray(session.pool.ground_truth).astype(str)
    items = session.query(n, lease=False)
    session.teach_many([i.object_id for i in items], [truth[i.row] for i in items])


def test_versions_go_on_after_a_server_restart(tmp_path):
    config = write_config(tmp_path)
    hub = ServerHub(config, workers=2)
    _label(hub.session, 12)
    assert hub.session.wait_for_model(timeout=60) is not None
    assert wait_for(lambda: hub.session.history, timeout=60)  # metrics in: the version is saved
    before = hub.session.history[-1]["version"]
    hub.close()

    again = ServerHub(config, workers=2)  # a new server on the same folder
    try:
        assert again.session.model is not None and again.session.model.version >= before
        _label(again.session, 5)
        assert wait_for(lambda: again.session.model.version > before, timeout=60)
        versions = [h["version"] for h in again.session.history]
        assert versions == sorted(versions) and len(set(versions)) == len(versions)  # no restart at v1
    finally:
        again.close()


def test_idle_progress_is_empty_and_cancel_says_nothing_to_cancel(make_hub, make_state):
    hub = make_hub()
    state = make_state(hub)
    _label(hub.session, 12)
    assert wait_for(lambda: state.model_version is not None and state.trainer_state == "idle", timeout=60)
    panel = ModelPanel(state)
    assert panel.progress.value == 0 and not panel.progress.active
    panel.cancel.clicks += 1
    assert "nothing to cancel" in state.message and state.message_level == "warning"


def test_candidates_without_scores_are_named_not_listed_as_blank_columns():
    choice = {"chosen": "logistic_regression", "n_selected": 12, "criterion": "log_loss",
              "scores": {"logistic_regression": None, "hist_gradient_boosting": None, "ensemble": None},
              "note": "logistic_regression: the only candidate eligible at 12 labels of 3 classes"}
    shown = head_choice_html({"head_choice": choice})
    assert "<table" not in shown and "<td></td>" not in shown
    assert "hist_gradient_boosting, ensemble" in shown
    scored = dict(choice, scores={"logistic_regression": {"log_loss": 0.4, "accuracy": 0.9},
                                  "hist_gradient_boosting": None})
    shown = head_choice_html({"head_choice": scored})
    assert shown.count("<tr") == 2 and "0.400" in shown and "hist_gradient_boosting" in shown
