"""Captures key presses anywhere on the page for the labelling flow.

A tiny ES-module component (no build step, nothing fetched from the network)
listens to ``keydown`` on the document and sends the key's name to the
server, which looks it up in the tab's :class:`~alabel.dashboard.keys.KeyMap`.
With the key goes what the labelling banner showed at that moment (object,
prediction, model version, read from its ``data-`` attributes): the server
may be ahead of the page, and a key must act on what the person saw.
Keys typed into a text field are left alone (the shadow DOM hides the real
target from the document, so ``composedPath()[0]`` is checked); bound keys
lose their browser default (arrows would scroll the page).
"""
from __future__ import annotations

from collections.abc import Callable

import panel as pn
import param


class KeyCapture(pn.custom.JSComponent):
    """Sends every unmodified key press outside text fields to ``on_key(key, shown)``."""

    keys = param.List(default=[], doc="Keys whose browser default action is prevented.")

    _esm = """
    export function render({ model }) {
      const typing = (el) => el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' ||
                                    el.tagName === 'SELECT' || el.isContentEditable);
      // Panel renders inside nested shadow roots: search them for the banner on screen.
      const find = (root, selector) => {
        const hit = root.querySelector(selector);
        if (hit) return hit;
        for (const el of root.querySelectorAll('*')) {
          if (el.shadowRoot) { const inner = find(el.shadowRoot, selector); if (inner) return inner; }
        }
        return null;
      };
      const shown = () => {
        const banner = find(document, '.banner');
        if (!banner) return null;
        const d = banner.dataset;
        return {object: d.object || '', prediction: d.prediction || '', version: d.version || ''};
      };
      const handler = (event) => {
        if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
        if (typing(event.composedPath()[0])) return;
        if (model.keys.includes(event.key)) event.preventDefault();
        model.send_msg({key: event.key, shown: shown()});
      };
      document.addEventListener('keydown', handler);
      model.on('remove', () => document.removeEventListener('keydown', handler));
      const el = document.createElement('span');
      el.className = 'alabel-keys';
      return el;
    }
    """

    def __init__(self, on_key: Callable[[str, dict | None], object], **params):
        super().__init__(**params)
        self._on_key = on_key

    def _handle_msg(self, data) -> None:
        if not isinstance(data, dict):
            return
        key, shown = data.get("key"), data.get("shown")
        if not isinstance(shown, dict):
            shown = None
        else:  # only the fields the server reads, as strings (the message comes from the page)
            shown = {k: str(shown.get(k) or "")[:200] for k in ("object", "prediction", "version")}
        if isinstance(key, str) and key:
            self._on_key(key, shown)
