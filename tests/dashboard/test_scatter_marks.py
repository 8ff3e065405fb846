"""Scatter marks and scales: the queued ring is no class colour, uncertainty has a colour bar (no browser)."""
from __future__ import annotations

import numpy as np
from dash_fixtures import wait_for

from alabel.dashboard.components.metrics import MetricsPanel
from alabel.dashboard.components.scatter import BATCH_RING, UNCERTAINTY_PALETTE, ScatterView


def _hue_free(colour: str) -> bool:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return max(r, g, b) - min(r, g, b) <= 8


def test_queued_ring_is_black_and_dashed_with_a_legend_entry(make_state):
    state = make_state()
    view = ScatterView(state)
    ring = next(r for r in view.fig.renderers if getattr(r.data_source, "id", None) == view.batch_src.id)
    assert ring.glyph.line_color == BATCH_RING["color"] and list(ring.glyph.line_dash) == BATCH_RING["dash"]
    assert BATCH_RING["color"] not in {c.color for c in state.classes}
    for mode in ("label", "prediction", "uncertainty", "queried"):
        state.colour_by = mode
        assert "mark-queued" in view.legend.object and "queued for you" in view.legend.object, mode


def test_uncertainty_has_a_colour_bar_in_greys_that_no_class_uses(make_state):
    state = make_state()
    view = ScatterView(state)
    assert not view.colour_bar.visible
    state.colour_by = "uncertainty"
    assert view.colour_bar.visible and view.colour_bar in view.fig.right
    assert view.colour_bar.color_mapper.palette == UNCERTAINTY_PALETTE
    assert all(_hue_free(c) for c in UNCERTAINTY_PALETTE)
    assert not any(_hue_free(c.color) for c in state.classes)  # class colours all have a hue
    state.colour_by = "label"
    assert not view.colour_bar.visible


def test_empty_plots_have_explicit_ranges(make_state):
    """Automatic ranges over empty sources make Bokeh warn "could not set initial ranges" on load."""
    from bokeh.models import DataRange1d

    state = make_state()
    panel = MetricsPanel(state)
    for fig in (panel.curve_fig, panel.confusion_fig, panel.balance_fig):
        assert not isinstance(fig.x_range, DataRange1d) and not isinstance(fig.y_range, DataRange1d)
    # The axis is widened before the points arrive: at no moment is a point beyond its end (the page,
    # or this test polling from another thread, saw 12 labels on an axis ending at 10 when it came after).
    beyond = []
    panel.curve_session.on_change("data", lambda attr, old, new: beyond.extend(
        n for n in new["n"] if n > panel.curve_fig.x_range.end))
    truth = np.asarray(state.session.pool.ground_truth).astype(str)
    items = state.session.query(12, lease=False)
    state.session.teach_many([i.object_id for i in items], [truth[i.row] for i in items])
    assert wait_for(lambda: len(panel.curve_session.data["n"]) and panel.balance_src.data["total"], timeout=60)
    assert panel.curve_fig.x_range.end >= max(panel.curve_session.data["n"]) and beyond == []
    assert panel.balance_fig.x_range.end >= max(panel.balance_src.data["total"])
