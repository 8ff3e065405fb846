"""Test-set mode: label random objects into the held-out split, so metrics are unbiased."""
from __future__ import annotations

import html

import panel as pn

from .base import Component


class HeldOutPanel(Component):
    """Switch between strategy-chosen training labels and random held-out test labels."""

    type_name = "testset"
    title = "Test set"

    def __init__(self, state, **options):
        super().__init__(state, **options)
        self.toggle = pn.widgets.Toggle.from_param(state.param.test_mode, label="Test-set mode",
                                                   color="primary", css_classes=["testset-toggle"])
        self.within = pn.widgets.Checkbox.from_param(state.param.test_within_filters,
                                                     label="draw only among objects matching the finder's filters",
                                                     css_classes=["testset-within"])
        self.info = pn.pane.HTML("", css_classes=["testset-info"], sizing_mode="stretch_width")
        self.watch(self._on_info, "label_counts", "metrics", "test_mode", "filters")
        self._on_info()

    def __panel__(self):
        explain = pn.pane.HTML(
            "<small>Labels chosen by a query strategy are not a random sample, so accuracy measured on them "
            "is biased. In test-set mode you label objects drawn at random; they go to the <b>test</b> split, "
            "are never trained on, and the metrics are then scored on them.</small>", sizing_mode="stretch_width")
        return self.card(explain, self.toggle, self.within, self.info)

    def _on_info(self, *_) -> None:
        counts = self.state.label_counts
        n_test = int(counts["test"].sum()) if counts is not None else 0
        metrics = self.state.metrics or {}
        scored = metrics.get("evaluation", "not yet")
        filters = " and ".join(html.escape(str(f)) for f in self.state.filters) or "none"
        self.info.object = (f"<div class='testset-status' data-test='{n_test}' data-mode='{int(self.state.test_mode)}'>"
                            f"{n_test} test labels · metrics scored on: <b>{html.escape(str(scored))}</b> · "
                            f"filters: {filters}</div>")
