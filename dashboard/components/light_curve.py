"""A variable star an astronomer can judge by eye: its light curve and its place among the others.

OGLE (and most variable-star catalogues) publish no photometry, only the
numbers that describe it: the period, the mean magnitude, the peak-to-peak
amplitude and the Fourier parameters R21, phi21, R31, phi31. Those numbers
pin down the light-curve shape (:mod:`alabel.dashboard.fourier`): an RR
Lyrae's saw-tooth, a Cepheid's bump, a sinusoidal overtone pulsator. The
renderer draws that reconstructed shape over two cycles (saying on the plot
that it is a reconstruction) beside the star's place in the period–amplitude
plane over the whole pool, where the classes form their known sequences.

Both views are plain Bokeh figures built once; a new object replaces the data
of their two small sources, the title's text and the curve's axis range. Every
object change used to go through HoloViews DynamicMaps, whose update replaced
models in the document: Bokeh then walked the whole page's model graph for
each star, 63 % of the server's event loop on the shipped session (p50 click
1.5 s; bench/RESULTS.md, issue 12). Property changes walk nothing. The pool's
period–amplitude cloud is drawn once: points, or above
:data:`RASTERIZE_ABOVE` stars one datashader image of them.

config.yaml::

    data:
      detail:
        - column: period_days            # the period, in days
          kind: light_curve
          columns: {amplitude: amplitude_I, mean: mag_I, R21: R21, phi21: phi21, R31: R31, phi31: phi31}
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import panel as pn

from ..fourier import FourierShape, phased_curve
from .renderers import DetailRenderer

#: Above this many objects the pool's period–amplitude cloud is a datashader raster.
RASTERIZE_ABOVE = 50_000
#: Fourier terms by harmonic: (ratio role, phase role).
_TERMS = (("R21", "phi21"), ("R31", "phi31"))
#: The axes of the period–amplitude plane (also the marker source's columns).
PLANE_DIMS = ("log10 P (d)", "amplitude")
#: Every curve title starts so: the plot says that it is a reconstruction.
CURVE_TITLE = "Reconstruction"
_CAPTION = ("Light curve <b>reconstructed</b> from the catalogue's period, amplitude and Fourier "
            "parameters (R21, φ21, R31, φ31), not the measured photometry; two cycles, brighter up. "
            "<i>Sinusoid only</i> (dashed): the catalogue gives no Fourier terms for this star.")


class LightCurveRenderer(DetailRenderer):
    """The reconstructed light curve of a periodic variable and its period–amplitude position."""

    type_name = "light_curve"
    roles = {
        "amplitude": "peak-to-peak amplitude, magnitudes",
        "mean": "mean magnitude (the curve's zero point)",
        "R21": "amplitude ratio A2/A1", "phi21": "phase difference phi2 - 2 phi1, radians",
        "R31": "amplitude ratio A3/A1", "phi31": "phase difference phi3 - 3 phi1, radians",
    }
    required_roles = ("amplitude",)

    def _build(self):
        from bokeh.models import ColumnDataSource, HoverTool, Range1d

        frame = self.pool.frame
        self.period = frame[self.column].to_numpy(dtype=float)
        self.amplitude = frame[self.columns["amplitude"]].to_numpy(dtype=float)
        magnitude = self.columns.get("mean", "magnitude")

        self.curve_source = ColumnDataSource({"phase": [], "mag": []})
        # An explicit range the server sets per star (brighter up: the larger magnitude at the bottom).
        self.curve_range = Range1d(1.0, 0.0)
        self.curve = _figure(f"{CURVE_TITLE}: no object", y_range=self.curve_range, x_axis_label="phase",
                             y_axis_label=magnitude)
        self.curve_line = self.curve.line("phase", "mag", source=self.curve_source, line_width=2.5,
                                          color="#1f4e79").glyph
        self.curve.add_tools(HoverTool(tooltips=[("phase", "@phase{0.00}"), (magnitude, "@mag{0.000}")]))

        self.plane = _figure("Period–amplitude plane (all objects)", y_axis_type="log", x_axis_label=PLANE_DIMS[0],
                             y_axis_label=PLANE_DIMS[1])
        self._draw_cloud()
        self.marker_source = ColumnDataSource({PLANE_DIMS[0]: [], PLANE_DIMS[1]: []})
        self.plane.scatter(*PLANE_DIMS, source=self.marker_source, marker="star", size=18, color="#d62728",
                           line_color="black")

        self.caption = pn.pane.HTML(f"<small class='light-curve-caption'>{_CAPTION}</small>", margin=(0, 5),
                                    sizing_mode="stretch_width")
        # The class on a wrapper: on the Bokeh pane it lands on the figure's own element, which
        # the page does not lay out as a box of its own.
        self.plots = [pn.Column(pn.pane.Bokeh(plot), css_classes=["detail-light-curve-plot"], margin=0)
                      for plot in (self.curve, self.plane)]
        return pn.Column(pn.FlexBox(*self.plots), self.caption, sizing_mode="stretch_width",
                         css_classes=["detail-light-curve", f"detail-{_slug(self.column)}"])

    def show(self, value) -> None:  # the renderer reads its row, not one cell
        self.show_object(None)

    def show_object(self, row: int | None) -> None:
        row = -1 if row is None else int(row)
        drawn = self.curve_of(row)
        self.curve_source.data = {"phase": drawn.phase, "mag": drawn.magnitude}
        self.curve.title.text = drawn.title
        self.curve_line.line_dash = "dashed" if drawn.sinusoid else "solid"
        if len(drawn.magnitude):
            low, high = float(np.min(drawn.magnitude)), float(np.max(drawn.magnitude))
            pad = max(0.05 * (high - low), 0.01)
            self.curve_range.update(start=high + pad, end=low - pad)
        self.marker_source.data = dict(zip(PLANE_DIMS, self.marker_of(row)))

    # -- what the plots draw ---------------------------------------------------------
    def shape_of(self, row: int) -> FourierShape | None:
        """The star's Fourier description (None without a usable period or amplitude)."""
        return shape_of_row(self.pool.frame, row, self.column, self.columns)

    def curve_of(self, row: int) -> DrawnCurve:
        """The reconstructed curve of pool row ``row`` (empty for -1 or a star without a usable period)."""
        shape = self.shape_of(row) if row >= 0 else None
        if shape is None:
            return DrawnCurve(np.empty(0), np.empty(0), f"{CURVE_TITLE}: no object", False)
        phase, mag = phased_curve(shape, cycles=2.0)
        terms = shape.harmonics - 1
        # Short enough for the plot's width; the caption says what the reconstruction is.
        how = f"{terms + 1} harmonics" if terms else "sinusoid only"
        return DrawnCurve(np.asarray(phase), np.asarray(mag), f"{CURVE_TITLE}: P = {shape.period:.4g} d, {how}",
                          not terms)

    def marker_of(self, row: int) -> tuple[list[float], list[float]]:
        """The star's place in the period–amplitude plane (empty when it has none)."""
        if row < 0 or not (self.period[row] > 0 and self.amplitude[row] > 0):
            return [], []
        return [math.log10(self.period[row])], [float(self.amplitude[row])]

    def _draw_cloud(self) -> None:
        keep = np.isfinite(self.period) & (self.period > 0) & np.isfinite(self.amplitude) & (self.amplitude > 0)
        x, y = np.log10(self.period[keep]), self.amplitude[keep]
        if len(self.period) <= RASTERIZE_ABOVE:
            self.plane.scatter(x, y, size=2, color="#9e9e9e", alpha=0.25)
            return
        if not len(x):
            return
        # One static image of the cloud (it never changes): datashader on log10 of the amplitude,
        # drawn on the log axis between the data's bounds.
        import datashader as ds
        import datashader.transfer_functions as tf
        import pandas as pd

        log_y = np.log10(y)
        x_range, y_range = (float(x.min()), float(x.max())), (float(log_y.min()), float(log_y.max()))
        canvas = ds.Canvas(plot_width=360, plot_height=230, x_range=x_range, y_range=y_range)
        image = tf.shade(canvas.points(pd.DataFrame({"x": x, "y": log_y}), "x", "y"), cmap=["#e0e0e0", "#303030"],
                         how="eq_hist")
        rgba = np.asarray(image.to_numpy(), dtype=np.uint32)
        self.plane.image_rgba(image=[rgba], x=x_range[0], y=10 ** y_range[0], dw=x_range[1] - x_range[0],
                              dh=10 ** y_range[1] - 10 ** y_range[0])


