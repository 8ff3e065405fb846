"""Find by hand: filter by column values, look an id up, and "more like this".

Rare classes (18 RCB stars among 18,570) are found by hunting, not by
uncertainty sampling: filter the table, pick an object, ask for its nearest
neighbours in feature space, and label them one by one or all at once.
"""
from __future__ import annotations

import html
from functools import partial

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import StringFormatter

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
        id_column = state.session.config.data.id_column
        self.table_columns = [str(c) for c in (self.layout_options["columns"] or columns[:8]) if str(c) != id_column]
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
        if not getattr(state.session.pool, "in_memory", True):
            # Neighbours need every row's features in this process; a pool on disk has none here.
            self.more.param.update(disabled=True, label="More like this: off for Dask pools",
                                   description="nearest neighbours need the pool in memory (data.backend: memory)")
        # Two lists: the filters' matches stay while "more like this" (or a lasso) fills the other.
        self.results = self._table("find-results")
        self.results.param.watch(partial(self._picked, "matches"), "selection")
        self.neighbours = self._table("find-neighbours")
        self.neighbours.param.watch(partial(self._picked, "selection"), "selection")
        self.summary = pn.pane.HTML("", css_classes=["find-summary"])
        self.neighbours_summary = pn.pane.HTML("<i>More like this, a lasso or a box selection lists here</i>",
                                               css_classes=["find-neighbours-summary"])
        # Always shown (a Tabulator drawn while hidden stays empty when shown): a hint until filled.
        self.neighbours_box = pn.Column(self.neighbours_summary, self.neighbours, sizing_mode="stretch_width",
                                        min_width=300)
        self._rows = {"matches": np.zeros(0, dtype=np.int64), "selection": np.zeros(0, dtype=np.int64)}
        self.watch(self._on_filters, "filters")
        self.watch(self._on_selection, "selection")
        self._on_filters()

    @classmethod
    def check_data(cls, options, session, *, where: str, key: str) -> None:
        check_columns(options.get("columns") or [], session, where=where, key=f"{key}.columns")

    def __panel__(self):
        lists = pn.FlexBox(pn.Column(self.summary, self.results, sizing_mode="stretch_width", min_width=300),
                           self.neighbours_box, flex_wrap="wrap", sizing_mode="stretch_width")
        return self.card(pn.Row(self.column, self.op, self.value, self.add, self.clear), self.active,
                         pn.Row(self.select_all, self.id_input, self.more), lists)

    def _table(self, css_class: str) -> pn.widgets.Tabulator:
        # A text formatter for the id: a number column prints 10870 as "10,870" (or 1 as "1.0").
        return pn.widgets.Tabulator(
            self._frame(np.zeros(0, dtype=np.int64)), disabled=True, selectable=1, show_index=False,
            pagination="local", page_size=10, height=300, sizing_mode="stretch_width", css_classes=[css_class],
            formatters={"id": StringFormatter()})

    def _frame(self, rows: np.ndarray):
        """The listed rows, the object id first and as text (a number column would print 10870 as 10,870)."""
        shown = self.state.session.pool.frame.iloc[rows][self.table_columns].reset_index(drop=True)
        shown.insert(0, "id", pd.Series([str(i) for i in self.state.session.pool.ids[rows]], dtype=object))
        return shown

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
        text = f"{len(rows):,} objects match" if filters else ""
        self.summary.object = self._show_rows("matches", self.results, rows, text, "find-count")

    def _on_selection(self, *_) -> None:
        rows = np.asarray(self.state.selection, dtype=np.int64)
        if len(rows) > 1:
            text = f"{len(rows):,} selected ({html.escape(self.state.selection_source)})"
            self.neighbours_summary.object = self._show_rows("selection", self.neighbours, rows, text,
                                                             "find-selection")

    def _show_rows(self, kind: str, table, rows: np.ndarray, text: str, css_class: str) -> str:
        self._rows[kind] = rows[:SHOWN_ROWS]
        table.value = self._frame(self._rows[kind])
        more = f" (first {SHOWN_ROWS} listed)" if len(rows) > SHOWN_ROWS else ""
        return f"<span class='{css_class}' data-n='{len(rows)}'>{text}{more}</span>" if text else ""

    def _select_matches(self, _) -> None:
        rows = self.state.matching_rows()
        self.state.select(rows, source=" and ".join(map(str, self.state.filters)) or "every object")

    def _picked(self, kind: str, event) -> None:
        if event.new:
            index, rows = event.new[0], self._rows[kind]
            if 0 <= index < len(rows):
                self.state.focus(int(rows[index]))

    def _go_to_id(self, event) -> None:
        if event.new:
            self.state.find_id(event.new)

