"""Captures key presses anywhere on the page for the labelling flow.

A tiny ES-module component (no build step, nothing fetched from the network)
listens to ``keydown`` on the document and sends the key's name to the
server, which looks it up in the tab's :class:`~alabel.dashboard.keys.KeyMap`.
Keys typed into a text field are left alone (the shadow DOM hides the real
target from the document, so ``composedPath()[0]`` is checked); bound keys
lose their browser default (arrows would scroll the page).
"""
from __future__ import annotations

from collections.abc import Callable

import panel as pn
import param


class KeyCapture(pn.custom.JSComponent):
    """Sends every unmodified key press outside text fields to ``on_key(key)``."""

    keys = param.List(default=[], doc="Keys whose browser default action is prevented.")

    _esm = """
    export function render({ model }) {
      const typing = (el) => el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' ||
                                    el.tagName === 'SELECT' || el.isContentEditable);
      const handler = (event) => {
        if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
        if (typing(event.composedPath()[0])) return;
        if (model.keys.includes(event.key)) event.preventDefault();
        model.send_msg({key: event.key});
      };
      document.addEventListener('keydown', handler);
      model.on('remove', () => document.removeEventListener('keydown', handler));
      const el = document.createElement('span');
      el.className = 'alabel-keys';
      return el;
    }
    """

    def __init__(self, on_key: Callable[[str], object], **params):
        super().__init__(**params)
        self._on_key = on_key

    def _handle_msg(self, data) -> None:
        key = data.get("key") if isinstance(data, dict) else None
        if isinstance(key, str) and key:
            self._on_key(key)