class DrawnCurve(NamedTuple):
    """What the curve plot shows for one object."""

    phase: np.ndarray
    magnitude: np.ndarray
    title: str
    sinusoid: bool


def _figure(title: str, **options):
    """One of the detail's two plots: the same size, tools and title font."""
    from bokeh.plotting import figure

    plot = figure(width=360, height=230, title=title, toolbar_location="right", tools="pan,wheel_zoom,reset,save",
                  **options)
    plot.title.text_font_size = "9pt"
    plot.toolbar.logo = None  # two small plots: the logo took a tool's place
    return plot


def shape_of_row(frame, row: int, period_column: str, columns: dict) -> FourierShape | None:
    """The Fourier description of pool row ``row`` (None without a usable period or amplitude).

    ``columns`` maps the renderer's roles (``amplitude``, ``mean``, ``R21``...)
    to data columns; the series stops at the first term not given.
    """
    period, amplitude = _number(frame.at[row, period_column]), _number(frame.at[row, columns["amplitude"]])
    if not (math.isfinite(period) and period > 0 and math.isfinite(amplitude) and amplitude >= 0):
        return None
    mean = _number(frame.at[row, columns["mean"]]) if "mean" in columns else 0.0
    ratios, phases = [], []
    for ratio_role, phase_role in _TERMS:
        if ratio_role not in columns or phase_role not in columns:
            break
        ratios.append(_number(frame.at[row, columns[ratio_role]]))
        phases.append(_number(frame.at[row, columns[phase_role]]))
    return FourierShape(period, mean if math.isfinite(mean) else 0.0, amplitude, tuple(ratios), tuple(phases))


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-").lower() or "column"


__all__ = ["LightCurveRenderer"]
