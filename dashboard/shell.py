"""The app shell around a tab's page: a Panel template with a header and a sidebar.

``alabel serve`` shows each tab's :class:`~alabel.dashboard.app.DashboardPage`
inside a :class:`panel.template.FastListTemplate`:

* the **header** names the session and shows its progress (labels so far,
  the model version in use) beside the annotator and the layout picker;
* the **sidebar** holds the layout's ``sidebar:`` components (model, queries,
  session), so the model's status stays on screen while labelling;
* the **main** area holds the layout's ``main:`` components; a layout's
  ``row`` wraps (a flex box), so narrow screens stack the row's parts.

The page itself (without the shell) is still a plain viewable, for notebooks
and tests. Light and dark come from the template's theme toggle
(``?theme=dark``); the page's own CSS uses Panel's theme variables.
"""
from __future__ import annotations

import panel as pn
from panel.theme import fast as _fast


class Fast(_fast.Fast):
    """Panel's Fast design without its web font: the font comes from Google's servers, which an
    offline or firewalled server cannot reach (the browser logged a failed request on every load).

    Named ``Fast`` like its parent: Panel finds a design's bundled files under its class name.
    """

    _resources = {kind: value for kind, value in _fast.Fast._resources.items() if kind != "font"}


#: Sidebar width in pixels: the model, query and session panels fit without a sideways scroll.
SIDEBAR_WIDTH = 320
#: Below this width (phones, narrow windows) the sidebar goes above the main area.
NARROW_PX = 760

#: Document-level CSS (the template's own elements are outside Panel's shadow roots).
SHELL_CSS = f"""
#header {{ padding: 4px 10px; min-height: 0; }}
#header .title, a.title {{ font-size: 1.25em; line-height: 1.4em; }}
#main {{ padding: 4px 8px; }}
#sidebar {{ padding: 6px 6px 6px 4px; }}
@media screen and (max-width: {NARROW_PX}px) {{
  /* stack: the sidebar above the main area, one scrolling page, nothing wider than the screen */
  #header {{ height: auto; flex-wrap: wrap; }}
  #content {{ flex-direction: column; height: auto; overflow: visible; overflow-x: clip; }}
  #sidebar, #sidebar .sidenav {{ width: 100% !important; max-width: 100% !important; height: auto;
                                 overflow: visible; box-sizing: border-box; }}
  #sidebar {{ order: 2; }}
  #main {{ height: auto; overflow: visible; max-width: 100vw; order: 1; }}
}}
"""


def app_shell(page, *, theme: str | None = None) -> pn.template.FastListTemplate:
    """Wrap a tab's page in the template (one per browser session).

    Parameters
    ----------
    page : DashboardPage
        The tab's page; its parts move into the template's header, sidebar and main.
    theme : {"default", "dark"}, optional
        Default: the ``?theme=`` of the URL (the template's toggle sets it).
    """
    template = pn.template.FastListTemplate(
        title=page.title_text, sidebar_width=SIDEBAR_WIDTH, theme_toggle=True, main_layout=None,
        header_background="#1f4e79", accent_base_color="#1f4e79", design=Fast,
        **({"theme": theme} if theme else {}))
    template.config.raw_css.append(SHELL_CSS)
    template.header.append(page.header_bar())
    page.sidebar.param.update(width=None, sizing_mode="stretch_width")  # the template sets the width
    template.sidebar.append(page.sidebar)
    for part in page.main_parts():
        template.main.append(part)
    return template


__all__ = ["app_shell", "SIDEBAR_WIDTH", "NARROW_PX"]
