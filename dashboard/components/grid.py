"""Label many objects at once: a page of thumbnails, a selection, one class for all.

The page is the query batch this tab works through (topped up to the page
size) or the objects selected in the scatter or finder. Select tiles with the
mouse (click toggles one, shift-click adds the range from the last click) or,
once the grid has the focus, the keyboard (arrows move, space toggles,
shift+arrows extend, Ctrl+A selects all, Escape clears); a class button or a
class key labels the selection, Backspace (or Undo) takes the whole last grid
action back. Keys pressed in the grid stay in the grid: they never reach the
page-wide keys of the one-at-a-time flow.

Labels go through the tab's state (:meth:`TabState.label_grid` →
``Session.teach_many``); the browser sends the ids it showed selected, and
the state refuses ids that are no longer on the page.
"""
from __future__ import annotations

import html
from collections import OrderedDict

import panel as pn
import param

from alabel.core.params import integer

from ..thumbnails import thumbnail_for
from .base import Component, held

#: Objects per page unless the layout says otherwise.
PAGE_SIZE = 20
#: Thumbnails kept drawn (each is a few hundred bytes to a few kB of HTML).
_CACHE = 2_000

_CSS = """
.grid-tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(112px, 1fr)); gap: 6px;
              outline: none; padding: 4px; border-radius: 6px; }
.grid-tiles:focus { box-shadow: 0 0 0 2px #90caf9; }
.grid-tile { border: 2px solid #e0e0e0; border-radius: 6px; padding: 3px; cursor: pointer; background: #fff;
             display: flex; flex-direction: column; align-items: center; user-select: none; }
.grid-tile.selected { border-color: #1565c0; background: #e3f2fd; }
.grid-tile.cursor { outline: 2px dashed #ff9800; outline-offset: 1px; }
.grid-tile .thumb-text { font-size: 11px; line-height: 1.2; height: 96px; overflow: hidden; }
.grid-tile .thumb-note { font-size: 10px; color: #555; }
.grid-tile .tile-caption { font-size: 11px; width: 100%; display: flex; justify-content: space-between; gap: 4px; }
.grid-tile .tile-label { font-weight: 700; padding: 0 3px; border-radius: 3px; color: #fff; }
.grid-tile .tile-guess { color: #777; }
.grid-empty { color: #666; padding: 8px; }
"""


class ThumbnailGrid(pn.custom.JSComponent):
    """The tiles in the browser: selection by mouse and keyboard, class keys sent to the server."""

    tiles = param.List(default=[], doc="Tiles: {id, html, caption} (html and caption escaped by the server).")
    selected = param.List(default=[], doc="Ids of the selected tiles (the browser sets them).")
    keys = param.Dict(default={}, doc="Class key → class name, for labelling from the keyboard.")
    undo_key = param.String(default="Backspace", doc="Key that undoes the last grid action.")

    _stylesheets = [_CSS]

    _esm = """
    export function render({ model }) {
      const root = document.createElement('div');
      root.className = 'grid-tiles';
      root.tabIndex = 0;
      let anchor = null;  // index of the last clicked tile: shift-click selects from it
      let cursor = 0;     // keyboard position
      const ids = () => model.tiles.map(t => t.id);
      const select = (list) => { model.selected = [...new Set(list)]; };
      const range = (a, b) => ids().slice(Math.min(a, b), Math.max(a, b) + 1);
      const draw = () => {
        const chosen = new Set(model.selected);
        root.replaceChildren();
        if (!model.tiles.length) {
          const empty = document.createElement('div');
          empty.className = 'grid-empty';
          empty.textContent = 'Nothing on this page.';
          root.appendChild(empty);
        }
        cursor = Math.min(cursor, Math.max(model.tiles.length - 1, 0));
        model.tiles.forEach((tile, i) => {
          const div = document.createElement('div');
          div.className = 'grid-tile' + (chosen.has(tile.id) ? ' selected' : '') + (i === cursor ? ' cursor' : '');
          div.dataset.object = tile.id;
          div.dataset.index = String(i);
          div.dataset.label = tile.label || '';
          div.innerHTML = tile.html + tile.caption;
          div.addEventListener('click', (event) => {
            root.focus();
            if (event.shiftKey && anchor !== null) {
              select([...model.selected, ...range(anchor, i)]);
            } else {
              const now = new Set(model.selected);
              if (now.has(tile.id)) now.delete(tile.id); else now.add(tile.id);
              select([...now]);
              anchor = i;
            }
            cursor = i;
            model.send_msg({action: 'focus', object: tile.id});
            draw();
          });
          root.appendChild(div);
        });
      };
      root.addEventListener('keydown', (event) => {
        if (event.isComposing) return;
        const n = model.tiles.length;
        const move = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: 0, ArrowUp: 0}[event.key];
        let handled = true;
        if (move !== undefined) {
          const first = root.querySelector('.grid-tile');
          const perRow = first ? Math.max(1, Math.round(root.clientWidth / (first.offsetWidth + 6))) : 1;
          const step = event.key === 'ArrowDown' ? perRow : event.key === 'ArrowUp' ? -perRow : move;
          const next = Math.max(0, Math.min(n - 1, cursor + step));
          if (event.shiftKey && n) select([...model.selected, ...range(cursor, next)]);
          cursor = next;
          draw();
        } else if (event.key === ' ' && n) {
          const id = model.tiles[cursor].id, now = new Set(model.selected);
          if (now.has(id)) now.delete(id); else now.add(id);
          anchor = cursor;
          select([...now]);
          draw();
        } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'a') {
          select(ids());
          draw();
        } else if (event.key === 'Escape') {
          select([]);
          draw();
        } else if (event.key === model.undo_key) {
          model.send_msg({action: 'undo'});
        } else if (!event.ctrlKey && !event.metaKey && !event.altKey &&
                   (model.keys[event.key] !== undefined || model.keys[event.key.toLowerCase()] !== undefined)) {
          const name = model.keys[event.key] ?? model.keys[event.key.toLowerCase()];
          model.send_msg({action: 'label', label: name, objects: [...model.selected]});
          select([]);  // at once: the next selection may start before the server answers
          draw();
        } else {
          handled = false;
        }
        if (handled) { event.preventDefault(); }
        event.stopPropagation();  // the page-wide keys of the one-at-a-time flow never see grid keys
      });
      model.on('tiles', draw);
      model.on('selected', draw);
      draw();
      return root;
    }
    """

    def __init__(self, on_msg, **params):
        super().__init__(**params)
        self._on_msg = on_msg

    def _handle_msg(self, data) -> None:
        if not isinstance(data, dict):
            return
        action = data.get("action")
        if action == "label" and isinstance(data.get("label"), str) and isinstance(data.get("objects"), list):
            self._on_msg("label", label=data["label"], objects=[str(o)[:200] for o in data["objects"][:10_000]])
        elif action in ("undo", "focus"):
            self._on_msg(action, object=str(data.get("object") or "")[:200])


