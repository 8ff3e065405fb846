"""``alabel serve DATA.parquet``: from a Parquet file to the first label, in the browser, no editor."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import yaml
from harness import Server

from alabel.core.config import SessionConfig
from alabel.core.labels import LabelStore

pytestmark = pytest.mark.browser


def _table(folder):
    rng = np.random.default_rng(0)
    n = 300
    label = np.array(["alpha", "beta", "gamma"])[np.arange(n) % 3]
    centre = {"alpha": 0.0, "beta": 3.0, "gamma": 6.0}
    frame = pd.DataFrame({
        "id": np.arange(n),
        "name": [f"OBJ-{i:04d}" for i in range(n)],
        "x": np.array([centre[c] for c in label]) + rng.normal(size=n),
        "y": rng.normal(size=n),
        "colour": rng.choice(["red", "blue"], n),
        "label": label,
    })
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "my_table.parquet"
    frame.to_parquet(path, index=False)
    return path


def _wait(predicate, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_from_a_parquet_file_to_the_first_label(tmp_path, browser):
    data = _table(tmp_path / "project")
    server = Server(data).wait_ready()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url, timeout=60_000)
        page.locator(".alabel-setup").wait_for(timeout=60_000)
        # The proposal, with a preview of every column. Panel keeps an HTML pane hidden until its
        # stylesheets load, and hidden text is no text to innerText: wait until a person could read it.
        table = page.locator(".setup-preview table")
        _wait(lambda: "OBJ-0000" in table.inner_text(), "the preview table to show")
        preview = table.inner_text()
        for column in ("id", "name", "x", "y", "colour", "label"):
            assert column in preview
        assert "OBJ-0000" in preview and "a short name that (almost) every row has its own of" in preview
        # A misspelt class: the error is beside the classes, naming the config and the key.
        name = page.locator(".setup-class-name-0 input")
        assert name.input_value() == "alpha"
        name.fill("Alpha")
        name.press("Enter")
        error = page.locator(".setup-error-classes .setup-error-text")
        error.wait_for()
        text = error.inner_text()
        assert "config.yaml: classes: ground-truth column 'label' has values no class lists: 'alpha'" in text
        assert "did you mean 'Alpha'?" in text
        assert page.locator(".setup-save button").is_disabled()
        name.fill("alpha")
        name.press("Enter")
        _wait(lambda: page.locator(".setup-error-classes .setup-error-text").count() == 0, "the error to clear")
        # Save: config.yaml next to the data, and the labelling dashboard in the same tab.
        page.locator(".setup-save button").click()
        page.locator(".banner").wait_for(timeout=60_000)
        _wait(lambda: (page.locator(".banner").first.get_attribute("data-object") or "") != "", "the first query")
        config_path = data.parent / "config.yaml"
        config = SessionConfig.load(config_path)
        assert config.data.features.numeric == ("x", "y") and config.data.features.categorical == ("colour",)
        assert config.data.hidden == ("name",) and config.class_names == ["alpha", "beta", "gamma"]
        assert "# name: a short name that (almost) every row has its own of" in config_path.read_text()
        # The first label, by clicking a class.
        first = page.locator(".banner").first.get_attribute("data-object")
        page.locator(".class-beta button").click()
        store_path = config.store_path
        _wait(lambda: store_path.exists() and len(LabelStore.open(store_path).current(split=None, sources=None)),
              "the first label in the store")
        labels = LabelStore.open(store_path).current(split=None, sources=None)
        assert list(labels["object_id"]) == [first] and list(labels["label"]) == ["beta"]
        assert yaml.safe_load(config_path.read_text())["data"]["sources"] == [{"path": "my_table.parquet"}]
        assert errors == []
    finally:
        context.close()
        server.stop()
