"""The scatter of the pool: any two features or a PCA embedding.

Built on a Bokeh figure directly (not a HoloViews element) so that each kind
of update touches exactly one data source:

* the **base layer** holds every point: a glyph per point up to
  ``datashade_above`` points, above it an RGBA image rendered by datashader
  *in the hub's worker pool* (re-rendered on zoom/pan and when the colouring
  changes), so a million points never block the event loop;
* small **overlays** draw the labelled objects, the queued batch, the object
  in focus and the selection; a label click changes only these few points.

Tap, box and lasso selections arrive as geometry (Bokeh ``Tap`` and
``SelectionGeometry`` events) and are resolved to rows on the server by
:mod:`alabel.dashboard.geometry`, which works the same whether the browser
holds points or an image.
"""
from __future__ import annotations

import logging
import threading
from functools import partial

import numpy as np
import pandas as pd
import panel as pn
from bokeh.events import RangesUpdate, SelectionGeometry, Tap
from bokeh.models import (BoxSelectTool, ColorBar, ColumnDataSource, LassoSelectTool, LinearColorMapper,
                          PanTool, Range1d, ResetTool, WheelZoomTool)
from bokeh.plotting import figure

from alabel.core.errors import ConfigError, did_you_mean
from alabel.core.params import choice, integer, text, validate

from ..features import EMBEDDING_AXES, plottable_columns
from ..geometry import nearest_row, padded_bounds, rows_in_geometry
from ..state import COLOUR_MODES
from .base import Component

log = logging.getLogger(__name__)

#: Default number of points above which the base layer is rasterised.
DATASHADE_ABOVE = 50_000
#: Colour of objects without a colour (unlabelled, no model yet).
GREY = "#bdbdbd"
#: Columns of the labelled-points source (marker and alpha tell pseudo-labels apart).
EMPTY_LABELLED = {"x": [], "y": [], "color": [], "marker": [], "alpha": []}
#: At most this many selected points are drawn (the selection itself may be larger).
MAX_DRAWN_SELECTION = 20_000
#: The queued batch's ring: black and dashed (an orange ring read as a class).
BATCH_RING = {"color": "#000000", "dash": [3, 2]}
#: Uncertainty, light (certain) to dark (uncertain): greys share no hue with the class colours drawn on top.
UNCERTAINTY_PALETTE = [f"#{v:02x}{v:02x}{v:02x}" for v in np.linspace(235, 25, 64).astype(int)]


def _ring(colour: str, dash: str, width: float, cross: bool = False) -> str:
    mark = ("<path d='M3 3 L11 11 M11 3 L3 11' stroke='{c}' stroke-width='1.5'/>" if cross else
            "<circle cx='7' cy='7' r='5' fill='none' stroke='{c}' stroke-width='{w}' stroke-dasharray='{d}'/>")
    return (f"<svg width='14' height='14' style='vertical-align:middle'>"
            f"{mark.format(c=colour, w=width, d=dash)}</svg>")


def ring_colour() -> str:
    """The queued ring's colour: black, or white under the dark theme (a black ring vanishes there)."""
    return "#ffffff" if pn.config.theme == "dark" else BATCH_RING["color"]


def marks_legend(ring: str) -> str:
    """What the overlay marks mean, under every colouring (the ring is not a class)."""
    return ("<div class='scatter-marks'><small>"
            f"<span class='mark-queued'>{_ring(ring, '3 2', 1.5)} queued for you</span> · "
            f"<span class='mark-focus'>{_ring('#e00000', '', 2.5)} in focus</span> · "
            f"<span class='mark-selected'>{_ring('#d6006f', '', 1.5, cross=True)} selected</span>"
            "</small></div>")

#: What ``ui.scatter`` may hold in config.yaml (the axes are checked against the data too).
UI_SCATTER_PARAMS = {
    "x": text(None, "default x axis: a numeric column, feature or embedding", label="x axis"),
    "y": text(None, "default y axis: a numeric column, feature or embedding", label="y axis"),
    "datashade_above": integer(DATASHADE_ABOVE, "points above which the scatter is rasterised", low=0,
                               label="Rasterise above (points)"),
    "colour_by": choice("label", COLOUR_MODES, "what the points' colour shows at first", label="Colour by"),
}


