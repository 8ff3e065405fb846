"""Grid labelling through the tab state: a page, many labels at once, undo as a whole."""
from __future__ import annotations

import numpy as np
from dash_fixtures import wait_for

from alabel.dashboard.components.grid import GridView
from alabel.dashboard.thumbnails import ProfileThumbnail, TextThumbnail, sparkline, thumbnail_for


def _current(state) -> dict:
    labels = state.session.store.current(split=None, sources=None)
    return dict(zip(labels["object_id"], labels["label"]))


def test_a_query_page_is_topped_up_to_its_size_and_labelled_at_once(make_state):
    state = make_state(annotator="gia")
    state.load_grid(12)
    assert wait_for(lambda: len(state.grid_page) == 12), state.message
    page = [e["object_id"] for e in state.grid_page]
    assert page[0] == state.current.object_id and len(set(page)) == 12
    chosen = page[:7]
    assert state.label_grid(chosen, "b") == 7
    assert _current(state) == {o: "b" for o in chosen}
    events = state.session.store.events()
    assert set(events["annotator"]) == {"gia"} and (events["split"] == "train").all()
    # The labelling panel moved past the answered objects; none of them is shown or queued again.
    assert state.current.object_id not in chosen
    assert not {s.object_id for s in state.queue.ahead()} & set(chosen)
    assert state.grid_labels == {o: "b" for o in chosen}


def test_undo_takes_the_whole_grid_action_back_and_earlier_labels_return(make_state):
    state = make_state(annotator="gia")
    state.load_grid(6)
    assert wait_for(lambda: len(state.grid_page) == 6)
    page = [e["object_id"] for e in state.grid_page]
    state.label_grid(page[:2], "a")
    state.label_grid(page[:4], "c")  # relabels two of them
    assert _current(state) == {**{o: "c" for o in page[:4]}}
    assert state.undo_grid() == 4
    assert _current(state) == {o: "a" for o in page[:2]}  # the labels before the action are back
    assert state.undo_grid() == 2
    assert _current(state) == {}
    assert state.undo_grid() == 0 and "nothing to undo" in state.message
    # The page still shows them, unlabelled, ready for another class.
    assert [e["object_id"] for e in state.grid_page] == page and state.grid_labels == {}
    assert state.label_grid(page[:4], "b") == 4


def test_undo_after_the_page_moved_on_shows_the_undone_objects(make_state):
    state = make_state(annotator="gia")
    state.load_grid(4)
    assert wait_for(lambda: len(state.grid_page) == 4)
    page = [e["object_id"] for e in state.grid_page]
    state.label_grid(page, "a")
    state.load_grid(4)
    assert wait_for(lambda: len(state.grid_page) == 4 and not {e["object_id"] for e in state.grid_page} & set(page))
    assert state.undo_grid() == 4
    assert [e["object_id"] for e in state.grid_page] == page


def test_ids_no_longer_on_the_page_are_refused_whole(make_state):
    state = make_state(annotator="gia")
    state.load_grid(4)
    assert wait_for(lambda: len(state.grid_page) == 4)
    on_page = state.grid_page[0]["object_id"]
    elsewhere = next(str(i) for i in state.session.pool.ids if i not in {e["object_id"] for e in state.grid_page})
    assert state.label_grid([on_page, elsewhere], "a") == 0
    assert "no longer on the grid page" in state.message and _current(state) == {}
    assert state.label_grid([on_page], "nope") == 0 and "unknown class" in state.message


def test_a_selection_page_labels_into_the_test_split_in_test_mode(make_state):
    state = make_state(annotator="gia")
    state.select(np.arange(30, 60), source="lasso")
    state.load_grid(10, source="selection", start=10)
    ids = state.session.pool.ids
    assert [e["object_id"] for e in state.grid_page] == [str(i) for i in ids[40:50]]
    state.test_mode = True
    state.load_grid(10, source="selection", start=20)
    assert state.label_grid([e["object_id"] for e in state.grid_page], "a") == 10
    labels = state.session.store.current(split="test")
    assert sorted(labels["object_id"]) == sorted(str(i) for i in ids[50:60])


def test_a_single_undo_after_a_grid_action_leaves_the_rest_to_the_grid_undo(make_state):
    state = make_state(annotator="gia")
    state.load_grid(5)
    assert wait_for(lambda: len(state.grid_page) == 5)
    page = [e["object_id"] for e in state.grid_page]
    state.label_grid(page[:3], "a")
    state.undo()  # one label of the three, by the one-at-a-time undo
    assert len(_current(state)) == 2
    assert state.undo_grid() == 2 and _current(state) == {}


def test_the_grid_component_draws_tiles_and_labels_what_the_browser_sent(make_state):
    state = make_state(annotator="gia")
    grid = GridView(state, size=8)
    assert wait_for(lambda: len(grid.grid.tiles) == 8)
    tile = grid.grid.tiles[0]
    assert "thumb-text" in tile["html"] and tile["id"] in tile["caption"]  # the blobs' text detail
    grid.grid.selected = [t["id"] for t in grid.grid.tiles[:3]]
    grid.grid._handle_msg({"action": "label", "label": "c", "objects": list(grid.grid.selected)})
    assert len(_current(state)) == 3  # (the browser clears its own selection when it sends a key)
    assert [t["label"] for t in grid.grid.tiles[:3]] == ["c", "c", "c"]
    grid.grid._handle_msg({"action": "undo"})
    assert _current(state) == {} and [t["label"] for t in grid.grid.tiles[:3]] == ["", "", ""]
    grid.dispose()


def test_thumbnails_per_kind(make_state):
    state = make_state()
    pool = state.session.pool
    assert isinstance(thumbnail_for(pool, state.session.config.data.detail), TextThumbnail)
    profile = thumbnail_for(pool, ())
    assert isinstance(profile, ProfileThumbnail) and profile.html(0).startswith("<svg")
    line = sparkline(np.arange(10), np.arange(10) ** 2)
    assert line.count(",") == 10 and "<polyline" in line
