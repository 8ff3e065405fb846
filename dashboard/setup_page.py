"""The setup page: ``alabel serve DATA.parquet`` with no config yet.

A :class:`SetupPage` shows a preview of every column and the proposed
choices (:class:`~alabel.dashboard.setup_state.SetupState`, the same engine
code as ``alabel init``); each field has its error or warning beside it. Save
writes config.yaml next to the data, opens the session and swaps the page for
the labelling dashboard in the same tab. :class:`SetupServer` is what
``serve`` gets instead of a config: it hands every new tab the setup page
until a config is saved, and the dashboard after.
"""
from __future__ import annotations

import html
import threading
from collections.abc import Callable
from pathlib import Path

import panel as pn

from alabel.dashboard.redact import redact_paths
from alabel.dashboard.setup_state import KINDS, SetupState

_CSS = """
.setup-error { color: #b00020; font-size: 0.9em; min-height: 0; }
.setup-warning { color: #8a6d00; font-size: 0.9em; }
.setup-preview table { font-size: 0.85em; }
"""

#: Field -> (title, help line).
_FIELDS = {
    "id_column": ("Id column", "a distinct value in every row; labels are stored against it"),
    "ground_truth": ("Ground truth", "known classes, if any: the oracle of `alabel simulate`, never shown"),
    "features": ("Features", "what the model learns from, by kind"),
    "hidden": ("Hidden columns", "ids, names and finer labels that give the class away: never shown"),
    "classes": ("Classes", "name, colour and key of each class"),
    "config": ("", ""),
}


class SetupPage(pn.viewable.Viewer):
    """Pick the id, features, hidden columns and classes; save and start labelling."""

    def __init__(self, state: SetupState, on_saved: Callable[[Path], pn.viewable.Viewable], **params):
        super().__init__(**params)
        self.state = state
        self.on_saved = on_saved
        self.notes = {name: pn.pane.HTML("", css_classes=["setup-error", f"setup-error-{name}"],
                                         sizing_mode="stretch_width", margin=(0, 10)) for name in _FIELDS}
        widgets = {
            "id_column": [pn.widgets.Select.from_param(state.param.id_column, name="", width=260)],
            "ground_truth": [pn.widgets.Select.from_param(state.param.ground_truth, name="", width=260)],
            "features": [pn.widgets.MultiChoice.from_param(state.param[kind], name=kind,
                                                           css_classes=[f"setup-{kind}"],
                                                           sizing_mode="stretch_width") for kind in KINDS],
            "hidden": [pn.widgets.MultiChoice.from_param(state.param.hidden, name="", css_classes=["setup-hidden"],
                                                         sizing_mode="stretch_width")],
        }
        self.class_rows = pn.Column(sizing_mode="stretch_width")
        self.new_class = pn.widgets.TextInput(placeholder="new class", width=160, css_classes=["setup-new-class"])
        add = pn.widgets.Button(name="add class", width=90, css_classes=["setup-add-class"])
        add.on_click(self._add_class)
        widgets["classes"] = [self.class_rows, pn.Row(self.new_class, add)]
        self.fields = pn.Column(*[self._field(name, widgets[name]) for name in _FIELDS if name in widgets],
                                sizing_mode="stretch_width")
        self.save_button = pn.widgets.Button(name=f"Save {state.out.name} and start labelling",
                                             button_type="primary", css_classes=["setup-save"])
        self.save_button.on_click(self._save)
        self.preview = pn.pane.DataFrame(state.preview(), index=False, css_classes=["setup-preview"],
                                         sizing_mode="stretch_width", max_height=420, escape=True)
        self.body = pn.Column(sizing_mode="stretch_width")
        self.body.objects = [self._setup_view()]
        state.param.watch(self._on_checks, ["errors", "warnings"])
        state.param.watch(self._on_classes, "classes")
        state.param.watch(self._on_proposal, ["id_column", "ground_truth"])
        self._on_classes()
        self._on_checks()

    def __panel__(self):
        return pn.Column(self.body, sizing_mode="stretch_width", stylesheets=[_CSS], css_classes=["alabel-setup-page"])

    # -- building ----------------------------------------------------------------------
    def _setup_view(self) -> pn.viewable.Viewable:
        state = self.state
        files = ", ".join(html.escape(p.name) for p in state.paths)
        title = pn.pane.HTML(
            f"<h2 style='margin:4px 0'>alabel · set up {files}</h2><div>{len(state.proposal.frame):,} rows, "
            f"{state.proposal.frame.shape[1]} columns. Check the proposed choices (the same as "
            f"<code>alabel init</code>), then save <code>{html.escape(state.out.name)}</code> beside the data "
            "(the page never shows the server's folders).</div>",
            sizing_mode="stretch_width")
        return pn.Column(title, pn.Row(pn.Column(self.fields, self.notes["config"], self.save_button, width=560),
                                       pn.Column(pn.pane.HTML("<b>Columns</b>"), self.preview,
                                                 sizing_mode="stretch_width"), sizing_mode="stretch_width"),
                         css_classes=["alabel-setup"], sizing_mode="stretch_width")

    def _field(self, name: str, widgets: list) -> pn.viewable.Viewable:
        title, helptext = _FIELDS[name]
        header = pn.pane.HTML(f"<b>{html.escape(title)}</b> <small style='color:#666'>{html.escape(helptext)}"
                              "</small>", margin=(6, 10, 0, 10))
        return pn.Column(header, *widgets, self.notes[name], css_classes=["setup-field", f"setup-field-{name}"],
                         sizing_mode="stretch_width")

    def _class_row(self, index: int, spec: dict) -> pn.viewable.Viewable:
        name = pn.widgets.TextInput(value=spec["name"], width=170, css_classes=[f"setup-class-name-{index}"])
        color = pn.widgets.ColorPicker(value=spec.get("color") or "#888888", width=50, name="")
        key = pn.widgets.TextInput(value=spec.get("key") or "", width=60, placeholder="key",
                                   css_classes=[f"setup-class-key-{index}"])
        name.param.watch(lambda e: self.state.set_class(index, name=e.new), "value")
        color.param.watch(lambda e: self.state.set_class(index, color=e.new), "value")
        key.param.watch(lambda e: self.state.set_class(index, key=e.new), "value")
        rows = pn.pane.HTML(f"<small>{spec.get('rows', 0):,} rows</small>", margin=(12, 4))
        return pn.Row(name, color, key, rows, css_classes=["setup-class", f"setup-class-{index}"])

    # -- reacting ----------------------------------------------------------------------
    def _on_classes(self, *_) -> None:
        names = [c["name"] for c in self.state.classes]
        # Typing in a row changes the state; rebuild only when classes come or go (keeps the focus).
        if getattr(self, "_shown_classes", None) != len(names) or not self.class_rows.objects:
            self._shown_classes = len(names)
            self.class_rows.objects = [self._class_row(i, c) for i, c in enumerate(self.state.classes)]

    def _on_proposal(self, *_) -> None:
        self._shown_classes = None
        self._on_classes()
        self.preview.object = self.state.preview()

    def _on_checks(self, *_) -> None:
        errors, warnings = self.state.errors, self.state.warnings
        for name, pane in self.notes.items():
            if name in errors:
                pane.object = (f"<div class='setup-error-text' data-field='{name}'>"
                               f"{html.escape(redact_paths(errors[name], self.state.out.parent))}</div>")
            elif name in warnings:
                pane.object = (f"<div class='setup-warning' data-field='{name}'>"
                               f"{html.escape(redact_paths(warnings[name], self.state.out.parent))}</div>")
            else:
                pane.object = ""
        self.save_button.disabled = bool(errors)

    def _add_class(self, _event) -> None:
        self.state.add_class(self.new_class.value)
        self.new_class.value = ""

    def _save(self, _event) -> None:
        self.save_button.loading = True
        try:
            path = self.state.save()
            if path is None:
                return
            self.body.objects = [self.on_saved(path)]
        finally:
            self.save_button.loading = False


