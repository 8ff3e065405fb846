"""YAML layouts: which components the dashboard shows, and where.

A layout file (``layouts/default.yaml``, or any YAML file named in the
config's ``ui.layout``) looks like::

    name: default
    description: scatter and detail side by side, the labelling panel under them
    sidebar:
      - {type: model}
      - {type: query}
    main:
      - row:
          - {type: scatter, width: 640, height: 480}
          - {type: detail}
      - {type: labelling}
      - tabs:
          Find: [{type: find}]
          Metrics: [{type: metrics}]

Items are components (``type`` plus the component's options) or containers:
``row`` and ``column`` (a list of items) and ``tabs`` (title → item or list).
Validation happens in two complete passes before anything is built:
:func:`load_layout` checks the file alone (keys, component types through the
registry with a "did you mean", option names and types), then
:func:`check_layout_data` checks it against the session's data (columns the
options name, the scatter axes, the detail renderers). Every error is one line
naming the file and the dotted key.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import panel as pn

from alabel.core.errors import ConfigError, did_you_mean
from alabel.core.registry import bundle_plugins_allowed, concrete_descendants, registered_types_only, resolve
from alabel.core.yaml_limits import load_yaml

from .components import Component
from .components.renderers import DetailRenderer

LAYOUT_KEYS = ("name", "description", "sidebar", "main")
#: Width bounds (px) of a column inside a row: wide enough for ten class buttons in three lines.
COLUMN_IN_ROW = (320, 400)
CONTAINERS = ("row", "column", "tabs")


@dataclass
class ComponentNode:
    """A component to build: its class, options and dotted key in the file."""

    cls: type
    options: dict
    key: str


@dataclass
class ContainerNode:
    """A row, column or tabs of child nodes (``titles`` for tabs)."""

    kind: str
    children: list
    key: str
    titles: list[str] = field(default_factory=list)


@dataclass
class LayoutSpec:
    """A validated layout file."""

    name: str
    description: str
    sidebar: list
    main: list
    source: str

    def components(self):
        """Every component node, depth first."""
        stack = list(self.sidebar) + list(self.main)
        while stack:
            node = stack.pop(0)
            if isinstance(node, ComponentNode):
                yield node
            else:
                stack[:0] = node.children


# ---------------------------------------------------------------------------
# finding layout files
# ---------------------------------------------------------------------------
def builtin_layouts() -> dict[str, Path]:
    """Layouts shipped with alabel: name → file."""
    folder = resources.files("alabel.layouts")
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml")}


def layout_path(name: str, config) -> tuple[Path, str]:
    """The file of layout ``name`` and the name to use in messages.

    ``name`` is a shipped layout's name or a path to a YAML file (relative to
    the config's folder).
    """
    shipped = builtin_layouts()
    if name in shipped:
        return shipped[name], f"layouts/{name}.yaml"
    if name.endswith((".yaml", ".yml")) or os.sep in name or "/" in name:
        path = config.resolve(name)
        if not path.is_file():
            raise ConfigError(f"{config.source}: ui.layout: layout file {str(path)!r} not found")
        return path, str(name)
    raise ConfigError(f"{config.source}: ui.layout: unknown layout {name!r}{did_you_mean(name, shipped)}; "
                      f"shipped: {', '.join(sorted(shipped))} (or give a path to a .yaml file)")


def available_layouts(config) -> list[str]:
    """Names the UI's layout picker offers (shipped ones, and the config's own file)."""
    return LayoutCatalog.for_config(config).names


class LayoutCatalog:
    """The layouts a page may show, by name only.

    A page (its address, its layout picker, a message crafted on its
    websocket) names a layout; only names listed here are read. They are the
    shipped layouts and the ones the server was given: the config's
    ``ui.layout`` and ``alabel serve --layout`` (a name, or a file listed
    under its stem). A path from a page is never opened, so an unknown name
    gets the same answer whether or not such a file exists.

    Parameters
    ----------
    choices : dict
        name → what the server named it by (a shipped name, or the file as
        the config or ``--layout`` wrote it), as :func:`resolve_layout` takes it.
    default : str
        The name a page shows unless it asks for another.
    """

    def __init__(self, choices: dict[str, str], default: str):
        self.choices = dict(choices)
        self.default = default

    @classmethod
    def shipped(cls) -> LayoutCatalog:
        """The shipped layouts only."""
        return cls({name: name for name in builtin_layouts()}, "default")

    @classmethod
    def for_config(cls, config, server_layout: str | None = None, *, confine: bool = False) -> LayoutCatalog:
        """Shipped layouts plus the config's ``ui.layout`` and the server's ``--layout``.

        ``confine``: a layout file must lie inside the config's folder (a
        config that came in an uploaded bundle); one outside is left out.
        """
        choices = cls.shipped().choices
        default = "default"
        for chosen in (config.ui.layout, server_layout):
            if not chosen:
                continue
            if chosen not in choices:
                if confine and not config.resolve(chosen).resolve().is_relative_to(Path(config.base_dir).resolve()):
                    continue
                layout_path(chosen, config)  # an unknown name or a missing file: one line, now
                choices[Path(chosen).stem] = chosen
            default = Path(chosen).stem
        return cls(choices, default if default in choices else "default")

    @property
    def names(self) -> list[str]:
        """The names a page may ask for, sorted."""
        return sorted(self.choices)

    def check_name(self, name: str) -> str:
        """``name`` if listed; else ConfigError that says nothing about files (the same for every name)."""
        if name in self.choices:
            return name
        shown = str(name)[:40] + ("…" if len(str(name)) > 40 else "")
        raise ConfigError(f"unknown layout {shown!r}{did_you_mean(str(name), self.choices)}; "
                          f"available: {', '.join(self.names)}")

    def resolve(self, name: str, session) -> LayoutSpec:
        """Load and fully validate the listed layout ``name`` for ``session``."""
        return resolve_layout(self.choices[self.check_name(name)], session)


# ---------------------------------------------------------------------------
# pass 1: the file alone
# ---------------------------------------------------------------------------
def load_layout(path: str | Path, where: str | None = None) -> LayoutSpec:
    """Read and validate a layout file (without data)."""
    path = Path(path)
    where = where or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read layout ({exc.strerror})") from None
    return parse_layout(load_yaml(text, where), where=where, default_name=path.stem)


def parse_layout(raw: Any, *, where: str, default_name: str = "layout") -> LayoutSpec:
    """Validate a parsed layout mapping completely; returns the node tree."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with 'main' (and optionally 'sidebar'), "
                          f"got {type(raw).__name__}")
    for key in raw:
        if key not in LAYOUT_KEYS:
            raise ConfigError(f"{where}: {key}: unknown key{did_you_mean(str(key), LAYOUT_KEYS)}; "
                              f"allowed: {', '.join(LAYOUT_KEYS)}")
    if "main" not in raw:
        raise ConfigError(f"{where}: main: missing (the list of components to show)")
    for key in ("name", "description"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{where}: {key}: expected text, got {raw[key]!r}")
    sidebar = _items(raw.get("sidebar") or [], where, "sidebar")
    main = _items(raw["main"], where, "main")
    if not main:
        raise ConfigError(f"{where}: main: empty (list at least one component)")
    return LayoutSpec(name=raw.get("name") or default_name, description=raw.get("description", ""),
                      sidebar=sidebar, main=main, source=where)


def _items(value: Any, where: str, key: str) -> list:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key}: expected a list of components, got {type(value).__name__}")
    return [_item(item, where, f"{key}[{i}]") for i, item in enumerate(value)]


