"""The labelling panel: a button per class, the keyboard actions, bulk labels, new classes."""
from __future__ import annotations

import html
import math

import panel as pn
from alabel.core.params import integer

from ..keys import ACTIONS
from .base import Component, held

#: Above this many classes the buttons give way to the typeahead picker alone.
MAX_BUTTONS = 30

_ACTION_TEXT = {"accept": "Accept prediction", "skip": "Skip", "unsure": "Unsure", "undo": "Undo",
                "previous": "◀ Previous", "next": "Next ▶"}
_KEY_TEXT = {"Enter": "⏎", "Backspace": "⌫", "ArrowLeft": "←", "ArrowRight": "→", " ": "space"}


class LabellingPanel(Component):
    """Label the object in focus: class buttons and keys, accept/skip/undo, bulk, add class."""

    type_name = "labelling"
    title = "Label"
    params_spec = {
        "max_buttons": integer(MAX_BUTTONS, "class buttons shown at most (more classes: a picker)", low=1,
                               label="Class buttons at most"),
    }

    def __init__(self, state, **options):
        super().__init__(state, **options)
        self.max_buttons = self.layout_options["max_buttons"]
        self.banner = pn.pane.HTML("", css_classes=["label-banner"], sizing_mode="stretch_width")
        self.buttons = pn.FlexBox(css_classes=["label-classes"], sizing_mode="stretch_width")
        self.picker = pn.widgets.AutocompleteInput(
            label="", placeholder="type a class name…", case_sensitive=False, restrict=True,
            min_characters=1, search_strategy="includes", width=190, css_classes=["label-picker"])
        self.picker.param.watch(self._picked, "value")
        self.actions = pn.FlexBox(*[self._action_button(a) for a in ACTIONS], css_classes=["label-actions"],
                                  sizing_mode="stretch_width")
        self.counts = pn.pane.HTML("", css_classes=["label-counts"])
        self.bulk_class = pn.widgets.Select(label="", options=[], width=150, css_classes=["bulk-class"])
        self.bulk_button = pn.widgets.Button(label="Label selection…", color="warning",
                                             css_classes=["bulk-request"])
        self.bulk_button.on_click(lambda _: self.state.request_bulk(self.bulk_class.value))
        self.bulk_info = pn.pane.HTML("", css_classes=["bulk-info"])
        self.bulk_confirm = pn.widgets.Button(label="Confirm", color="danger", css_classes=["bulk-confirm"],
                                              visible=False)
        self.bulk_confirm.on_click(lambda _: held(self.state.confirm_bulk))
        self.bulk_cancel = pn.widgets.Button(label="Cancel", css_classes=["bulk-cancel"], visible=False)
        self.bulk_cancel.on_click(lambda _: self.state.cancel_bulk())
        # Wraps: beside the scatter the panel is narrow, and an overflowing row slid under the plot.
        self.bulk_row = pn.FlexBox(self.bulk_info, self.bulk_class, self.bulk_button, self.bulk_confirm,
                                   self.bulk_cancel, visible=False, css_classes=["label-bulk"], flex_wrap="wrap",
                                   align_items="center", sizing_mode="stretch_width")
        self.new_name = pn.widgets.TextInput(placeholder="new class name", width=160, css_classes=["new-class-name"])
        self.new_colour = pn.widgets.ColorPicker(value="#7f7f7f", width=60, css_classes=["new-class-colour"])
        self.new_button = pn.widgets.Button(label="Add class", css_classes=["new-class-add"])
        self.new_button.on_click(self._add_class)
        # Folded behind a small toggle: adding a class is rare, and an open row would push
        # the object's detail below a laptop's screen.
        self.add_row = pn.FlexBox(self.new_name, self.new_colour, self.new_button, css_classes=["label-add-class"],
                                  visible=False, flex_wrap="wrap", sizing_mode="stretch_width")
        self.add_toggle = pn.widgets.Toggle(name="+ class", width=80, css_classes=["label-add-toggle"])
        self.add_toggle.link(self.add_row, value="visible")
        self.watch(self._on_classes, "classes")
        self.watch(self._on_banner, "current", "focus_row", "focus_source", "current_prediction",
                   "current_confidence", "current_prediction_version", "model_version", "test_mode", "position", "queued")
        self.watch(self._on_counts, "label_counts")
        self.watch(self._on_bulk, "selection", "bulk_pending", "selection_source")
        self._on_classes()
        self._on_banner()
        self._on_counts()
        self._on_bulk()

    def __panel__(self):
        return self.card(self.banner, self.buttons, pn.Row(self.picker, self.add_toggle, self.counts),
                         self.actions, self.bulk_row, self.add_row, title="")

    # -- widgets ---------------------------------------------------------------------
    def _action_button(self, action: str) -> pn.widgets.Button:
        key = self.state.session.config.ui.keys.get(action, "")
        button = pn.widgets.Button(label=f"{_ACTION_TEXT[action]} [{_KEY_TEXT.get(key, key)}]",
                                   css_classes=[f"act-{action}"], color="default")
        button.on_click(lambda _: held(self.state.press, key) if key else None)
        return button

    def _on_classes(self, *_) -> None:
        classes = self.state.classes
        names = [c.name for c in classes]
        buttons = []
        if len(classes) <= self.max_buttons:
            for spec in classes:
                key = f" [{_KEY_TEXT.get(spec.key, spec.key)}]" if spec.key else ""
                button = pn.widgets.Button(
                    label=f"{spec.name}{key}", css_classes=["class-btn", f"class-{_slug(spec.name)}"],
                    stylesheets=[f".bk-btn {{ border-left: 8px solid {spec.color} !important; font-weight: 600; }}"])
                button.on_click(lambda _, name=spec.name: held(self.state.label, name))
                buttons.append(button)
        self.buttons.objects = buttons
        self.picker.options = names
        self.bulk_class.options = names
        if names and self.bulk_class.value not in names:
            self.bulk_class.value = names[0]

    def _picked(self, event) -> None:
        if event.new:
            name = event.new
            self.picker.value = ""
            held(self.state.label, name)

    def _on_banner(self, *_) -> None:
        state = self.state
        if state.focus_source == "selection" and state.focus_row is not None:
            object_id = html.escape(str(state.session.pool.ids[state.focus_row]))
            self.banner.object = (
                f"<div class='banner banner-relabel' data-object='{object_id}' data-mode='selection'>"
                f"Labelling <b>{object_id}</b>, picked by hand (a class relabels it; "
                f"← or → returns to the queries)</div>")
            return
        shown = state.current
        if shown is None:
            self.banner.object = ("<div class='banner banner-empty' data-object='' data-mode='query'>"
                                  "Waiting for the next query…</div>")
            return
        item = shown.item
        badge = "<span class='badge-test'>TEST SET</span> " if shown.split == "test" else ""
        score = "" if item.score is None or (isinstance(item.score, float) and math.isnan(item.score)) \
            else f" (score {item.score:.3g})"
        prediction = (f" · model v{state.current_prediction_version} predicts "
                      f"<b>{html.escape(state.current_prediction)}</b> ({state.current_confidence:.2f})"
                      if state.current_prediction else " · no model yet")
        outcome = f" · was labelled <b>{html.escape(shown.outcome)}</b>" if shown.outcome else ""
        object_id = html.escape(shown.object_id)
        self.banner.object = (
            f"<div class='banner banner-query' data-object='{object_id}' data-mode='query' "
            f"data-split='{shown.split}' data-position='{state.position}' "
            f"data-prediction='{html.escape(state.current_prediction)}' "
            f"data-version='{state.current_prediction_version if state.current_prediction else ''}'>"
            f"{badge}#{state.position} <span class='query-id'><b>{object_id}</b></span>{prediction}{outcome}"
            f"<br><small>{html.escape(item.strategy)}: {html.escape(item.reason)}{score} · "
            f"{state.queued} queued</small></div>")

    def _on_counts(self, *_) -> None:
        counts = self.state.label_counts
        if counts is None:
            self.counts.object = ""
            return
        train, test = int(counts["train"].sum()), int(counts["test"].sum())
        self.counts.object = (f"<span class='label-total' data-train='{train}' data-test='{test}' "
                              f"title='{train} train, {test} test'>{train + test} labels</span>")

    def _on_bulk(self, *_) -> None:
        state = self.state
        n = len(state.selection)
        pending = state.bulk_pending
        self.bulk_row.visible = n > 0
        if pending:
            self.bulk_info.object = (f"<b class='bulk-question' data-n='{pending['n']}'>Label {pending['n']} "
                                     f"objects as {html.escape(pending['label'])} ({pending['split']})?</b>")
        else:
            self.bulk_info.object = (f"<span class='bulk-selected' data-n='{n}'>{n} selected "
                                     f"({html.escape(state.selection_source)})</span>")
        self.bulk_confirm.visible = self.bulk_cancel.visible = bool(pending)
        self.bulk_button.visible = self.bulk_class.visible = not pending

    def _add_class(self, _) -> None:
        if self.state.add_class(self.new_name.value, self.new_colour.value):
            self.new_name.value = ""


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-") or "class"
