"""The architecture's "nevers", read from the source (docs/architecture.md explains them).

* ``core/`` never imports Panel, Bokeh, HoloViews or ``dashboard/``;
* ``dashboard/`` reaches the engine through ``Session`` only: it never names
  the label store or the trainer, never imports their modules, and never
  touches a session's private attributes;
* loops never import the session module (they see a narrow context);
* no import cycle among the modules of ``core/``, whether the import sits at
  the top of a module or inside a function.

Imports are read from the syntax tree, function-level ones included, so a
lazy import cannot hide an arrow.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"core": "alabel.core", "dashboard": "alabel.dashboard", "layouts": "alabel.layouts"}
UI_LIBRARIES = ("panel", "bokeh", "holoviews")
#: Engine modules only ``Session`` may use.
SESSION_INTERNALS = ("alabel.core.labels", "alabel.core.training")


def _modules(folder: str) -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([PACKAGES[folder], *parts])] = path
    return out


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """Absolute names imported by a module (``from a import b`` gives ``a`` and ``a.b``), with lines."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    return found


CORE = _modules("core")
DASHBOARD = _modules("dashboard")


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_core_never_imports_the_ui():
    offences = [f"{path.relative_to(ROOT)}:{line} imports {name}"
                for module, path in CORE.items() for name, line in _imports(module, path)
                if _within(name, UI_LIBRARIES + ("alabel.dashboard",))]
    assert not offences, "\n".join(offences)


def test_dashboard_uses_the_engine_through_session_only():
    offences = []
    for module, path in DASHBOARD.items():
        offences += [f"{path.relative_to(ROOT)}:{line} imports {name}"
                     for name, line in _imports(module, path) if _within(name, SESSION_INTERNALS)]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Attribute):
                continue
            if node.attr in ("store", "trainer", "planner"):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} reaches .{node.attr}")
            owner = node.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if owner_name == "session" and node.attr.startswith("_"):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} reaches session.{node.attr}")
    assert not offences, "\n".join(offences)


def test_loops_never_import_the_session_module():
    offences = [f"{path.relative_to(ROOT)}:{line} imports {name}"
                for module, path in CORE.items() if module.startswith("alabel.core.loops")
                for name, line in _imports(module, path) if _within(name, ("alabel.core.session",))]
    assert not offences, "\n".join(offences)


def _core_graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in CORE.items():
        targets = set()
        for name, _ in _imports(module, path):
            # the longest core module the name points into (``a.b.func`` -> ``a.b``)
            while name and name not in CORE:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)  # a package's own __init__ is not an arrow back for its submodules
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_in_core():
    cycles = _cycles(_core_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _cycles(graph) == expected
