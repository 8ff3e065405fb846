"""The finder: ids listed as text, "more like this" beside the filter's matches (no browser)."""
from __future__ import annotations

import numpy as np
from dash_fixtures import wait_for

from alabel.dashboard.components.find import FindPanel
from alabel.dashboard.filters import parse_filter


def test_ids_are_text_and_neighbours_do_not_replace_the_matches(make_state):
    state = make_state()
    finder = FindPanel(state)
    frame = state.session.pool.frame
    state.filters = [parse_filter(frame, "x", ">=", "4")]
    matches = finder.results.value
    assert list(matches.columns)[0] == "id" and matches["id"].map(type).eq(str).all()
    assert "obj" not in matches.columns  # the id column is listed once, as text
    expected = [str(i) for i in state.session.pool.ids[state.matching_rows()][:len(matches)]]
    assert list(matches["id"]) == expected

    state.more_like(row=0, k=7)
    # The list and its summary are two updates from the worker pool: wait for both.
    assert wait_for(lambda: len(finder.neighbours.value) == 7
                    and "data-n='7'" in finder.neighbours_summary.object, timeout=30), \
        finder.neighbours_summary.object
    assert list(finder.results.value["id"]) == expected, "the filter's matches stay listed"

    finder.neighbours.selection = [2]  # picking a neighbour shows it in the detail
    assert state.focus_row == int(np.asarray(state.selection)[2])
