"""Small pictures of objects for the labelling grid, one kind per ``data.detail`` kind.

A grid tile must show enough to judge an object among twenty others at a
glance: the image itself for image data, the first words for text, a small
line plot for arrays and light curves, and, when the config declares no
detail at all, the object's feature profile (its standardised features as
bars). Each :class:`Thumbnail` declares the detail kind it draws
(``type_name``) and the grid picks the first ``data.detail`` entry with one,
so a new kind is one class. Output is an HTML fragment built from escaped
text, data URIs and inline SVG: nothing from the data reaches the page raw.
"""
from __future__ import annotations

import html
import math
from typing import Any, ClassVar

import numpy as np

from alabel.core.errors import AlabelError
from alabel.core.registry import concrete_descendants

#: Pixel size of a tile's picture.
SIZE = 96
_SNIPPET_CHARS = 140


class Thumbnail:
    """Draws objects of one detail kind as tile pictures.

    Parameters
    ----------
    pool
        The session's pool.
    spec
        The ``data.detail`` entry (None for the feature profile).
    """

    type_name: ClassVar[str]

    def __init__(self, pool, spec=None):
        self.pool = pool
        self.spec = spec

    def html(self, row: int) -> str:
        """The picture of pool row ``row`` as an HTML fragment (an error says why it cannot be drawn)."""
        try:
            return self.draw(int(row))
        except (AlabelError, OSError, ValueError) as exc:
            return f"<div class='thumb-error' title='{html.escape(str(exc))}'>cannot draw</div>"

    def draw(self, row: int) -> str:
        raise NotImplementedError

    def cell(self, row: int) -> Any:
        value = self.pool.frame.at[row, self.spec.column]
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class ImageThumbnail(Thumbnail):
    """The image file or image array, scaled to the tile."""

    type_name = "image"

    def __init__(self, pool, spec=None):
        from .components.renderers import ImageRenderer

        super().__init__(pool, spec)
        self.reader = ImageRenderer(spec.column, pool)  # the detail view's reading rules (paths confined)

    def draw(self, row: int) -> str:
        value = self.cell(row)
        if value is None:
            return "<div class='thumb-empty'>no image</div>"
        mime, data = self.reader._encode(value)
        return (f"<img alt='' src='data:{mime};base64,{data}' width='{SIZE}' height='{SIZE}' "
                "style='image-rendering:pixelated;object-fit:contain'>")


class TextThumbnail(Thumbnail):
    """The first words of the text."""

    type_name = "text"

    def draw(self, row: int) -> str:
        text = " ".join(str(self.cell(row) or "").split())
        short = text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"
        return f"<div class='thumb-text'>{html.escape(short)}</div>"


class SpectrumThumbnail(Thumbnail):
    """A 1-D array as a line."""

    type_name = "spectrum"

    def __init__(self, pool, spec=None):
        from .components.renderers import SpectrumRenderer

        super().__init__(pool, spec)
        self.reader = SpectrumRenderer(spec.column, pool)  # the detail view's reading rules (paths confined)

    def draw(self, row: int) -> str:
        value = self.cell(row)
        if value is None:
            return "<div class='thumb-empty'>no data</div>"
        y = self.reader._values(value)
        return sparkline(np.arange(len(y)), y)


class LightCurveThumbnail(Thumbnail):
    """The light curve rebuilt from the period and Fourier terms (brighter up), as in the detail view."""

    type_name = "light_curve"

    def draw(self, row: int) -> str:
        from .components.light_curve import shape_of_row
        from .fourier import phased_curve

        shape = shape_of_row(self.pool.frame, row, self.spec.column, dict(self.spec.columns))
        if shape is None:
            return "<div class='thumb-empty'>no period</div>"
        phase, magnitude = phased_curve(shape, cycles=2.0)
        caption = f"P={shape.period:.3g} d, A={shape.amplitude:.2g}"
        return sparkline(phase, -magnitude, dashed=shape.harmonics == 1) + \
            f"<div class='thumb-note'>{html.escape(caption)}</div>"


class ProfileThumbnail(Thumbnail):
    """The object's standardised features as bars (no detail declared)."""

    type_name = "profile"

    def __init__(self, pool, spec=None):
        super().__init__(pool, spec)
        X = np.asarray(pool.X, dtype=float)[:, :48]
        self.mean = np.nanmean(X, axis=0) if len(X) else np.zeros(X.shape[1])
        scale = np.nanstd(X, axis=0) if len(X) else np.ones(X.shape[1])
        self.scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)

    def draw(self, row: int) -> str:
        z = (np.asarray(self.pool.X[row], dtype=float)[: len(self.mean)] - self.mean) / self.scale
        z = np.clip(np.nan_to_num(z), -3, 3)
        width = SIZE / max(len(z), 1)
        bars = "".join(
            f"<rect x='{i * width:.1f}' y='{min(48, 48 - v * 16):.1f}' width='{max(width - 1, 1):.1f}' "
            f"height='{abs(v) * 16:.1f}' fill='{'#1f77b4' if v >= 0 else '#d62728'}'/>"
            for i, v in enumerate(z))
        return (f"<svg width='{SIZE}' height='{SIZE}' viewBox='0 0 {SIZE} 96'>"
                f"<line x1='0' y1='48' x2='{SIZE}' y2='48' stroke='#bbb'/>{bars}</svg>")


def sparkline(x, y, *, dashed: bool = False) -> str:
    """A line through (x, y) as inline SVG filling a tile (y grows upwards)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return "<div class='thumb-empty'>no data</div>"
    if len(x) > 4 * SIZE:  # more points than pixels: thin them
        step = int(math.ceil(len(x) / (4 * SIZE)))
        x, y = x[::step], y[::step]
    sx = (x - x.min()) / ((x.max() - x.min()) or 1.0) * (SIZE - 4) + 2
    sy = SIZE - 2 - (y - y.min()) / ((y.max() - y.min()) or 1.0) * (SIZE - 20) - 8
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(sx, sy))
    dash = " stroke-dasharray='4 3'" if dashed else ""
    return (f"<svg class='thumb-line' width='{SIZE}' height='{SIZE}' viewBox='0 0 {SIZE} {SIZE}'>"
            f"<polyline points='{points}' fill='none' stroke='#1f4e79' stroke-width='2'{dash}/></svg>")


def thumbnail_for(pool, detail) -> Thumbnail:
    """The thumbnail of the first ``data.detail`` entry that has one; the feature profile otherwise."""
    kinds = concrete_descendants(Thumbnail)
    for spec in detail:
        if spec.kind in kinds:
            return kinds[spec.kind](pool, spec)
    return ProfileThumbnail(pool)
