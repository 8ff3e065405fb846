"""Detail of the object in focus: its columns, and a renderer per ``data.detail`` entry."""
from __future__ import annotations

import html

import numpy as np
import panel as pn

from alabel.core.params import integer, listing, text
from alabel.core.registry import resolve

from .base import Component, check_columns
from .renderers import DetailRenderer, key_value_table


class DetailView(Component):
    """The object in focus (the query, or one picked in the scatter or finder)."""

    type_name = "detail"
    title = "Object"
    params_spec = {
        "columns": listing(None, "columns shown, in this order (default: all but hidden ones)",
                           item=text(None, "a column name")),
        "max_columns": integer(40, "most columns shown", low=1, label="Columns shown at most"),
    }

    def __init__(self, state, **options):
        super().__init__(state, **options)
        pool = state.session.pool
        self.pool = pool
        self.renderers: list[DetailRenderer] = [
            resolve(DetailRenderer, spec.kind, key=f"data.detail[{i}].kind", where=state.session.config.source)(
                spec.column, pool, spec.columns)
            for i, spec in enumerate(state.session.config.data.detail)
        ]
        rendered = {r.column for r in self.renderers if r.type_name != "text"}
        # The ground-truth column is the oracle of `alabel simulate`, and `data.hidden` names
        # columns that give the class away: showing them would turn labelling into copying
        # (name one in the layout's `columns:` to show it anyway).
        hidden = rendered | state.session.config.data.private_columns
        wanted = self.layout_options["columns"]
        self.columns = [str(c) for c in wanted] if wanted else \
            [str(c) for c in pool.frame.columns if str(c) not in hidden]
        self.columns = self.columns[: self.layout_options["max_columns"]]
        self.header = pn.pane.HTML("", css_classes=["detail-header"], sizing_mode="stretch_width")
        self.table = pn.pane.HTML("", css_classes=["detail-table-columns"], sizing_mode="stretch_width",
                                  max_height=320, styles={"overflow-y": "auto"})
        self.watch(self._refresh, "focus_row")
        self.watch(self._refresh_header, "labelled", "model_version")
        self._refresh()

    @classmethod
    def check_data(cls, options, session, *, where: str, key: str) -> None:
        check_columns(options.get("columns") or [], session, where=where, key=f"{key}.columns")

    def __panel__(self):
        return self.card(self.header, *[r.pane for r in self.renderers], self.table)

    def _refresh(self, *_) -> None:
        row = self.state.focus_row
        if row is None:
            self.header.object = "<div class='detail-empty'>No object in focus yet.</div>"
            self.table.object = ""
            for renderer in self.renderers:
                renderer.show(None)
            return
        frame = self.pool.frame
        object_id = str(self.pool.ids[row])
        for renderer in self.renderers:
            renderer.show_object(row)
        self.table.object = key_value_table((c, _cell(frame.at[row, c])) for c in self.columns)
        self.header.object = self._header(row, object_id)

    def _refresh_header(self, *_) -> None:
        row = self.state.focus_row
        if row is not None:
            self.header.object = self._header(row, str(self.pool.ids[row]))

    def _header(self, row: int, object_id: str) -> str:
        state = self.state
        label = state.lookup_label(row)
        prediction = state.session.prediction(row)
        source = "query" if state.focus_source == "query" else "picked by hand"
        parts = [f"<span class='detail-id' data-object='{html.escape(object_id)}'><b>{html.escape(object_id)}</b>"
                 f"</span> <small>({source})</small>"]
        if label:
            parts.append(f"labelled <b>{html.escape(str(label['label']))}</b> by {html.escape(str(label['annotator']))}"
                         f" ({label['split']})")
        else:
            parts.append("unlabelled")
        if prediction is not None:
            parts.append(f"model v{prediction.model_version} predicts <b>{html.escape(prediction.label)}</b> "
                         f"({prediction.confidence:.2f})")
        return "<div class='detail-status'>" + " · ".join(parts) + "</div>"


def _cell(value):
    if isinstance(value, (np.ndarray, list, tuple)):
        return f"array of {len(value)}"
    return value
