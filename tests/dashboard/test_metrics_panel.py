"""The metrics panel: one headline accuracy, legends outside the plot, readable confusion cells (no browser)."""
from __future__ import annotations

import numpy as np
from bokeh.palettes import Blues256
from dash_fixtures import wait_for

from alabel.dashboard.components.metrics import MetricsPanel, ink_colours, luminance
from alabel.dashboard.components.model import headline_html, metrics_html


def _label(session, n: int) -> None:
    truth = np.asarray(session.pool.ground_truth).astype(str)
    items = session.query(n, lease=False)
    session.teach_many([i.object_id for i in items], [truth[i.row] for i in items])


def test_one_headline_accuracy_says_how_it_was_measured():
    metrics = {"evaluation": "out-of-fold", "n_evaluated": 30, "accuracy": 0.9, "accuracy_interval": [0.8, 0.95],
               "balanced_accuracy": 0.88, "macro_f1": 0.87,
               "estimate": {"accuracy": 0.9, "interval": [0.8, 0.95], "n": 30, "source": "out-of-fold",
                            "biased": True, "method": "out of fold on 30 labels chosen by the strategy"}}
    shown = metrics_html(metrics)
    assert shown.startswith("<div class='accuracy-headline'") and shown.count("accuracy-headline") == 1
    assert "measured on out of fold on 30 labels" in shown and "optimistic" in shown
    said_biased = dict(metrics, estimate=dict(metrics["estimate"], method="out of fold on 30 labels (biased)"))
    assert "optimistic" not in headline_html(said_biased)  # said once, not twice
    assert "<details class='metrics-details'>" in shown  # the other scores are folded away
    audit = dict(metrics, estimate={"accuracy": 0.8, "interval": [0.6, 0.9], "n": 12, "source": "audit",
                                    "biased": False, "method": "12 random audit labels"})
    top = headline_html(audit)
    assert "Estimated accuracy <b style='font-size:1.3em'>0.800</b>" in top and "optimistic" not in top
    assert "12 random audit labels" in top


def test_confusion_text_is_white_on_dark_cells_and_black_on_light_ones():
    palette = list(reversed(Blues256))
    assert luminance("#ffffff") == 1.0 and luminance("#000000") == 0.0
    inks = ink_colours([0, 1, 10, 20], 20, palette)
    assert inks[0] == "#000000" and inks[-1] == "#ffffff"
    for count, ink in zip([0, 1, 10, 20], inks):  # every cell's text contrasts with it (WCAG ratio >= 3)
        cell = luminance(palette[round(count / 20 * 255)])
        light, dark = max(cell, luminance(ink)), min(cell, luminance(ink))
        assert (light + 0.05) / (dark + 0.05) >= 3


def test_legend_is_below_the_curve_and_lists_only_lines_with_data(make_hub, make_state):
    hub = make_hub()
    state = make_state(hub)
    panel = MetricsPanel(state)
    assert panel.curve_legend in panel.curve_fig.below and panel.curve_legend not in panel.curve_fig.center
    _label(hub.session, 15)
    assert wait_for(lambda: len(panel.curve_session.data["n"]) >= 1, timeout=60)
    assert panel.legend_items["session"].visible
    assert not panel.legend_items["estimate"].visible, "no audit labels: no audit-estimate entry"
    assert "accuracy-headline" in panel.caption.object
    assert wait_for(lambda: len(panel.confusion_src.data["ink"]) == 9, timeout=60)
    assert set(panel.confusion_src.data["ink"]) <= {"#000000", "#ffffff"}
