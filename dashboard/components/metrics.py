"""The metrics panel: learning curve, confusion matrix and class balance.

The plots are Bokeh figures whose data sources are replaced after each retrain
(and, for the class balance, after label changes): a data update is a small
message, where rebuilding a plot per update would stall the event loop.
"""
from __future__ import annotations

import html

import numpy as np
import panel as pn
from bokeh.models import (ColumnDataSource, FactorRange, HoverTool, Legend, LegendItem, LinearColorMapper,
                          Range1d)
from bokeh.palettes import Blues256
from bokeh.plotting import figure
from alabel.core.params import integer

from .base import Component
from .model import headline_html

_EVALUATION_TEXT = {
    "test": "the held-out test labels",
    "out-of-fold": "out-of-fold predictions on the labelled objects (biased when a strategy chose them)",
    "oracle": "the oracle set",
}


def luminance(colour: str) -> float:
    """Relative luminance (WCAG) of a ``#rrggbb`` colour, 0 (black) to 1 (white)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ink_colours(counts, high: float, palette: list[str]) -> list[str]:
    """Text colour per confusion cell: white on dark cells, black on light ones (black on dark was unreadable)."""
    top = len(palette) - 1
    cells = [palette[min(top, max(0, int(round(c / high * top))))] for c in np.asarray(counts, dtype=float)]
    # 0.18: where white and black text have equal contrast against the cell
    return ["#ffffff" if luminance(cell) < 0.18 else "#000000" for cell in cells]


class MetricsPanel(Component):
    """How the model improves with labels, where it errs, and what has been labelled."""

    type_name = "metrics"
    title = "Metrics"
    params_spec = {"height": integer(260, "height of the plots in pixels", low=50, label="Height (px)")}

    def __init__(self, state, **options):
        super().__init__(state, **options)
        height = self.layout_options["height"]
        self.curve_session = ColumnDataSource({"n": [], "acc": [], "version": []})
        self.curve_truth = ColumnDataSource({"n": [], "acc": []})
        self.curve_random = ColumnDataSource({"n": [], "acc": []})
        # The honest estimate (random audit labels) with its 95 % interval, per model version.
        self.curve_estimate = ColumnDataSource({"n": [], "acc": [], "low": [], "high": [], "k": []})
        # Explicit ranges (widened as data arrive): an automatic range over empty sources
        # makes Bokeh warn "could not set initial ranges" on every page load.
        curve = figure(height=height, width=380, title="Learning curve", x_axis_label="labels",
                       x_range=Range1d(0, 10), y_axis_label="accuracy", y_range=(0, 1.02), tools="pan,wheel_zoom,reset",
                       toolbar_location=None)
        session_line = curve.line("n", "acc", source=self.curve_session, color="#0072B2", line_width=2)
        session_dots = curve.scatter("n", "acc", source=self.curve_session, color="#0072B2", size=5)
        truth_line = curve.line("n", "acc", source=self.curve_truth, color="#009E73", line_width=2)
        random_line = curve.line("n", "acc", source=self.curve_random, color="#D55E00", line_width=2,
                                 line_dash="dashed")
        random_dots = curve.scatter("n", "acc", source=self.curve_random, color="#D55E00", size=5)
        estimate_bars = curve.segment("n", "low", "n", "high", source=self.curve_estimate, color="#CC79A7",
                                      line_width=1.5)
        estimate_dots = curve.scatter("n", "acc", source=self.curve_estimate, color="#CC79A7", size=7,
                                      marker="diamond")
        # Below the plot, not on it (it covered the curves); an entry shows only while its line has data.
        self.legend_items = {
            "session": LegendItem(label="session (its own evaluation)", renderers=[session_line, session_dots]),
            "truth": LegendItem(label="session vs ground truth", renderers=[truth_line]),
            "random": LegendItem(label="random sampling vs ground truth", renderers=[random_line, random_dots]),
            "estimate": LegendItem(label="estimate on random audit labels (95 %)",
                                   renderers=[estimate_bars, estimate_dots]),
        }
        legend = Legend(items=list(self.legend_items.values()), orientation="vertical", location="top_left",
                        label_text_font_size="8pt", spacing=0, padding=2, margin=2, border_line_alpha=0,
                        label_height=12, glyph_height=12, css_classes=["curve-legend"])
        curve.add_layout(legend, "below")
        curve.height = height + 70  # room for the legend: the plot area keeps its height
        curve.add_tools(HoverTool(tooltips=[("labels", "@n"), ("accuracy", "@acc{0.000}")]))
        self.curve_legend = legend
        self.confusion_src = ColumnDataSource({"truth": [], "pred": [], "count": [], "text": [], "ink": []})
        self._cells = list(reversed(Blues256))
        self.confusion_mapper = LinearColorMapper(palette=self._cells, low=0, high=1)
        names = [c.name for c in state.classes]
        confusion = figure(height=height, width=320, title="Confusion matrix", x_range=FactorRange(*names),
                           y_range=FactorRange(*reversed(names)), x_axis_label="predicted", y_axis_label="true",
                           tools="hover", tooltips=[("true", "@truth"), ("predicted", "@pred"), ("n", "@count")],
                           toolbar_location=None)
        confusion.rect("pred", "truth", 1, 1, source=self.confusion_src,
                       fill_color={"field": "count", "transform": self.confusion_mapper}, line_color="white")
        confusion.text("pred", "truth", text="text", source=self.confusion_src, text_align="center",
                       text_baseline="middle", text_font_size="8pt", text_color="ink")
        confusion.xaxis.major_label_orientation = 0.8
        self.confusion_fig = confusion
        self.balance_src = ColumnDataSource({"cls": [], "train": [], "test": [], "total": [], "color": []})
        balance = figure(height=height, width=300, title="Labels per class (hatched: test)",
                         y_range=FactorRange(*reversed(names)), x_range=Range1d(0, 1),
                         x_axis_label="labels", tools="hover", tooltips=[("class", "@cls"), ("train", "@train"),
                                                                          ("test", "@test")],
                         toolbar_location=None)
        balance.hbar(y="cls", right="train", height=0.7, source=self.balance_src, fill_color="color",
                     line_color="#333333")
        balance.hbar(y="cls", left="train", right="total", height=0.7, source=self.balance_src,
                     fill_color="#ffffff", line_color="#333333", hatch_pattern="/")

        self.balance_fig = balance
        self.curve_fig = curve
        self.caption = pn.pane.HTML("", css_classes=["metrics-caption"], sizing_mode="stretch_width")
        self.watch(self._on_model, "history", "metrics")
        self.watch(self._on_reference, "reference")
        self.watch(self._on_counts, "label_counts", "classes")
        self._on_model()
        self._on_reference()
        self._on_counts()

    def __panel__(self):
        plots = pn.FlexBox(pn.pane.Bokeh(self.curve_fig), pn.pane.Bokeh(self.confusion_fig),
                           pn.pane.Bokeh(self.balance_fig), flex_wrap="wrap")  # narrow screens stack them
        return self.card(self.caption, plots)

    def _on_model(self, *_) -> None:
        history = [h for h in self.state.history if h.get("metrics", {}).get("n_evaluated")]
        session = {"n": [h["n_labels"] for h in history], "acc": [h["metrics"]["accuracy"] for h in history],
                   "version": [h["version"] for h in history]}
        audited = [(h["n_labels"], h["metrics"]["estimate"]) for h in self.state.history
                   if (h.get("metrics", {}).get("estimate") or {}).get("source") == "audit"
                   and h["metrics"]["estimate"].get("accuracy") is not None]
        estimate = {"n": [n for n, _ in audited], "acc": [e["accuracy"] for _, e in audited],
                    "low": [e["interval"][0] for _, e in audited], "high": [e["interval"][1] for _, e in audited],
                    "k": [e["n"] for _, e in audited]}
        self._fit_range(session=session["n"], estimate=estimate["n"])
        self.curve_session.data = session
        self.curve_estimate.data = estimate
        metrics = self.state.metrics or {}
        confusion = metrics.get("confusion")
        classes = [str(c) for c in metrics.get("classes", [])]
        if confusion and classes:
            matrix = np.asarray(confusion)
            truth, pred = np.meshgrid(classes, classes, indexing="ij")
            counts = matrix.ravel()
            self.confusion_mapper.high = max(1, int(counts.max()))
            self.confusion_fig.x_range.factors = classes
            self.confusion_fig.y_range.factors = list(reversed(classes))
            self.confusion_src.data = {"truth": truth.ravel().tolist(), "pred": pred.ravel().tolist(),
                                       "count": counts.tolist(),
                                       "text": [str(c) if c else "" for c in counts.tolist()],
                                       "ink": ink_colours(counts, self.confusion_mapper.high, self._cells)}
        self._update_legend()
        self._caption()

    def _on_reference(self, *_) -> None:
        reference = self.state.reference or {}
        session = reference.get("session", [])
        random = reference.get("random", [])
        truth_curve = {"n": [p["n_labels"] for p in session], "acc": [p["accuracy"] for p in session]}
        random_curve = {"n": [p["n_labels"] for p in random], "acc": [p["accuracy"] for p in random]}
        self._fit_range(truth=truth_curve["n"], random=random_curve["n"])
        self.curve_truth.data = truth_curve
        self.curve_random.data = random_curve
        self._update_legend()
        self._caption()

    def _curves(self) -> dict:
        return {"session": self.curve_session, "truth": self.curve_truth, "random": self.curve_random,
                "estimate": self.curve_estimate}

    def _fit_range(self, **coming) -> None:
        """Widen the curve's x axis for the label counts about to be drawn (``coming``: curve -> counts).

        Set before the data, so that no reader (the page, or a test polling from another
        thread) ever sees a point beyond the axis' end.
        """
        ns = [n for name, source in self._curves().items() for n in coming.get(name, source.data["n"])]
        self.curve_fig.x_range.end = max(10, max(ns, default=0) * 1.05)

    def _update_legend(self) -> None:
        for name, item in self.legend_items.items():
            item.visible = bool(len(self._curves()[name].data["n"]))

    def _on_counts(self, *_) -> None:
        counts = self.state.label_counts
        colours = {c.name: c.color for c in self.state.classes}
        if counts is None:
            return
        names = [str(c) for c in counts.index]
        self.balance_fig.y_range.factors = list(reversed(names))
        self.balance_fig.x_range.end = max(1, int((counts["train"] + counts["test"]).max() or 0)) * 1.1
        self.balance_src.data = {"cls": names, "train": counts["train"].tolist(), "test": counts["test"].tolist(),
                                 "total": (counts["train"] + counts["test"]).tolist(),
                                 "color": [colours.get(n, "#999999") for n in names]}

    def _caption(self) -> None:
        metrics = self.state.metrics or {}
        evaluation = metrics.get("evaluation")
        scored = _EVALUATION_TEXT.get(evaluation, "not scored yet") if metrics.get("n_evaluated") else \
            "not scored yet (labels of two classes needed)"
        reference = self.state.reference
        truth = (f"Green and dashed orange lines: scored on {html.escape(reference['evaluation'])}; "
                 "the dashed line trains the same head on labels drawn at random (the reference a strategy "
                 "must beat).") if reference else \
            "No ground-truth column in the data: no random-sampling reference."
        audit = ("Pink diamonds: accuracy on the random audit labels, predicted by a model that had not "
                 "seen them, with its 95 % interval: the estimate to trust while a strategy chooses the "
                 "labels. ") if self.curve_estimate.data["n"] else ""
        self.caption.object = headline_html(metrics) + (f"<div class='metrics-scored' data-evaluation='{html.escape(str(evaluation or ''))}'>"
                               f"<small>Blue line and confusion matrix: scored on {html.escape(scored)}. {audit}{truth}</small></div>")