class SetupServer:
    """What ``serve`` runs for a data file: the setup page until a config is saved, then the dashboard.

    Parameters
    ----------
    paths
        The data files.
    out
        Where config.yaml will be written (next to the data).
    """

    def __init__(self, paths: list[Path], out: Path):
        self.paths = [Path(p) for p in paths]
        self.out = Path(out)
        self.hub = None
        self._lock = threading.Lock()
        # Read and propose once now: a data file that cannot be read fails before the server starts.
        self._first: SetupState | None = SetupState(self.paths, self.out)
        self.title = f"set up {self.paths[0].name}"
        self.n_objects = len(self._first.proposal.frame)

    def page(self, layout: str | None = None, access=None) -> pn.viewable.Viewable:
        """A new tab's page (``access``: the server's sign-in and identity rules, for the dashboard)."""
        if self.hub is not None:
            from alabel.dashboard.app import create_page

            return create_page(self.hub, layout, access)
        # The dashboard swapped in after saving has tables: their JavaScript must come with the page.
        pn.extension("tabulator")
        state, self._first = (self._first, None) if self._first is not None else (SetupState(self.paths, self.out),
                                                                                 None)
        return SetupPage(state, on_saved=lambda path: self._open(path, layout, access))

    def _open(self, path: Path, layout: str | None, access=None) -> pn.viewable.Viewable:
        """Open the saved config's session (once) and return this tab's dashboard."""
        from alabel.dashboard.app import create_page
        from alabel.dashboard.hub import open_hub

        with self._lock:
            if self.hub is None:
                self.hub = open_hub(path)
        return create_page(self.hub, layout, access)


__all__ = ["SetupPage", "SetupServer"]