def axis_names(session) -> list[str]:
    """Everything the scatter can put on an axis: numeric columns, features, PCA."""
    columns = plottable_columns(session.pool)
    if not getattr(session.pool, "in_memory", True):
        # A pool on disk (data.backend: dask): an axis is a column read on the cluster; encoded
        # features and the PCA embedding would need the whole feature matrix here.
        return columns
    features = [f for f in session.pool.feature_names if f not in columns]
    return columns + features + list(EMBEDDING_AXES)


def check_ui_scatter(session, where: str) -> None:
    """Validate ``ui.scatter`` of config.yaml (keys, axes, threshold, colouring)."""
    spec = session.config.ui.scatter or {}
    validate(UI_SCATTER_PARAMS, spec, where=where, key="ui.scatter", noun="key", fill=False)
    names = axis_names(session)
    for key in ("x", "y"):
        if key in spec and str(spec[key]) not in names:
            raise ConfigError(f"{where}: ui.scatter.{key}: {spec[key]!r} is not a numeric column, feature "
                              f"or embedding{did_you_mean(str(spec[key]), names)}")


class ScatterView(Component):
    """Scatter of every object; colour by label, prediction, uncertainty or queried."""

    type_name = "scatter"
    title = "Objects"
    params_spec = {
        "x": text(None, "column, feature or embedding on the x axis (default: the first plottable one)",
                  label="x axis"),
        "y": text(None, "column, feature or embedding on the y axis (default: the second plottable one)",
                  label="y axis"),
        "width": integer(640, "width in pixels", low=100, label="Width (px)"),
        "height": integer(480, "height in pixels", low=100, label="Height (px)"),
        "datashade_above": integer(None, "points above which the scatter is rasterised (default: "
                                   "ui.scatter.datashade_above, else 50000)", low=0,
                                   label="Rasterise above (points)"),
    }

    def __init__(self, state, **options):
        super().__init__(state, **options)
        session = state.session
        self.session = session
        ui = session.config.ui.scatter or {}
        threshold = self.layout_options["datashade_above"]
        self.threshold = threshold if threshold is not None else ui.get("datashade_above", DATASHADE_ABOVE)
        self.raster = session.pool.n > self.threshold
        self.width = self.layout_options["width"]
        self.height = self.layout_options["height"]
        if self.layout_options["x"]:
            state.x_axis = self.layout_options["x"]
        if self.layout_options["y"]:
            state.y_axis = self.layout_options["y"]
        if ui.get("colour_by"):
            state.colour_by = ui["colour_by"]
        self._xs = self._ys = np.zeros(0, dtype=np.float32)
        self._render_lock = threading.Lock()
        self._render_running = False
        self._render_again = False
        self._ranges = None
        self._build_figure()
        self._build_widgets()
        self.watch(self._on_axes, "x_axis", "y_axis")
        self.watch(self._on_colour, "colour_by")
        self.watch(self._on_model, "model_version")
        self.watch(self._on_classes, "classes")
        self.watch(self._on_labelled, "labelled")
        self.watch(self._on_queue, "current", "queued")
        self.watch(self._on_focus, "focus_row")
        self.watch(self._on_selection, "selection")
        self._on_axes()

    # -- figure ----------------------------------------------------------------------
    def _build_figure(self) -> None:
        fig = figure(width=self.width, height=self.height, x_range=Range1d(0, 1, name="alabel-scatter-x"),
                     y_range=Range1d(0, 1, name="alabel-scatter-y"), name="alabel-scatter",
                     tools=[], toolbar_location="above", output_backend="canvas",
                     min_border_left=50, css_classes=["alabel-scatter-figure"])
        self._dummy = fig.scatter(x=[], y=[], size=0, alpha=0)  # what the select tools "select"
        box = BoxSelectTool(renderers=[self._dummy], continuous=False)
        lasso = LassoSelectTool(renderers=[self._dummy], continuous=False)
        wheel = WheelZoomTool()
        fig.add_tools(PanTool(), wheel, box, lasso, ResetTool())
        fig.toolbar.active_scroll = wheel
        fig.toolbar.logo = None
        self._lasso_tool, self._box_tool = lasso, box
        self.mapper = LinearColorMapper(palette=[GREY], low=0, high=1, nan_color=GREY)
        if self.raster:
            self.base = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []})
            fig.image_rgba(image="image", x="x", y="y", dw="dw", dh="dh", source=self.base)
            fig.on_event(RangesUpdate, self._on_ranges)
        else:
            self.base = ColumnDataSource({"x": np.zeros(0, "f4"), "y": np.zeros(0, "f4"),
                                          "c": np.zeros(0, "f4")})
            fig.scatter("x", "y", source=self.base, size=4, line_color=None,
                        fill_color={"field": "c", "transform": self.mapper}, fill_alpha=0.7)
        self.labelled_src = ColumnDataSource(dict(EMPTY_LABELLED))
        # Pseudo-labels (loops) are drawn as faded triangles, people's labels as circles.
        fig.scatter("x", "y", source=self.labelled_src, size=8, fill_color="color", line_color="#222222",
                    marker="marker", fill_alpha="alpha", line_width=0.8, level="overlay")
        self.selection_src = ColumnDataSource({"x": [], "y": []})
        fig.scatter("x", "y", source=self.selection_src, size=10, marker="x", line_color="#d6006f",
                    line_width=1.5, level="overlay")
        self.batch_src = ColumnDataSource({"x": [], "y": []})
        # Black and dashed: no class colour is a dashed ring, so a queued point never reads as a class.
        self.ring = ring_colour()
        fig.scatter("x", "y", source=self.batch_src, size=15, fill_alpha=0, line_color=self.ring,
                    line_dash=BATCH_RING["dash"], line_width=1.8, level="overlay")
        self.focus_src = ColumnDataSource({"x": [], "y": []})
        fig.scatter("x", "y", source=self.focus_src, size=22, fill_alpha=0, line_color="#e00000",
                    line_width=3, level="overlay")
        # The uncertainty colouring's scale (hidden in the other colourings).
        self.uncertainty_mapper = LinearColorMapper(palette=UNCERTAINTY_PALETTE, low=0.0, high=1.0)
        self.colour_bar = ColorBar(color_mapper=self.uncertainty_mapper, title="uncertainty (1 − max p)",
                                   width=10, visible=False, major_label_text_font_size="8pt",
                                   title_text_font_size="8pt", title_text_font_style="normal")
        fig.add_layout(self.colour_bar, "right")
        fig.on_event(Tap, self._on_tap)
        fig.on_event(SelectionGeometry, self._on_geometry)
        self.fig = fig
        self.plot = pn.pane.Bokeh(fig, css_classes=["alabel-scatter-plot"])

    def _build_widgets(self) -> None:
        names = axis_names(self.session)
        for axis in (self.state.x_axis, self.state.y_axis):
            if axis not in names:
                names.append(axis)
        self.x_select = pn.widgets.Select.from_param(self.state.param.x_axis, label="x", options=names,
                                                     width=170, css_classes=["scatter-x"])
        self.y_select = pn.widgets.Select.from_param(self.state.param.y_axis, label="y", options=names,
                                                     width=170, css_classes=["scatter-y"])
        self.colour = pn.widgets.RadioButtonGroup.from_param(self.state.param.colour_by, label="colour by",
                                                             color="light", css_classes=["scatter-colour"])
        self.lasso_button = pn.widgets.Button(label="Lasso", width=70, css_classes=["scatter-lasso"])
        self.lasso_button.js_on_click(args={"tool": self._lasso_tool, "toolbar": self.fig.toolbar},
                                      code="toolbar.active_drag = tool; tool.active = true;")
        self.legend = pn.pane.HTML("", css_classes=["scatter-legend"], sizing_mode="stretch_width")
        kind = self._kind()
        self.note = pn.pane.HTML(f"<span class='scatter-note'>{kind}</span>", margin=(0, 5))

    def __panel__(self):
        controls = pn.Row(self.x_select, self.y_select, self.lasso_button)
        # As wide as the plot (a row gives the rest to its other parts); on a screen narrower
        # than the plot the card scrolls sideways, not the page. Sizing mode None, not "fixed":
        # Bokeh's "fixed" wants a height too (warning W-1005 at every page load).
        return self.card(controls, self.colour, self.plot, self.legend, self.note, title=self.title,
                         width=self.width + 24, sizing_mode=None,
                         styles={"max-width": "100%", "overflow-x": "auto"})

    def _kind(self) -> str:
        """The note under the plot: how many points, how drawn, and what a Dask pool leaves out."""
        kind = f"{self.session.pool.n:,} points" + (", rasterised by datashader" if self.raster else "")
        if not getattr(self.session.pool, "in_memory", True):
            kind += "; Dask pool: axes are data columns (PCA and encoded features are off)"
        return kind

    # -- coordinates -----------------------------------------------------------------------
    def _coords(self, name: str) -> np.ndarray:
        pool = self.session.pool
        if name in EMBEDDING_AXES:
            return self.state.hub.features.axis(name)
        if name in pool.frame.columns:
            return pd.to_numeric(pool.frame[name], errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
        if name in pool.feature_names:
            return np.asarray(pool.X[:, pool.feature_names.index(name)], dtype=np.float32)
        raise ConfigError(f"scatter: axis {name!r} is not a column, feature or embedding")

    def _on_axes(self, *_) -> None:
        x_name, y_name = self.state.x_axis, self.state.y_axis
        needs_pca = x_name in EMBEDDING_AXES or y_name in EMBEDDING_AXES
        if needs_pca and not self.state.hub.features.pca_ready:
            self.note.object = "<span class='scatter-note'>computing the PCA embedding…</span>"
            future = self.state.hub.submit(lambda: (self._coords(x_name), self._coords(y_name)))
            future.add_done_callback(lambda f: self.state.schedule(partial(self._axes_ready, f, x_name, y_name)))
            return
        try:
            xs, ys = self._coords(x_name), self._coords(y_name)
        except ConfigError as exc:
            self.state._say(str(exc), "error")
            return
        self._set_coords(xs, ys)

    def _axes_ready(self, future, x_name: str, y_name: str) -> None:
        if (x_name, y_name) != (self.state.x_axis, self.state.y_axis):
            return
        try:
            xs, ys = future.result()
        except Exception as exc:
            self.state._say(f"embedding failed: {exc}", "error")
            return
        self._set_coords(xs, ys)

    def _set_coords(self, xs: np.ndarray, ys: np.ndarray) -> None:
        self._xs, self._ys = xs, ys
        x0, x1 = padded_bounds(xs)
        y0, y1 = padded_bounds(ys)
        with pn.io.hold():
            self.fig.x_range.update(start=x0, end=x1, reset_start=x0, reset_end=x1)
            self.fig.y_range.update(start=y0, end=y1, reset_start=y0, reset_end=y1)
            self.fig.xaxis.axis_label = self.state.x_axis
            self.fig.yaxis.axis_label = self.state.y_axis
            self._ranges = (x0, x1, y0, y1)
            if self.raster:
                self._frame = pd.DataFrame({"x": xs, "y": ys})
            else:
                self.base.data = {"x": xs, "y": ys, "c": self._colour_values()}
            self._on_colour()
            self._on_labelled()
            self._on_queue()
            self._on_focus()
            self._on_selection()
        kind = self._kind()
        self.note.object = f"<span class='scatter-note'>{kind}</span>"

    # -- base colours ------------------------------------------------------------------------
    def _class_colours(self) -> list[str]:
        return [c.color for c in self.state.classes]

    def _colour_values(self) -> np.ndarray:
        """Per-point value for the colour mapper (class index, uncertainty, or NaN for grey)."""
        n = self.session.pool.n
        model = self.session.model
        mode = self.state.colour_by
        if model is None or model.proba is None or mode in ("label", "queried"):
            return np.full(n, np.nan, dtype=np.float32)
        if mode == "uncertainty":
            return (1.0 - model.proba.max(axis=1)).astype(np.float32)
        names = [c.name for c in self.state.classes]
        lookup = np.array([names.index(c) if c in names else -1 for c in model.classes])
        codes = lookup[model.proba.argmax(axis=1)].astype(np.float32)
        codes[codes < 0] = np.nan
        return codes

    def _on_colour(self, *_) -> None:
        mode = self.state.colour_by
        colours = self._class_colours()
        if mode == "prediction":
            self.mapper.update(palette=colours or [GREY], low=-0.5, high=len(colours) - 0.5)
        elif mode == "uncertainty":
            self.mapper.update(palette=UNCERTAINTY_PALETTE, low=0.0, high=1.0)
        else:
            self.mapper.update(palette=[GREY], low=0, high=1)
        self._update_legend()
        if self.raster:
            self._request_render()
        elif len(self._xs):
            self.base.data["c"] = self._colour_values()
            self.base.data = dict(self.base.data)

    def _on_model(self, *_) -> None:
        # Only the model's colourings change with a new model: redrawing (re-rasterising
        # a million points) for the label or queried colourings would be wasted work.
        if self.state.colour_by in ("prediction", "uncertainty"):
            self._on_colour()

    def _on_classes(self, *_) -> None:
        self._on_colour()
        self._on_labelled()

    def _update_legend(self) -> None:
        mode = self.state.colour_by
        model = self.session.model
        self.colour_bar.visible = mode == "uncertainty"
        if mode in ("label", "prediction"):
            swatches = "".join(
                f"<span class='swatch' style='display:inline-block;margin-right:10px'>"
                f"<span style='display:inline-block;width:10px;height:10px;background:{c.color};"
                f"border:1px solid #333;margin-right:3px'></span>{_escape(c.name)}</span>"
                for c in self.state.classes)
            what = ("labelled objects (outlined circles; faded triangles: pseudo-labels); grey: unlabelled"
                    if mode == "label"
                    else ("the newest model's class" if model is not None else "no model yet: grey"))
            text = f"<div>{swatches}</div><small>{what}</small>"
        elif mode == "uncertainty":
            text = ("<small>uncertainty 1 − max probability (colour bar): light grey certain → black uncertain; "
                    "labelled objects keep their class colour" + ("" if model is not None else
                                                                   " (no model yet: grey)") + "</small>")
        else:
            text = "<small>grey: every object; the marks below show the queue and the focus</small>"
        self.legend.object = text + marks_legend(self.ring)

    # -- datashader image (large pools) -----------------------------------------------------
    def _on_ranges(self, event) -> None:
        self._ranges = (event.x0, event.x1, event.y0, event.y1)
        self._request_render()

    def _request_render(self) -> None:
        if not len(self._xs):
            return
        with self._render_lock:
            if self._render_running:
                self._render_again = True
                return
            self._render_running = True
        self.state.hub.submit(self._render_loop)

    def _render_loop(self) -> None:
        while True:
            try:
                image = self._render(self._ranges, self.state.colour_by)
            except Exception:
                log.exception("datashader render failed")
                image = None
            if image is not None:
                self.state.schedule(partial(self._show_image, image))
            with self._render_lock:
                if not self._render_again:
                    self._render_running = False
                    return
                self._render_again = False

    def _render(self, ranges, mode: str) -> dict | None:
        import datashader as ds
        import datashader.transfer_functions as tf

        if ranges is None:
            return None
        x0, x1, y0, y1 = (float(v) for v in ranges)
        frame = self._frame
        width, height = max(self.width - 60, 50), max(self.height - 60, 50)
        canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=(x0, x1), y_range=(y0, y1))
        values = self._colour_values()
        if mode == "prediction" and np.isfinite(values).any():
            colours = self._class_colours()
            codes = np.where(np.isfinite(values), values, len(colours)).astype(np.int64)
            frame = frame.assign(c=pd.Categorical.from_codes(codes, categories=list(range(len(colours) + 1))))
            aggregate = canvas.points(frame, "x", "y", ds.count_cat("c"))
            key = dict(enumerate(colours + [GREY]))
            image = tf.shade(aggregate, color_key=key, min_alpha=60)
        elif mode == "uncertainty" and np.isfinite(values).any():
            aggregate = canvas.points(frame.assign(u=values), "x", "y", ds.mean("u"))
            image = tf.shade(aggregate, cmap=UNCERTAINTY_PALETTE, span=(0, 1), how="linear")
        else:
            aggregate = canvas.points(frame, "x", "y", ds.count())
            image = tf.shade(aggregate, cmap=["#d9d9d9", "#525252"], how="eq_hist")
        image = tf.dynspread(image, threshold=0.5, max_px=3)
        return {"image": [np.ascontiguousarray(image.data)], "x": [x0], "y": [y0],
                "dw": [x1 - x0], "dh": [y1 - y0]}

    def _show_image(self, data: dict) -> None:
        self.base.data = data

    # -- overlays ---------------------------------------------------------------------------
    def _points(self, rows) -> dict:
        rows = np.asarray(rows, dtype=np.int64)
        if not len(self._xs) or not len(rows):
            return {"x": np.zeros(0, "f4"), "y": np.zeros(0, "f4")}
        return {"x": self._xs[rows], "y": self._ys[rows]}

    def _on_labelled(self, *_) -> None:
        frame = self.state.labelled
        if frame is None or not len(frame) or not len(self._xs):
            self.labelled_src.data = dict(EMPTY_LABELLED)
            return
        colours = {c.name: c.color for c in self.state.classes}
        data = self._points(frame["row"].to_numpy())
        data["color"] = [colours.get(label, GREY) for label in frame["label"]]
        pseudo = (frame["source"] == "pseudo").to_numpy() if "source" in frame else np.zeros(len(frame), bool)
        data["marker"] = np.where(pseudo, "triangle", "circle").tolist()
        data["alpha"] = np.where(pseudo, 0.45, 1.0)
        self.labelled_src.data = data

    def _on_queue(self, *_) -> None:
        rows = [s.row for s in self.state.queue.ahead() if s.outcome is None][:50]
        self.batch_src.data = self._points(rows)

    def _on_focus(self, *_) -> None:
        row = self.state.focus_row
        self.focus_src.data = self._points([] if row is None else [row])

    def _on_selection(self, *_) -> None:
        rows = np.asarray(self.state.selection, dtype=np.int64)[:MAX_DRAWN_SELECTION]
        self.selection_src.data = self._points(rows)

    # -- selection events ---------------------------------------------------------------------
    def _on_tap(self, event) -> None:
        if not len(self._xs):
            return
        xr, yr = self.fig.x_range, self.fig.y_range
        x_per_px = abs(xr.end - xr.start) / max(self.width - 60, 1)
        y_per_px = abs(yr.end - yr.start) / max(self.height - 60, 1)
        xs, ys, state = self._xs, self._ys, self.state

        def find():
            return nearest_row(xs, ys, event.x, event.y, x_per_pixel=x_per_px, y_per_pixel=y_per_px)

        future = state.hub.submit(find)
        future.add_done_callback(lambda f: state.schedule(partial(self._tapped, f)))

    def _tapped(self, future) -> None:
        row = future.result()
        if row is None:
            return
        self.state.select([row], source=f"clicked {self.session.pool.ids[row]}")

    def _on_geometry(self, event) -> None:
        if not event.final or not len(self._xs):
            return
        geometry = dict(event.geometry)
        xs, ys, state = self._xs, self._ys, self.state
        kind = "lasso" if geometry.get("type") == "poly" else "box"
        future = state.hub.submit(rows_in_geometry, xs, ys, geometry)

        def done(f):
            try:
                rows = f.result()
            except Exception as exc:
                state.schedule(partial(state._say, f"selection failed: {exc}", "error"))
                return
            state.schedule(partial(state.select, rows, f"{kind}: {len(rows)} objects"))
        future.add_done_callback(done)


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))
