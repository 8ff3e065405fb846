"""alabel: an active-learning labelling dashboard and its engine.

From a notebook or a script::

    import alabel
    s = alabel.open("config.yaml")   # the engine session: teach, query, train from code
    s.dashboard()                    # the labelling app, inline in JupyterLab / Notebook

This file is the top-level ``alabel`` package. It lives in ``dashboard/``
(pyproject maps the package ``alabel`` to ``dashboard/_alabel``) because the
repository's top level is the design card's (``core/``, ``dashboard/``,
``layouts/`` ...), and ``open`` hands back a session that can show the
dashboard, which ``core/`` must never import. Importing ``alabel`` is cheap:
the engine and Panel load on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"


def open(config, **kwargs):  # noqa: A001  (``alabel.open`` reads like ``open`` on purpose)
    """Open the labelling session of ``config`` (a config.yaml path).

    Returns a :class:`~alabel.dashboard.notebook.NotebookSession`: the engine's
    :class:`~alabel.core.session.Session` (``teach``, ``query``, ``train``,
    ``labels``...) plus ``dashboard()``. Keyword arguments go to the session
    (``annotator=``, ``background=``...).
    """
    from alabel.dashboard.notebook import open_session

    return open_session(config, **kwargs)


__all__ = ["__version__", "open"]
