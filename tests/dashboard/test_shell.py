"""The app shell: a template with the session's progress in the header, the layout's sidebar and main."""
from __future__ import annotations

import numpy as np
import panel as pn
from dash_fixtures import wait_for

from alabel.dashboard.app import create_page
from alabel.dashboard.shell import app_shell


def test_shell_has_progress_header_sidebar_and_main(make_hub):
    hub = make_hub()
    page = create_page(hub)
    try:
        shell = app_shell(page)
        assert isinstance(shell, pn.template.FastListTemplate) and shell.title == "alabel · blobs"
        assert page.sidebar in list(shell.sidebar) and page.main in list(shell.main)
        assert page.keys in list(shell.main)  # the key capture comes along
        assert all(not r.get("font") for r in [shell._design._resources])  # no web font fetched from Google
        assert "data-labels='0'" in page.progress.object and "no model yet" in page.progress.object
        truth = np.asarray(hub.session.pool.ground_truth).astype(str)
        items = hub.session.query(10, lease=False)
        hub.session.teach_many([i.object_id for i in items], [truth[i.row] for i in items])
        assert wait_for(lambda: "data-labels='10'" in page.progress.object
                        and "model v" in page.progress.object, timeout=60), page.progress.object
    finally:
        page.dispose()
        page.state.close()
