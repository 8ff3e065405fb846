"""Who a tab labels as, on the page: the annotator field, or the signed-in user.

Without authentication a browser keeps its annotator name in a cookie
(:class:`AnnotatorMemory`), so a reload (or a second tab) labels as the same
person and Backspace still undoes the labels made before the reload. With
authentication the name is the signed-in user and the page shows it as text:
there is no widget a crafted websocket message could use to change it.
"""
from __future__ import annotations

import html

import panel as pn
import param

from ..access import ANNOTATOR_COOKIE


class AnnotatorMemory(pn.custom.JSComponent):
    """Writes the tab's annotator name into a cookie that the next page load reads."""

    annotator = param.String(default="", doc="The name to remember in this browser.")

    _esm = f"""
    export function render({{ model }}) {{
      const remember = () => {{
        if (!model.annotator) return;
        document.cookie = `{ANNOTATOR_COOKIE}=${{encodeURIComponent(model.annotator)}}; path=/; ` +
                          `max-age=31536000; SameSite=Strict`;
      }};
      remember();
      model.on('annotator', remember);
      const el = document.createElement('span');
      el.className = 'alabel-annotator-memory';
      return el;
    }}
    """


def annotator_field(state, *, label: str = "", width: int = 150, css_class: str = "header-annotator"):
    """A text field bound to ``state.annotator``, or the signed-in user's name as text when locked."""
    if state.annotator_locked:
        name = html.escape(state.annotator)
        return pn.pane.HTML(f"<span class='{css_class} annotator-locked' data-annotator='{name}'>"
                            f"{html.escape(label) + ' ' if label else ''}<b>{name}</b> "
                            "<small>(signed in · <a href='logout'>sign out</a>)</small></span>")
    return pn.widgets.TextInput.from_param(state.param.annotator, label=label, width=width,
                                           css_classes=[css_class])