def _item(item: Any, where: str, key: str):
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: {key}: expected a mapping (a component with 'type', or row/column/tabs), "
                          f"got {item!r}")
    containers = [k for k in CONTAINERS if k in item]
    if containers:
        kind = containers[0]
        extra = [k for k in item if k != kind]
        if extra:
            raise ConfigError(f"{where}: {key}.{extra[0]}: a {kind} takes no other key")
        if kind == "tabs":
            tabs = item["tabs"]
            if not isinstance(tabs, dict) or not tabs:
                raise ConfigError(f"{where}: {key}.tabs: expected a mapping of tab title to components")
            children, titles = [], []
            for title, content in tabs.items():
                sub = f"{key}.tabs.{title}"
                nodes = _items(content if isinstance(content, list) else [content], where, sub)
                children.append(nodes[0] if len(nodes) == 1 else ContainerNode("column", nodes, sub))
                titles.append(str(title))
            return ContainerNode("tabs", children, key, titles)
        return ContainerNode(kind, _items(item[kind], where, f"{key}.{kind}"), key)
    if "type" not in item:
        raise ConfigError(f"{where}: {key}.type: missing (a component type or row/column/tabs); known types: "
                          f"{', '.join(concrete_descendants(Component))}")
    cls = resolve(Component, item["type"], key=f"{key}.type", where=where)
    options = {k: v for k, v in item.items() if k != "type"}
    cls.check_options(options, where=where, key=key)
    return ComponentNode(cls, options, key)