class GridView(Component):
    """A page of thumbnails of the query batch or the selection, labelled many at a time."""

    type_name = "grid"
    title = "Label many"
    params_spec = {"size": integer(PAGE_SIZE, "thumbnails on one page", low=1, high=200, label="Page size")}

    def __init__(self, state, **options):
        super().__init__(state, **options)
        self.size = self.layout_options["size"]
        session = state.session
        self.thumbnail = thumbnail_for(session.pool, session.config.data.detail)
        self._drawn: OrderedDict[int, str] = OrderedDict()
        self.source = pn.widgets.RadioButtonGroup(options={"Query batch": "query", "Selection": "selection"},
                                                  value=state.grid_source, css_classes=["grid-source"])
        self.source.param.watch(lambda e: self.state.load_grid(self.size, source=e.new), "value")
        undo_key = session.config.ui.keys.get("undo", "Backspace")
        self.grid = ThumbnailGrid(self._on_msg, undo_key=undo_key, sizing_mode="stretch_width",
                                  css_classes=["grid-view"])
        self.grid.param.watch(self._on_selected, "selected")
        self.buttons = pn.FlexBox(css_classes=["grid-classes"], sizing_mode="stretch_width")
        self.info = pn.pane.HTML("", css_classes=["grid-info"], sizing_mode="stretch_width")
        self.select_all = self._button("Select all", "grid-select-all", lambda: self._select_all())
        self.clear = self._button("Clear", "grid-clear", lambda: setattr(self.grid, "selected", []))
        self.undo = self._button("Undo grid [⌫]", "grid-undo", lambda: held(self.state.undo_grid))
        self.previous = self._button("◀ Page", "grid-previous", lambda: self._page(-1))
        self.next = self._button("Page ▶", "grid-next", lambda: self._page(+1))
        self.watch(self._on_page, "grid_page")
        self.watch(self._on_captions, "grid_labels", "labelled", "model_version")
        self.watch(self._on_classes, "classes")
        self.watch(self._on_undo_depth, "grid_undo_depth")
        self.watch(self._on_queue, "current", "queued")
        self.watch(lambda *_: setattr(self.source, "value", self.state.grid_source), "grid_source")
        self._on_classes()
        self._on_undo_depth()
        state.load_grid(self.size)
        self._on_page()

    def __panel__(self):
        tools = pn.Row(self.source, self.select_all, self.clear, self.undo, self.previous, self.next,
                       css_classes=["grid-tools"])
        # The class buttons above the tiles: on a laptop screen they stay in view with the first row.
        return self.card(tools, self.buttons, self.info, self.grid)

    def _button(self, label: str, css: str, action) -> pn.widgets.Button:
        button = pn.widgets.Button(label=label, css_classes=[css])
        button.on_click(lambda _: action())
        return button

    # -- actions -----------------------------------------------------------------------------
    def _on_msg(self, action: str, label: str = "", objects=(), object: str = "") -> None:
        if action == "label":
            self._label(label, objects, clear=False)  # the browser cleared its selection itself
        elif action == "undo":
            held(self.state.undo_grid)
        elif action == "focus" and object:
            row = next((e["row"] for e in self.state.grid_page if e["object_id"] == object), None)
            if row is not None:
                self.state.focus(row)

    def _label(self, name: str, objects, *, clear: bool = True) -> None:
        if held(self.state.label_grid, objects, name) and clear:
            self.grid.selected = []

    def _select_all(self) -> None:
        self.grid.selected = [entry["object_id"] for entry in self.state.grid_page]

    def _page(self, step: int) -> None:
        state = self.state
        if state.grid_source == "selection":
            state.load_grid(self.size, source="selection", start=state.grid_start + step * self.size)
        else:  # the query batch has no pages behind: both buttons bring what is left to label
            state.load_grid(self.size, source="query")

    # -- drawing -----------------------------------------------------------------------------
    def _on_page(self, *_) -> None:
        page_ids = {entry["object_id"] for entry in self.state.grid_page}
        self.grid.param.update(tiles=self._tiles(), selected=[o for o in self.grid.selected if o in page_ids])
        self._on_selected()

    def _on_captions(self, *_) -> None:
        self.grid.tiles = self._tiles()

    def _on_queue(self, *_) -> None:
        # The first batch may land after the grid was built: fill an empty query page then.
        if self.state.grid_source == "query" and not self.state.grid_page and self.state.current is not None:
            self.state.load_grid(self.size, source="query")

    def _on_classes(self, *_) -> None:
        buttons = []
        for spec in self.state.classes:
            key = f" [{spec.key}]" if spec.key else ""
            button = pn.widgets.Button(
                label=f"{spec.name}{key}", css_classes=["grid-class-btn", f"grid-class-{_slug(spec.name)}"],
                stylesheets=[f".bk-btn {{ border-left: 8px solid {spec.color} !important; font-weight: 600; }}"])
            button.on_click(lambda _, name=spec.name: self._label(name, list(self.grid.selected)))
            buttons.append(button)
        self.buttons.objects = [pn.pane.HTML("<b>Label the selection:</b>", margin=(8, 5)), *buttons]
        keys = {}
        for spec in self.state.classes:
            if spec.key:
                keys[spec.key] = spec.name
                keys.setdefault(spec.key.lower(), spec.name)
        self.grid.keys = keys

    def _on_undo_depth(self, *_) -> None:
        self.undo.disabled = self.state.grid_undo_depth == 0

    def _on_selected(self, *_) -> None:
        state = self.state
        n, total = len(self.grid.selected), len(state.grid_page)
        where = "query batch" if state.grid_source == "query" else (
            f"selection, {state.grid_start + 1}–{state.grid_start + total} of {len(state.selection)}"
            if total else "selection")
        self.info.object = (f"<span class='grid-selected' data-n='{n}' data-total='{total}'>{n} of {total} "
                            f"selected ({html.escape(where)})</span> · click, shift-click, or arrows and "
                            "space; a class key labels the selection")

    def _tiles(self) -> list[dict]:
        state = self.state
        colours = {spec.name: spec.color for spec in state.classes}
        tiles = []
        for entry in state.grid_page:
            row, object_id = int(entry["row"]), str(entry["object_id"])
            label = state.grid_labels.get(object_id)
            if label is None:
                known = state.lookup_label(row)
                label = known["label"] if known else None
            if label is not None:
                tag = (f"<span class='tile-label' style='background:{html.escape(colours.get(label, '#555'))}'>"
                       f"{html.escape(str(label))}</span>")
            else:
                guess = state.session.prediction(row)
                tag = (f"<span class='tile-guess' title='model v{guess.model_version}'>"
                       f"{html.escape(guess.label)}? {guess.confidence:.2f}</span>" if guess else "")
            test = " <b style='color:#b00020'>test</b>" if entry.get("split") == "test" else ""
            caption = (f"<div class='tile-caption'><span class='tile-id'>{html.escape(object_id)}{test}</span>"
                       f"{tag}</div>")
            tiles.append({"id": object_id, "html": self._draw(row), "caption": caption,
                          "label": "" if label is None else str(label)})
        return tiles

    def _draw(self, row: int) -> str:
        drawn = self._drawn.get(row)
        if drawn is None:
            drawn = self._drawn[row] = self.thumbnail.html(row)
            if len(self._drawn) > _CACHE:
                self._drawn.popitem(last=False)
        return drawn


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-") or "class"
