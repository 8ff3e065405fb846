"""The review panel: suspicious labels, pseudo-label accept/reject, live loop settings (no browser)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dash_fixtures import CLASSES, wait_for

from alabel.core.loops import rejected_objects
from alabel.dashboard.components.review import ReviewPanel

SELF_TRAINING = {"type": "self_training", "batch_size": 5, "initial_labels": 4,
                 "params": {"tau": 0.9, "max_ratio": 2.0}}


def _teach_truth(session, per_class: int, *, flip: int | None = None) -> list[str]:
    """Label the first ``per_class`` objects of each class with their truth (``flip``: the n-th one wrong)."""
    truth = np.asarray(session.pool.ground_truth).astype(str)
    rows = np.concatenate([np.flatnonzero(truth == c)[:per_class] for c in CLASSES])
    ids = [str(session.pool.ids[r]) for r in rows]
    labels = [truth[r] for r in rows]
    if flip is not None:
        labels[flip] = next(c for c in CLASSES if c != labels[flip])
    session.teach_many(ids, labels, annotator="ana")
    return ids


def _with_pseudo_labels(make_hub, make_state, per_class: int = 4):
    hub = make_hub(loop=SELF_TRAINING)
    state = make_state(hub, annotator="ana")
    _teach_truth(hub.session, per_class)
    hub.session.wait_for_model(timeout=60)
    assert hub.session.loop.last_round is not None and hub.session.pseudo_labels().shape[0]
    panel = ReviewPanel(state)
    panel.__panel__()
    return hub, state, panel


def _current(session, object_id: str):
    current = session.store.current()
    return current[current["object_id"] == object_id]


def test_active_loop_explains_instead_of_pseudo_buttons(make_state):
    state = make_state()
    panel = ReviewPanel(state)
    layout = panel.__panel__()
    assert panel.explanation.visible and "writes no pseudo-labels" in panel.explanation.object
    shown = {id(obj) for obj in layout.select(lambda obj: True)}
    for button in (panel.accept_selected, panel.accept_all, panel.reject_selected, panel.certify_button):
        assert id(button) not in shown
    assert id(panel.check_button) in shown and id(panel.apply_button) in shown  # every loop has these
    assert panel.accept() == 0 and state.message_level == "warning"
    panel.dispose()


def test_pseudo_labels_listed_by_class_and_confidence(make_hub, make_state):
    hub, state, panel = _with_pseudo_labels(make_hub, make_state)
    table = panel.pseudo.value
    expected = hub.session.pseudo_labels(latest_only=True)
    assert len(table) == len(expected) > 0
    assert panel.pseudo.groupby == ["label"]
    order = {c: i for i, c in enumerate(CLASSES)}
    ranks = table["label"].map(order).to_numpy()
    assert (np.diff(ranks) >= 0).all()  # grouped by class, in class order
    for _, group in table.groupby("label"):
        assert (np.diff(group["confidence"].to_numpy()) <= 1e-12).all()  # most confident first
    assert "review-round-info" in panel.round_info.object
    panel.dispose()


def test_accept_makes_human_labels_and_reject_retracts(make_hub, make_state):
    hub, state, panel = _with_pseudo_labels(make_hub, make_state)
    session = hub.session
    table = panel.pseudo.value
    accepted, rejected = str(table["object_id"].iloc[0]), str(table["object_id"].iloc[-1])
    pseudo_label = str(table["label"].iloc[0])

    panel.pseudo.selection = [0]  # ticking shows the object in the detail view
    assert state.focus_row == int(session.pool.index_of([accepted])[0]) and state.focus_source == "selection"
    assert panel.accept(selected=True) == 1
    row = _current(session, accepted)
    assert list(row["source"]) == ["human"] and list(row["label"]) == [pseudo_label]
    assert list(row["annotator"]) == ["ana"]
    assert accepted not in set(panel.pseudo.value["object_id"].astype(str))

    session.wait_for_model(timeout=60)  # the retrains the accept asked for: the next round is written
    panel.refresh()
    if rejected not in set(panel.pseudo.value["object_id"].astype(str)):
        rejected = str(panel.pseudo.value["object_id"].iloc[-1])
    index = list(panel.pseudo.value["object_id"].astype(str)).index(rejected)
    panel.pseudo.selection = [index]
    assert panel.reject() == 1
    assert _current(session, rejected).empty  # retracted: no label in force
    session.wait_for_model(timeout=60)
    assert _current(session, rejected).empty  # the next round does not pseudo-label it again
    assert rejected in rejected_objects(session.store.events())
    assert rejected not in set(panel.pseudo.value["object_id"].astype(str))
    panel.dispose()


def test_accept_all_accepts_every_listed_pseudo_label(make_hub, make_state):
    hub, state, panel = _with_pseudo_labels(make_hub, make_state)
    listed = set(panel.pseudo.value["object_id"].astype(str))
    assert panel.accept(selected=False) == len(listed)
    current = hub.session.store.current()
    sources = current[current["object_id"].isin(listed)]["source"]
    assert len(sources) == len(listed) and set(sources) == {"human"}
    panel.dispose()


def test_bad_setting_changes_nothing_and_says_why(make_hub, make_state):
    hub, state, panel = _with_pseudo_labels(make_hub, make_state)
    loop = hub.session.loop
    before = loop.settings()
    assert isinstance(panel.setting_widgets["teacher"].options, list)  # a closed set: a Select
    assert set(panel.setting_widgets["teacher"].options) == {"human", "self"}
    assert "fixed" in panel.setting_widgets["policy"].options
    panel.setting_widgets["tau"].value = 1.5  # outside (0, 1]
    panel.setting_widgets["max_per_round"].value = 7  # valid, but must not apply with the bad one
    assert panel.apply_settings() is False
    assert loop.settings() == before
    assert "loop.tau" in panel.settings_status.object and "(0, 1]" in panel.settings_status.object
    assert state.message_level == "error"

    retrains = []
    hub.session.request_retrain = lambda: retrains.append(1)
    panel.setting_widgets["tau"].value = 0.8
    assert panel.apply_settings() is True
    assert loop.settings()["tau"] == 0.8 and loop.settings()["max_per_round"] == 7
    assert retrains == [1]  # a pseudo-labelling loop re-judges the pool at once
    panel.dispose()


def test_settings_show_readable_labels_and_help_from_the_declarations(make_hub, make_state):
    """Issue 13 finding 10: no raw parameter names (stop_set_size, noise_folds) as labels."""
    hub, state, panel = _with_pseudo_labels(make_hub, make_state)
    params = hub.session.loop.params_spec
    for name, widget in panel.setting_widgets.items():
        assert widget.label == params[name].label_for(name)
        assert "_" not in widget.label, name
        if hasattr(widget, "description") and widget.description is not None:
            assert params[name].doc in widget.description and f"loop.params.{name}" in widget.description
    assert panel.setting_widgets["stop_set_size"].label == "Stability sample (rows)"
    assert panel.setting_widgets["noise_folds"].label == "Label-check folds"
    assert "out-of-fold" in panel.setting_widgets["noise_folds"].description
    # Choices come from the declarations (a closed choice, and the registered policies).
    assert panel.setting_widgets["teacher"].options == ["human", "self"]
    assert set(panel.setting_widgets["policy"].options) >= {"fixed", "flexmatch", "freematch", "entropy"}
    panel.dispose()


def test_check_labels_finds_a_planted_flip_and_resolves_it(make_hub, make_state):
    hub = make_hub(loop={"type": "active", "batch_size": 5, "params": {"noise_folds": 3}})
    state = make_state(hub, annotator="ana")
    ids = _teach_truth(hub.session, 8, flip=2)  # the third "a" object labelled as another class
    flipped = ids[2]
    panel = ReviewPanel(state)
    panel.__panel__()
    future = panel.check_labels()
    assert future is not None
    future.result(timeout=60)
    assert wait_for(lambda: not panel._checking and len(panel.suspicious.value))
    table = panel.suspicious.value
    assert list(table.columns) == ["object_id", "label", "suggested", "self_confidence", "suggested_confidence"]
    assert flipped in set(table["object_id"].astype(str))
    index = list(table["object_id"].astype(str)).index(flipped)
    assert table["suggested"].iloc[index] == "a"

    panel.suspicious.selection = [index]  # selecting shows the object in the detail view
    row = int(hub.session.pool.index_of([flipped])[0])
    assert state.focus_row == row and state.focus_source == "selection"

    panel.resolve_suspicious(use_suggestion=True)
    fixed = _current(hub.session, flipped)
    assert list(fixed["label"]) == ["a"] and list(fixed["source"]) == ["human"]
    assert flipped not in set(panel.suspicious.value["object_id"].astype(str))
    panel.dispose()


def test_a_refresh_that_moves_the_table_never_redirects_the_action(make_hub, make_state):
    hub = make_hub(loop={"type": "active", "batch_size": 5, "params": {"noise_folds": 3}})
    state = make_state(hub, annotator="ana")
    ids = _teach_truth(hub.session, 8, flip=2)
    panel = ReviewPanel(state)
    panel.check_labels().result(timeout=60)
    assert wait_for(lambda: not panel._checking and len(panel.suspicious.value))
    queue = panel._suspicious_frame
    picked = str(queue["object_id"].iloc[0])
    panel.suspicious.selection = [0]
    # A refresh lands between the pick and the click and puts another label at the top.
    other = next(o for o in ids if o not in set(queue["object_id"].astype(str)))
    before = _current(hub.session, other)["label"].tolist()
    intruder = queue.iloc[:1].assign(object_id=other, row=int(hub.session.pool.index_of([other])[0]),
                                     suggested=next(c for c in CLASSES if c not in before))
    moved = pd.concat([intruder, queue], ignore_index=True)
    panel._generation += 1
    panel._show({"suspicious": moved, "check": panel.loop.noise_check}, panel._generation)
    assert panel.suspicious.selection == [1]  # the tick follows the object...
    assert state.focus_row == int(hub.session.pool.index_of([picked])[0])  # ...and so does the detail view
    suggested = str(queue["suggested"].iloc[0])
    panel.resolve_suspicious(use_suggestion=True)
    assert list(_current(hub.session, picked)["label"]) == [suggested]  # the picked object...
    assert _current(hub.session, other)["label"].tolist() == before  # ...not the row now at its position
    panel.dispose()


def test_a_pick_during_a_worker_refresh_is_not_lost(make_hub, make_state, monkeypatch):
    """The flaky failure's cause: a refresh from a worker thread re-ticked the rows it had read
    before the person's pick landed, so "use suggestion" then found no selection."""
    import threading

    from alabel.dashboard.components import review

    hub = make_hub(loop={"type": "active", "batch_size": 5, "params": {"noise_folds": 3}})
    state = make_state(hub, annotator="ana")
    ids = _teach_truth(hub.session, 8, flip=2)
    panel = ReviewPanel(state)
    panel.check_labels().result(timeout=60)
    assert wait_for(lambda: not panel._checking and len(panel.suspicious.value))
    queue = panel._suspicious_frame
    index = list(queue["object_id"].astype(str)).index(ids[2])
    picker = threading.Thread(target=lambda: setattr(panel.suspicious, "selection", [index]))
    rounded = review._rounded

    def pick_while_refreshing(frame):  # the person clicks while the worker is inside the refresh
        if not picker.is_alive() and picker.ident is None:
            picker.start()
            picker.join(0.3)
        return rounded(frame)

    monkeypatch.setattr(review, "_rounded", pick_while_refreshing)
    for _ in range(20):  # the panel's own refresh (a worker thread, after the labels above) may
        panel._generation += 1  # bump the generation first and make this one stale: show again
        panel._show({"suspicious": queue, "check": panel.loop.noise_check}, panel._generation)
        if picker.ident is not None:
            break
    assert picker.ident is not None, "no refresh reached the table"
    picker.join(10)
    monkeypatch.setattr(review, "_rounded", rounded)
    panel.resolve_suspicious(use_suggestion=True)
    assert list(_current(hub.session, ids[2])["label"]) == ["a"]
    panel.dispose()


