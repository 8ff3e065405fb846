"""How the detail view draws one column of the object in focus.

``data.detail`` in config.yaml lists ``{column, kind}``; each kind is a
:class:`DetailRenderer` subclass registered by ``type_name`` (``image``,
``spectrum``, ``text``, ``table``) and found through the registry, so a new
kind is one class. A renderer builds its pane once and updates it in place for
each object. File paths found in data are read only through
``pool.resolve_path``, which refuses any path leaving the data root.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from alabel.core.errors import AlabelError, ConfigError, did_you_mean

from ..redact import redact_paths

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".webp": "image/webp", ".svg": "image/svg+xml"}
_ARRAY_SUFFIXES = (".npy", ".csv", ".txt", ".dat")


class DetailRenderer:
    """Draws one column of the object in focus.

    Parameters
    ----------
    column
        The data column.
    pool
        The session's pool (for ``resolve_path``).
    """

    type_name: ClassVar[str]
    #: Other columns the renderer reads, by role (``data.detail[i].columns``): role → meaning.
    roles: ClassVar[dict[str, str]] = {}
    #: Roles that must be given.
    required_roles: ClassVar[tuple[str, ...]] = ()

    def __init__(self, column: str, pool, columns: Mapping[str, str] | None = None):
        self.column = column
        self.pool = pool
        self.columns = dict(columns or {})
        self.pane = self._build()

    @classmethod
    def check_spec(cls, spec, *, where: str, key: str) -> None:
        """Raise ConfigError for a role this renderer does not know, or a required one missing."""
        for role in spec.columns:
            if role not in cls.roles:
                known = ", ".join(cls.roles) or "none"
                raise ConfigError(f"{where}: {key}.columns.{role}: the {cls.type_name} renderer has no such "
                                  f"role{did_you_mean(role, list(cls.roles))}; known: {known}")
        for role in cls.required_roles:
            if role not in spec.columns:
                raise ConfigError(f"{where}: {key}.columns.{role}: required by the {cls.type_name} renderer "
                                  f"({cls.roles[role]})")

    def _build(self):
        raise NotImplementedError

    def show_object(self, row: int) -> None:
        """Draw pool row ``row``: its ``column`` cell by default (renderers of several columns override)."""
        value = self.pool.frame.at[row, self.column]
        self.show(None if _missing(value) else value)

    def show(self, value: Any) -> None:
        """Draw ``value`` (the column's cell of the object in focus); None clears."""
        raise NotImplementedError

    def _error(self, text: str) -> str:
        # An OSError quotes the absolute path of the file: the page shows its name only.
        return f"<div class='detail-error' style='color:#b00020'>{html.escape(redact_paths(text))}</div>"


class ImageRenderer(DetailRenderer):
    """An image file (path under the data root) or an image array (2-D, or square 1-D)."""

    type_name = "image"

    def _build(self):
        return pn.pane.HTML("", css_classes=["detail-image", f"detail-{_slug(self.column)}"], min_height=40)

    def show(self, value: Any) -> None:
        if value is None:
            self.pane.object = ""
            return
        try:
            mime, data = self._encode(value)
        except AlabelError as exc:
            self.pane.object = self._error(str(exc))
            return
        except (OSError, ValueError) as exc:
            self.pane.object = self._error(f"{self.column}: cannot draw this image ({exc})")
            return
        self.pane.object = (f"<img alt='{html.escape(self.column)}' src='data:{mime};base64,{data}' "
                            "style='image-rendering:pixelated;width:160px;height:auto;border:1px solid #ccc'>")

    def _encode(self, value: Any) -> tuple[str, str]:
        if isinstance(value, (str, Path)):
            path = self.pool.resolve_path(value)  # DataError when it leaves the data root
            mime = _IMAGE_TYPES.get(path.suffix.lower())
            if mime is None:
                raise ValueError(f"unknown image type {path.suffix!r}")
            return mime, base64.b64encode(path.read_bytes()).decode("ascii")
        return "image/png", base64.b64encode(_array_png(np.asarray(value, dtype=float))).decode("ascii")


class SpectrumRenderer(DetailRenderer):
    """A 1-D array (spectrum, light curve), from the cell or a .npy/.csv file under the data root."""

    type_name = "spectrum"

    def _build(self):
        self.source = ColumnDataSource({"x": [], "y": []})
        fig = figure(height=180, sizing_mode="stretch_width", tools="pan,wheel_zoom,reset",
                     toolbar_location="right", title=self.column)
        fig.line("x", "y", source=self.source, line_width=1.5)
        fig.toolbar.logo = None
        self.message = pn.pane.HTML("", margin=0)
        return pn.Column(self.message, pn.pane.Bokeh(fig), sizing_mode="stretch_width",
                         css_classes=["detail-spectrum"])

    def show(self, value: Any) -> None:
        self.message.object = ""
        if value is None:
            self.source.data = {"x": [], "y": []}
            return
        try:
            y = self._values(value)
        except AlabelError as exc:
            self.message.object = self._error(str(exc))
            self.source.data = {"x": [], "y": []}
            return
        except (OSError, ValueError) as exc:
            self.message.object = self._error(f"{self.column}: cannot read this array ({exc})")
            self.source.data = {"x": [], "y": []}
            return
        self.source.data = {"x": np.arange(len(y)), "y": y}

    def _values(self, value: Any) -> np.ndarray:
        if isinstance(value, (str, Path)):
            path = self.pool.resolve_path(value)
            if path.suffix.lower() == ".npy":
                array = np.load(path, allow_pickle=False)  # never unpickle data files
            elif path.suffix.lower() in _ARRAY_SUFFIXES:
                array = np.loadtxt(path, delimiter="," if path.suffix.lower() == ".csv" else None)
            else:
                raise ValueError(f"unknown array file type {path.suffix!r}")
        else:
            array = np.asarray(value, dtype=float)
        array = np.asarray(array, dtype=float)
        if array.ndim == 2 and array.shape[1] >= 2:
            array = array[:, 1]  # (x, y) columns: draw y against its index
        return array.ravel()


class TextRenderer(DetailRenderer):
    """A text cell (escaped; long text scrolls)."""

    type_name = "text"

    def _build(self):
        return pn.pane.HTML("", css_classes=["detail-text", f"detail-{_slug(self.column)}"],
                            sizing_mode="stretch_width")

    def show(self, value: Any) -> None:
        text = "" if value is None else str(value)
        self.pane.object = (f"<div><b>{html.escape(self.column)}</b>: "
                            f"<span style='white-space:pre-wrap;max-height:8em;overflow:auto'>"
                            f"{html.escape(text)}</span></div>")


class TableRenderer(DetailRenderer):
    """A mapping or a list of records in a cell, as a table; a scalar as one row."""

    type_name = "table"

    def _build(self):
        return pn.pane.HTML("", css_classes=["detail-table", f"detail-{_slug(self.column)}"],
                            sizing_mode="stretch_width")

    def show(self, value: Any) -> None:
        if value is None:
            self.pane.object = ""
            return
        if isinstance(value, dict):
            rows = list(value.items())
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(_short(v.get(k)))}</td>" for k in keys) + "</tr>"
                           for v in value)
            self.pane.object = f"<b>{html.escape(self.column)}</b><table><tr>{head}</tr>{body}</table>"
            return
        else:
            rows = [(self.column, value)]
        self.pane.object = key_value_table(rows)


