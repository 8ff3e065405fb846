"""The example notebook, executed by a real Jupyter kernel (nbclient + ipykernel), as a user would."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import yaml

from alabel.core.labels import LabelStore

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "docs" / "notebooks" / "quickstart.ipynb"
#: What Panel sends a notebook for a live app (the page's Bokeh document and its comm).
PANEL_MIME = "application/vnd.holoviews_exec.v0+json"


def _digits_config(folder: Path) -> Path:
    """The digits example, reading the data in place and keeping labels and models in ``folder``."""
    source = REPO / "example_data" / "digits.yaml"
    raw = yaml.safe_load(source.read_text())
    for entry in raw["data"]["sources"]:
        entry["path"] = str((source.parent / entry["path"]).resolve())
    raw["data"]["root"] = str(source.parent.resolve())
    raw["labels"] = {"store": "labels.sqlite", "models": "models"}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _execute(notebook, folder: Path):
    """Run the notebook with a real kernel, as ``jupyter nbconvert --execute`` would: in a process of its own.

    nbclient drives the kernel from an asyncio loop it installs (nest_asyncio) in the process
    that runs it; in the test process that loop would outlive this test and make Playwright's
    sync API refuse to start in later browser tests.
    """
    source, done = folder / "in.ipynb", folder / "out.ipynb"
    nbformat.write(notebook, source)
    script = ("import sys, nbformat; from nbclient import NotebookClient; "
              "nb = nbformat.read(sys.argv[1], as_version=4); "
              "NotebookClient(nb, timeout=900, kernel_name='python3', "
              "resources={'metadata': {'path': sys.argv[3]}}).execute(); "
              "nbformat.write(nb, sys.argv[2])")
    run = subprocess.run([sys.executable, "-c", script, str(source), str(done), str(folder)],
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    return nbformat.read(done, as_version=4)


def test_quickstart_labels_trains_and_shows_the_dashboard_inline(tmp_path):
    config = _digits_config(tmp_path)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    parameters[0].source = f"CONFIG = {str(config)!r}"
    notebook = _execute(notebook, tmp_path)

    code = [c for c in notebook.cells if c.cell_type == "code"]
    text = "".join(o.get("text", "") for c in code for o in c.outputs if o.output_type == "stream")
    assert "20 labels" in text and re.search(r"model v\d+ on 20 labels", text), text
    assert "WARNING" not in text and "rror" not in text, text  # e.g. a Panel extension not loaded
    last = code[-1]
    assert last.source.strip() == "s.dashboard()"
    bundles = [o["data"] for o in last.outputs if o.output_type in ("execute_result", "display_data")]
    assert any(PANEL_MIME in b for b in bundles), [list(b) for b in bundles]
    rendered = next(b for b in bundles if PANEL_MIME in b)
    assert "text/html" in rendered  # the page's HTML, loaded by Panel's notebook extension
    assert json.dumps(rendered[PANEL_MIME])  # the app's id and comm, as plain JSON

    with LabelStore.open(tmp_path / "labels.sqlite") as store:
        labels = store.current()
    digits = pd.read_parquet(REPO / "example_data" / "digits.parquet")
    truth = dict(zip(digits["id"].astype(str), digits["label"].astype(str)))
    assert len(labels) == 20 and set(labels["annotator"]) == {"notebook"}
    assert all(truth[o] == lab for o, lab in zip(labels["object_id"], labels["label"]))
    assert any((tmp_path / "models").iterdir())  # the model was saved, as `alabel train` saves it
