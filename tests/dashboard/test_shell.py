"""The app shell: a template with the session's progress in the header, the layout's sidebar and main."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import panel as pn
import pytest
import yaml
from dash_fixtures import wait_for

from alabel.dashboard.app import create_page
from alabel.dashboard.shell import app_shell

REPO = Path(__file__).resolve().parents[2]


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


@pytest.mark.parametrize("example", ["config.yaml"])  # the session the README starts
def test_shipped_pages_pass_bokehs_validation(example, tmp_path):
    """Bokeh validates every document it serves; a warning there is printed at each page load
    (W-1005: a "fixed" scatter card without a height) and hides real ones."""
    from bokeh.core.validation import check_integrity
    from bokeh.document import Document

    from alabel.dashboard.hub import ServerHub

    source = REPO / example
    raw = yaml.safe_load(source.read_text())
    for entry in raw["data"]["sources"]:
        entry["path"] = str((source.parent / entry["path"]).resolve())
    raw["data"]["root"] = str((source.parent / (raw["data"].get("root") or ".")).resolve())
    raw["labels"] = {"store": str(tmp_path / "labels.sqlite"), "models": str(tmp_path / "models")}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    hub = ServerHub(config)
    try:
        page = create_page(hub)
        doc = Document()
        app_shell(page).server_doc(doc)
        issues = check_integrity(doc.models)
        assert [str(i) for i in issues.error + issues.warning] == []
        page.dispose()
        page.state.close()
    finally:
        hub.close()
