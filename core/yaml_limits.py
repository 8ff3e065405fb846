"""Read YAML from files alabel did not write (configs, layouts, bundles) within limits.

``yaml.safe_load`` builds no arbitrary objects, but an alias bomb (anchors
referring to anchors, a few hundred bytes that expand to billions of nodes)
still makes any walk over the result run for minutes into a MemoryError.
:func:`load_yaml` measures what the document expands to *before* building
it, and turns every way a text can fail to load into one :class:`ConfigError`.
"""
from __future__ import annotations

from typing import Any

import yaml

from .errors import ConfigError

#: Most nodes a document may expand to, aliases counted at their full size.
MAX_NODES = 100_000


class _LimitedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses documents whose aliases expand past :data:`MAX_NODES`."""

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return self.construct_document(node)


def _check_expanded_size(root: yaml.Node) -> None:
    """Count nodes as a walk of the built object would meet them (aliases in full), without recursion."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if children_done:
            in_progress.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_NODES:
                raise _TooLarge()
            continue
        if key in in_progress:
            raise _Recursive()
        in_progress.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in in_progress:
                raise _Recursive()
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _TooLarge(Exception):
    pass


class _Recursive(Exception):
    pass


def load_yaml(text: str, where: str) -> Any:
    """Parse ``text`` (from file ``where``) safely; every failure is one ConfigError line."""
    try:
        return yaml.load(text, Loader=_LimitedLoader)  # noqa: S506 (a SafeLoader subclass)
    except _TooLarge:
        raise ConfigError(f"{where}: YAML aliases expand to more than {MAX_NODES} values "
                          "(an alias bomb?); write the values out instead") from None
    except _Recursive:
        raise ConfigError(f"{where}: YAML alias refers to itself (a recursive structure)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: YAML syntax error{at}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{where}: YAML nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date such as 2024-13-45
        raise ConfigError(f"{where}: YAML value cannot be read ({exc})") from None
