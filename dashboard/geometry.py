"""Which points a click, a box or a lasso in the scatter selects.

Above the datashader threshold the browser holds an image, not the points,
so Bokeh cannot select them itself: the scatter receives the tool's geometry
(in data coordinates) and these functions find the rows on the server, over
the full coordinate arrays. Points with a NaN coordinate are never selected
(they are not drawn).
"""
from __future__ import annotations

import numpy as np


def rows_in_box(x: np.ndarray, y: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    """Rows whose point lies in the rectangle (edges included)."""
    xlo, xhi = sorted((float(x0), float(x1)))
    ylo, yhi = sorted((float(y0), float(y1)))
    with np.errstate(invalid="ignore"):
        inside = (x >= xlo) & (x <= xhi) & (y >= ylo) & (y <= yhi)
    return np.flatnonzero(inside)


def rows_in_polygon(x: np.ndarray, y: np.ndarray, xs, ys) -> np.ndarray:
    """Rows whose point lies inside the polygon with vertices ``(xs, ys)`` (a lasso)."""
    from matplotlib.path import Path

    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if len(xs) < 3:
        return np.zeros(0, dtype=np.int64)
    candidates = rows_in_box(x, y, xs.min(), xs.max(), ys.min(), ys.max())
    if not len(candidates):
        return candidates
    path = Path(np.column_stack([xs, ys]))
    inside = path.contains_points(np.column_stack([x[candidates], y[candidates]]))
    return candidates[inside]


def rows_in_geometry(x: np.ndarray, y: np.ndarray, geometry: dict) -> np.ndarray:
    """Rows selected by a Bokeh selection geometry (``rect`` or ``poly``) in data units."""
    kind = geometry.get("type")
    if kind == "rect":
        return rows_in_box(x, y, geometry["x0"], geometry["x1"], geometry["y0"], geometry["y1"])
    if kind == "poly":
        return rows_in_polygon(x, y, geometry["x"], geometry["y"])
    raise ValueError(f"unsupported selection geometry {kind!r}")


def nearest_row(x: np.ndarray, y: np.ndarray, px: float, py: float, *, x_per_pixel: float,
                y_per_pixel: float, radius_px: float = 10.0) -> int | None:
    """The row drawn closest to a click at ``(px, py)``, if within ``radius_px`` screen pixels."""
    if x_per_pixel <= 0 or y_per_pixel <= 0:
        return None
    window = rows_in_box(x, y, px - radius_px * x_per_pixel, px + radius_px * x_per_pixel,
                         py - radius_px * y_per_pixel, py + radius_px * y_per_pixel)
    if not len(window):
        return None
    dx = (x[window] - px) / x_per_pixel
    dy = (y[window] - py) / y_per_pixel
    distance = dx * dx + dy * dy
    best = int(np.argmin(distance))
    return int(window[best]) if distance[best] <= radius_px * radius_px else None


def padded_bounds(values: np.ndarray, pad: float = 0.05) -> tuple[float, float]:
    """(low, high) of the finite values, widened by ``pad`` of the span (never empty)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return (-1.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    span = high - low
    if span <= 0:
        span = abs(low) or 1.0
    return (low - pad * span, high + pad * span)