def test_keep_label_records_a_confirmation_and_keeps_the_label(make_hub, make_state):
    hub = make_hub(loop={"type": "active", "batch_size": 5, "params": {"noise_folds": 3}})
    state = make_state(hub, annotator="ana")
    ids = _teach_truth(hub.session, 8, flip=2)
    panel = ReviewPanel(state)
    panel.check_labels().result(timeout=60)
    assert wait_for(lambda: not panel._checking and len(panel.suspicious.value))
    index = list(panel.suspicious.value["object_id"].astype(str)).index(ids[2])
    n_events = len(hub.session.store.events())
    before = _current(hub.session, ids[2])
    panel.suspicious.selection = [index]
    panel.resolve_suspicious(use_suggestion=False)
    # Keeping is a review decision in the store (it survives a restart); the label stays as it was.
    journal = hub.session.store.events()
    assert len(journal) == n_events + 1 and journal["kind"].iloc[-1] == "confirm"
    assert journal["annotator"].iloc[-1] == "ana"
    assert _current(hub.session, ids[2]).equals(before)
    assert ids[2] not in set(panel.suspicious.value["object_id"].astype(str))
    panel.dispose()


@pytest.mark.parametrize("loop", [SELF_TRAINING, {"type": "aspl", "batch_size": 5,
                                                  "params": {"lam": 0.2, "max_ratio": 2.0}}])
