"""A variable star an astronomer can judge by eye: its light curve and its place among the others.

OGLE (and most variable-star catalogues) publish no photometry, only the
numbers that describe it: the period, the mean magnitude, the peak-to-peak
amplitude and the Fourier parameters R21, phi21, R31, phi31. Those numbers
pin down the light-curve shape (:mod:`alabel.dashboard.fourier`): an RR
Lyrae's saw-tooth, a Cepheid's bump, a sinusoidal overtone pulsator. The
renderer draws that reconstructed shape over two cycles (saying on the plot
that it is a reconstruction) beside the star's place in the period–amplitude
plane over the whole pool, where the classes form their known sequences.

Both views are HoloViews DynamicMaps over one key dimension, the pool row in
focus (the plane overlays the star on the pool's static cloud): a new object
is one value of it and both views follow. The cloud is drawn once; above
:data:`RASTERIZE_ABOVE` stars it is rasterised by datashader.

config.yaml::

    data:
      detail:
        - column: period_days            # the period, in days
          kind: light_curve
          columns: {amplitude: amplitude_I, mean: mag_I, R21: R21, phi21: phi21, R31: R31, phi31: phi31}
"""
from __future__ import annotations

import math

import numpy as np
import panel as pn

from ..fourier import FourierShape, phased_curve
from .renderers import DetailRenderer

#: Above this many objects the pool's period–amplitude cloud is a datashader raster.
RASTERIZE_ABOVE = 50_000
#: Fourier terms by harmonic: (ratio role, phase role).
_TERMS = (("R21", "phi21"), ("R31", "phi31"))
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
        import holoviews as hv

        _load_bokeh_backend(hv)
        frame = self.pool.frame
        self.period = frame[self.column].to_numpy(dtype=float)
        self.amplitude = frame[self.columns["amplitude"]].to_numpy(dtype=float)
        # Both views follow one key dimension, the pool row in focus, driven by a hidden widget:
        # Panel applies a widget change to the plots on the document's own tick (HoloViews' stream
        # refresh would wait for a "document ready" that a busy page may never send).
        n = len(frame)
        curve = hv.DynamicMap(self._curve, kdims=["row"]).redim.range(row=(-1, n - 1))
        marker = hv.DynamicMap(self._marker, kdims=["row"]).redim.range(row=(-1, n - 1))
        plane = (self._cloud(hv) * marker).opts(
            title="Period–amplitude plane (all objects)", logy=True, show_legend=False, fontsize={"title": "9pt"})
        self.caption = pn.pane.HTML(f"<small class='light-curve-caption'>{_CAPTION}</small>", margin=(0, 5),
                                    sizing_mode="stretch_width")
        self.row = pn.widgets.IntInput(name="row", value=-1, start=-1, end=n - 1, visible=False)
        self.plots = [pn.pane.HoloViews(view, backend="bokeh", widgets={"row": self.row}, linked_axes=False,
                                        css_classes=["detail-light-curve-plot"]) for view in (curve, plane)]
        return pn.Column(pn.FlexBox(*self.plots), self.caption, sizing_mode="stretch_width",
                         css_classes=["detail-light-curve", f"detail-{_slug(self.column)}"])

    def show(self, value) -> None:  # the renderer reads its row, not one cell
        self.show_object(None)

    def show_object(self, row: int | None) -> None:
        self.row.value = -1 if row is None else int(row)

    # -- what the plots draw ---------------------------------------------------------
    def shape_of(self, row: int) -> FourierShape | None:
        """The star's Fourier description (None without a usable period or amplitude)."""
        return shape_of_row(self.pool.frame, row, self.column, self.columns)

    def _curve(self, row: int):
        import holoviews as hv

        magnitude = self.columns.get("mean", "magnitude")
        shape = self.shape_of(row) if row >= 0 else None
        if shape is None:
            return hv.Curve([], "phase", magnitude).opts(title="Reconstructed light curve: no object",
                                                         invert_yaxis=True, width=360, height=230, framewise=True)
        phase, mag = phased_curve(shape, cycles=2.0)
        terms = shape.harmonics - 1
        # Short enough for the plot's width; the caption says what the reconstruction is.
        how = f"{terms + 1} harmonics" if terms else "sinusoid only"
        return hv.Curve((phase, mag), "phase", magnitude).opts(
            title=f"Reconstruction: P = {shape.period:.4g} d, {how}", framewise=True,
            invert_yaxis=True, width=360, height=230, line_width=2.5, color="#1f4e79",
            line_dash="solid" if terms else "dashed", fontsize={"title": "9pt"}, tools=["hover"])

    def _cloud(self, hv):
        keep = np.isfinite(self.period) & (self.period > 0) & np.isfinite(self.amplitude) & (self.amplitude > 0)
        data = {"log10 P (d)": np.log10(self.period[keep]), "amplitude": self.amplitude[keep]}
        points = hv.Points(data, ["log10 P (d)", "amplitude"])
        if len(self.period) > RASTERIZE_ABOVE:
            from holoviews.operation.datashader import rasterize

            return rasterize(points).opts(cmap="Greys", cnorm="eq_hist", width=360, height=230)
        return points.opts(color="#9e9e9e", alpha=0.25, size=2, width=360, height=230)

    def _marker(self, row: int):
        import holoviews as hv

        dims = ["log10 P (d)", "amplitude"]
        if row < 0 or not (self.period[row] > 0 and self.amplitude[row] > 0):
            return hv.Points([], dims)
        return hv.Points([(math.log10(self.period[row]), self.amplitude[row])], dims).opts(
            marker="star", size=18, color="#d62728", line_color="black")


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


def _load_bokeh_backend(hv) -> None:
    """Load HoloViews' Bokeh plotting once (no notebook extension: the page already has BokehJS)."""
    if "bokeh" not in hv.Store.renderers:
        import holoviews.plotting.bokeh  # noqa: F401  (registers the backend)
    hv.Store.set_current_backend("bokeh")


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-").lower() or "column"


__all__ = ["LightCurveRenderer"]
