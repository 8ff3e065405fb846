"""Keyboard map of the labelling flow: which key does what.

Class keys come from the config's classes (1–9, 0, then letters by default);
action keys from ``ui.keys`` (accept Enter, skip s, unsure ?, undo Backspace,
next ArrowRight, previous ArrowLeft). Keys are matched as the browser reports
them in ``KeyboardEvent.key``; single letters match either case so Caps Lock
does not change meaning.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Actions a key can trigger besides choosing a class, in the order the UI lists them.
ACTIONS = ("accept", "skip", "unsure", "undo", "previous", "next")


@dataclass(frozen=True)
class KeyAction:
    """What a key press asks for: an action name, and the class for ``label``."""

    action: str
    label: str | None = None


class KeyMap:
    """Maps key names to actions.

    Parameters
    ----------
    classes
        The config's :class:`~alabel.core.config.ClassSpec` list.
    action_keys
        ``ui.keys``: action name → key.
    """

    def __init__(self, classes, action_keys: dict[str, str]):
        self._map: dict[str, KeyAction] = {}
        for action, key in action_keys.items():
            self._add(key, KeyAction(action))
        for spec in classes:
            if spec.key:
                self._add(spec.key, KeyAction("label", spec.name))

    def _add(self, key: str, action: KeyAction) -> None:
        self._map[key] = action
        if len(key) == 1 and key.isalpha():
            self._map.setdefault(key.swapcase(), action)

    def resolve(self, key: str) -> KeyAction | None:
        """The action bound to ``key``, or None."""
        return self._map.get(key)

    @property
    def keys(self) -> list[str]:
        """Every bound key (the browser stops their default action, e.g. scrolling)."""
        return sorted(self._map)

    def key_of(self, action: str, label: str | None = None) -> str | None:
        for key, bound in self._map.items():
            if bound.action == action and bound.label == label:
                return key
        return None
