"""Find by hand: filter by column values, look an id up, and "more like this".

Rare classes (18 RCB stars among 18,570) are found by hunting, not by
uncertainty sampling: filter the table, pick an object, ask for its nearest
neighbours in feature space, and label them one by one or all at once.
"""
from __future__ import annotations

import html

import numpy as np
import panel as pn

from alabel.core.errors import AlabelError
from alabel.core.params import integer, listing, text

from ..filters import OPERATORS, filterable_columns, parse_filter
from .base import Component, check_columns

#: Rows listed in the results table.
SHOWN_ROWS = 200


class FindPanel(Component):
    """Search and filter the data; select matches or neighbours for labelling."""

    type_name = "find"
    title = "Find by hand"
    params_spec = {
        "columns": listing(None, "columns of the results table (default: the first eight)",
                           item=text(None, "a column name")),
        "neighbours": integer(20, "objects listed by \"more like this\"", low=1, label="Neighbours listed"),
    }

    def __init__(self, state, **options):
        super().__init__(state, **options)
        frame = state.session.pool.frame
        # The oracle and the columns that give the class away are never offered for hunting.
        private = state.session.config.data.private_columns
        columns = [c for c in filterable_columns(frame) if c not in private]
        self.table_columns = [str(c) for c in (self.layout_options["columns"] or columns[:8])]
        self.k = self.layout_options["neighbours"]
        self.column = pn.widgets.Select(label="column", options=columns, width=170, css_classes=["find-column"])
        self.op = pn.widgets.Select(label="operator", options=list(OPERATORS), width=110, css_classes=["find-op"])
        self.value = pn.widgets.TextInput(label="value", width=140, css_classes=["find-value"])
        self.add = pn.widgets.Button(label="Add filter", css_classes=["find-add"], width=90)
        self.add.on_click(self._add_filter)
        self.clear = pn.widgets.Button(label="Clear filters", css_classes=["find-clear"], width=100)
        self.clear.on_click(lambda _: setattr(self.state, "filters", []))
        self.active = pn.pane.HTML("", css_classes=["find-active"])
        self.select_all = pn.widgets.Button(label="Select all matches", css_classes=["find-select-all"])
        self.select_all.on_click(self._select_matches)
        self.id_input = pn.widgets.TextInput(label="object id", placeholder="go to id…", width=150,
                                             css_classes=["find-id"])
        self.id_input.param.watch(self._go_to_id, "value")
        self.more = pn.widgets.Button(label=f"More like this ({self.k} nearest)", css_classes=["find-more"])
        self.more.on_click(lambda _: self.state.more_like(k=self.k))
        self.results = pn.widgets.Tabulator(
            frame.head(0)[self.table_columns], disabled=True, selectable=1, show_index=False,
            pagination="local", page_size=10, height=300, sizing_mode="stretch_width",
            css_classes=["find-results"])
        self.results.param.watch(self._picked, "selection")
        self.summary = pn.pane.HTML("", css_classes=["find-summary"])
        self._rows = np.zeros(0, dtype=np.int64)
        self.watch(self._on_filters, "filters")
        self.watch(self._on_selection, "selection")
        self._on_filters()

    @classmethod
    def check_data(cls, options, session, *, where: str, key: str) -> None:
        check_columns(options.get("columns") or [], session, where=where, key=f"{key}.columns")

    def __panel__(self):
        return self.card(pn.Row(self.column, self.op, self.value, self.add, self.clear), self.active,
                         pn.Row(self.select_all, self.id_input, self.more), self.summary, self.results)

    def _add_filter(self, _) -> None:
        try:
            new = parse_filter(self.state.session.pool.frame, self.column.value, self.op.value, self.value.value)
        except AlabelError as exc:
            self.state._say(str(exc), "error")
            return
        self.state.filters = [*self.state.filters, new]
        self.value.value = ""

    def _on_filters(self, *_) -> None:
        filters = self.state.filters
        self.active.object = ("filters: " + " and ".join(f"<code>{html.escape(str(f))}</code>" for f in filters)
                              if filters else "<i>no filter: every object</i>")
        rows = self.state.matching_rows() if filters else np.zeros(0, dtype=np.int64)
        self._show_rows(rows, f"{len(rows):,} objects match" if filters else "", "find-count")

    def _on_selection(self, *_) -> None:
        rows = np.asarray(self.state.selection, dtype=np.int64)
        if len(rows) > 1:
            self._show_rows(rows, f"{len(rows):,} selected ({html.escape(self.state.selection_source)})",
                            "find-selection")

    def _show_rows(self, rows: np.ndarray, text: str, kind: str) -> None:
        self._rows = rows[:SHOWN_ROWS]
        frame = self.state.session.pool.frame
        shown = frame.iloc[self._rows][self.table_columns].reset_index(drop=True)
        self.results.value = shown
        more = f" (first {SHOWN_ROWS} listed)" if len(rows) > SHOWN_ROWS else ""
        self.summary.object = f"<span class='{kind}' data-n='{len(rows)}'>{text}{more}</span>" if text else ""

    def _select_matches(self, _) -> None:
        rows = self.state.matching_rows()
        self.state.select(rows, source=" and ".join(map(str, self.state.filters)) or "every object")

    def _picked(self, event) -> None:
        if event.new:
            index = event.new[0]
            if 0 <= index < len(self._rows):
                self.state.focus(int(self._rows[index]))

    def _go_to_id(self, event) -> None:
        if event.new:
            self.state.find_id(event.new)