def test_stopping_guidance_and_aspl_certification(make_hub, make_state, loop):
    hub = make_hub(loop=loop)
    state = make_state(hub, annotator="ana")
    _teach_truth(hub.session, 4)
    hub.session.wait_for_model(timeout=60)
    panel = ReviewPanel(state)
    panel.__panel__()
    assert wait_for(lambda: "review-stopping-line" in panel.stopping.object), panel.stopping.object
    if loop["type"] != "aspl":
        assert not panel.aspl
        panel.dispose()
        return
    assert panel.aspl
    panel.refresh_batch()
    batch = panel.batch.value
    assert len(batch) > 1
    panel.batch.selection = [0]
    rejected = str(batch["object_id"].iloc[0])
    outcome = panel.certify()
    assert outcome == {"accepted": len(batch) - 1, "rejected": 1}
    current = hub.session.store.current().set_index("object_id")
    for object_id in batch["object_id"].astype(str).iloc[1:]:
        assert current.loc[object_id, "source"] == "human"
    assert rejected not in current.index
    panel.dispose()


def test_ticks_survive_a_refresh_without_moving_the_detail_view(make_hub, make_state):
    hub, state, panel = _with_pseudo_labels(make_hub, make_state)
    hub.session.wait_for_model(timeout=60)
    panel.refresh()
    ticked = [str(o) for o in panel.pseudo.value["object_id"].iloc[[1, 2]]]
    panel.pseudo.selection = [1, 2]
    state.focus_query()  # the annotator went back to the query meanwhile
    before = state.focus_row
    panel.refresh()  # e.g. another tab labelled something
    assert [str(panel.pseudo.value["object_id"].iloc[i]) for i in panel.pseudo.selection] == ticked
    assert state.focus_row == before and state.focus_source == "query"
    panel.dispose()


def test_scatter_draws_pseudo_labels_apart(make_hub, make_state):
    """Pseudo-labelled points are faded triangles, people's labels circles (issue 5)."""
    from alabel.dashboard.components.scatter import ScatterView

    hub, state, panel = _with_pseudo_labels(make_hub, make_state)
    scatter = ScatterView(state)
    scatter.__panel__()

    def pseudo_shown():
        frame = state.labelled
        return frame is not None and (frame["source"] == "pseudo").any()

    assert wait_for(pseudo_shown, timeout=30), "the tab's label view includes the pseudo-labels"
    scatter._on_labelled()
    data = scatter.labelled_src.data
    frame = state.labelled
    pseudo = set(frame.loc[frame["source"] == "pseudo", "row"])
    assert pseudo, "the loop wrote pseudo-labels"
    markers = dict(zip(frame["row"], data["marker"]))
    assert {markers[r] for r in pseudo} == {"triangle"}
    assert {m for r, m in markers.items() if r not in pseudo} == {"circle"}
    assert min(data["alpha"]) < 1.0 == max(data["alpha"])
    panel.dispose()