# ---------------------------------------------------------------------------
# pass 2: against the session's data
# ---------------------------------------------------------------------------
def check_layout_data(spec: LayoutSpec, session) -> None:
    """Raise ConfigError when the layout or ``ui``/``data.detail`` name what the data lack."""
    from .components.scatter import check_ui_scatter

    for node in spec.components():
        node.cls.check_data(node.options, session, where=spec.source, key=node.key)
    check_ui_scatter(session, session.config.source)
    for i, detail in enumerate(session.config.data.detail):
        renderer = resolve(DetailRenderer, detail.kind, key=f"data.detail[{i}].kind", where=session.config.source)
        renderer.check_spec(detail, where=session.config.source, key=f"data.detail[{i}]")


def resolve_layout(name: str, session) -> LayoutSpec:
    """Find, load and fully validate the layout ``name`` for ``session``."""
    path, where = layout_path(name, session.config)
    # A bundle's layout may name only registered components (no dotted imports).
    trusted = not getattr(session.config, "confined", False) or bundle_plugins_allowed()
    with contextlib.nullcontext() if trusted else registered_types_only():
        spec = load_layout(path, where)
        check_layout_data(spec, session)
    return spec


# ---------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------
def build_layout(spec: LayoutSpec, state) -> tuple[pn.viewable.Viewable, pn.viewable.Viewable, list]:
    """Build (sidebar, main, components) for one tab's state."""
    built: list = []
    sidebar = pn.Column(*[_build(n, state, built) for n in spec.sidebar], sizing_mode="stretch_width",
                        css_classes=["alabel-sidebar"])
    main = pn.Column(*[_build(n, state, built) for n in spec.main], sizing_mode="stretch_width",
                     css_classes=["alabel-main"])
    return sidebar, main, built


def _build(node, state, built: list, in_row: bool = False):
    if isinstance(node, ComponentNode):
        component = node.cls(state, **node.options)
        built.append(component)
        return component
    children = [_build(child, state, built, in_row=node.kind == "row") for child in node.children]
    if node.kind == "column" and in_row:
        # A column beside a plot (the labelling panel and the detail) keeps a reading width,
        # leaving the rest of the row to the plot.
        return pn.Column(*children, sizing_mode="stretch_width", min_width=COLUMN_IN_ROW[0],
                         max_width=COLUMN_IN_ROW[1], css_classes=["alabel-row-column"])
    if node.kind == "row":
        # A flex box wraps: on a narrow screen the row's parts stack instead of overflowing sideways.
        return pn.FlexBox(*children, flex_wrap="wrap", align_items="flex-start", sizing_mode="stretch_width",
                          css_classes=["alabel-row"])
    if node.kind == "column":
        return pn.Column(*children, sizing_mode="stretch_width")
    return pn.Tabs(*zip(node.titles, children), sizing_mode="stretch_width", dynamic=False,
                   css_classes=["alabel-tabs"])