def key_value_table(rows) -> str:
    """An HTML table of (name, value) pairs, values shortened and escaped."""
    body = "".join(f"<tr><th style='text-align:left;padding-right:12px'>{html.escape(str(k))}</th>"
                   f"<td>{html.escape(_short(v))}</td></tr>" for k, v in rows)
    return f"<table class='detail-columns'>{body}</table>"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _short(value: Any, limit: int = 80) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, np.ndarray):
        text = f"array{value.shape}"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _array_png(array: np.ndarray) -> bytes:
    from PIL import Image

    if array.ndim == 1:
        side = int(round(np.sqrt(array.size)))
        if side * side != array.size:
            raise ValueError(f"a 1-D image needs a square number of values, got {array.size}")
        array = array.reshape(side, side)
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        low, high = np.nanmin(array), np.nanmax(array)
        scaled = (array - low) / (high - low or 1.0) * 255
        image = Image.fromarray(np.nan_to_num(scaled).astype(np.uint8))
    elif array.ndim == 2:
        low, high = np.nanmin(array), np.nanmax(array)
        scaled = 255 - (array - low) / (high - low or 1.0) * 255  # dark ink on white, like the digits
        image = Image.fromarray(np.nan_to_num(scaled).astype(np.uint8), mode="L")
    else:
        raise ValueError(f"cannot draw an array of shape {array.shape} as an image")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-").lower() or "column"
