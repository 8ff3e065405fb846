""""Check labels" says how far to trust its flags at the model's current accuracy (no browser)."""
from __future__ import annotations

import re

import numpy as np
from dash_fixtures import wait_for

from alabel.dashboard.components.review import ReviewPanel, trust_note


def _metrics(accuracy: float, n: int) -> dict:
    return {"evaluation": "out-of-fold", "n_evaluated": n, "accuracy": accuracy,
            "estimate": {"accuracy": accuracy, "interval": [0.4, 0.7], "n": n, "source": "out-of-fold",
                         "biased": True, "method": f"out of fold on {n} labels"}}


def test_at_055_accuracy_the_check_warns_that_flags_are_mostly_the_models_mistakes():
    note = trust_note(_metrics(0.55, 40), 40)  # the case: 17 flags at 40 labels, all correct
    assert "data-trust='weak'" in note and "data-expected='18'" in note
    assert "about 18 of 40 labels even if all are right" in note and "hints" in note
    assert "data-trust='good'" in trust_note(_metrics(0.97, 200), 200)
    assert "data-trust='fair'" in trust_note(_metrics(0.9, 100), 100)
    assert "data-trust='unknown'" in trust_note({}, 40)


def test_the_panel_shows_the_caveat_after_a_check(make_hub, make_state):
    hub = make_hub(loop={"type": "active", "batch_size": 5, "params": {"noise_folds": 3}})
    state = make_state(hub, annotator="ana")
    truth = np.asarray(hub.session.pool.ground_truth).astype(str)
    rows = np.arange(24)
    hub.session.teach_many([str(hub.session.pool.ids[r]) for r in rows], [truth[r] for r in rows],
                           annotator="ana")
    assert wait_for(lambda: state.metrics.get("n_evaluated"), timeout=60)
    panel = ReviewPanel(state)
    panel.__panel__()
    panel.check_labels().result(timeout=60)
    assert wait_for(lambda: "review-trust" in panel.check_status.object, timeout=30)
    assert re.search(r"data-trust='(good|fair|weak)'", panel.check_status.object)
    panel.dispose()
