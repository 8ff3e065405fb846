"""The query panel: the current batch, why each object was chosen, head and strategy pickers."""
from __future__ import annotations

import html
import math

import panel as pn
from alabel.core.params import integer

from .base import Component, held


class QueryPanel(Component):
    """What the strategy chose and why; navigation; switch head and strategy (shared by all tabs)."""

    type_name = "query"
    title = "Queries"
    params_spec = {"show": integer(10, "queued objects listed", low=1, label="Queue shown")}

    def __init__(self, state, **options):
        super().__init__(state, **options)
        self.show = self.layout_options["show"]
        hub = state.hub
        self.head = pn.widgets.Select(label="Head", options=hub.head_types, value=state.head_type, width=140,
                                      css_classes=["query-head"])
        self.strategy = pn.widgets.Select(label="Strategy", options=hub.strategy_types,
                                          value=state.strategy_type, width=140, css_classes=["query-strategy"])
        self.head.param.watch(lambda e: self._switch(state.set_head, e, "head_type"), "value")
        self.strategy.param.watch(lambda e: self._switch(state.set_strategy, e, "strategy_type"), "value")
        self.previous = pn.widgets.Button(label="◀ Previous", css_classes=["query-previous"], width=110)
        self.previous.on_click(lambda _: held(state.previous))
        self.next = pn.widgets.Button(label="Next ▶", css_classes=["query-next"], width=110)
        self.next.on_click(lambda _: held(state.next))
        self.listing = pn.pane.HTML("", css_classes=["query-list"], sizing_mode="stretch_width")
        self.watch(self._on_list, "current", "queued", "position")
        self.watch(self._on_types, "head_type", "strategy_type")
        self._on_list()

    def __panel__(self):
        return self.card(pn.Row(self.head, self.strategy), pn.Row(self.previous, self.next), self.listing)

    def _switch(self, setter, event, name: str) -> None:
        if event.new and event.new != getattr(self.state, name):
            setter(event.new)

    def _on_types(self, *_) -> None:
        self.head.value = self.state.head_type
        self.strategy.value = self.state.strategy_type

    def _on_list(self, *_) -> None:
        state = self.state
        current = state.current
        rows = []
        if current is not None:
            rows.append(_row(current, "current"))
        rows += [_row(s, "ahead") for s in state.queue.ahead()[: self.show - 1]]
        if not rows:
            self.listing.object = "<i>no query yet</i>"
            return
        self.listing.object = (
            "<table class='query-table' style='font-size:90%'><tr><th></th><th>object</th><th>strategy</th>"
            "<th>score</th><th>why</th></tr>" + "".join(rows) + "</table>")


def _row(shown, kind: str) -> str:
    item = shown.item
    score = "" if item.score is None or (isinstance(item.score, float) and math.isnan(item.score)) \
        else f"{item.score:.3g}"
    marker = "▶" if kind == "current" else ""
    done = f" → {html.escape(shown.outcome)}" if shown.outcome else ""
    return (f"<tr class='query-{kind}'><td>{marker}</td><td>{html.escape(shown.object_id)}{done}</td>"
            f"<td>{html.escape(item.strategy)}</td><td>{score}</td><td>{html.escape(item.reason)}</td></tr>")
