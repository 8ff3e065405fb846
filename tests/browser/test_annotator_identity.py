"""Who labels, in a real browser (issue 13, finding 3; issue 11, finding 2's ``?annotator=``).

* without sign-in, the browser keeps its annotator name: after a reload the
  page labels as the same person and Backspace undoes the label made before;
* with sign-in, the annotator is the signed-in user; ``?annotator=`` is
  ignored and the page says so.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
from harness import Server, Tab, example_config

from alabel.core.labels import LabelStore

pytestmark = pytest.mark.browser


def labels_of(config, annotator: str):
    with LabelStore.open(config.parent / "labels.sqlite") as store:
        labels = store.current(split=None, sources=None)
    return labels[labels["annotator"] == annotator].reset_index(drop=True)


def annotator_shown(tab: Tab) -> str:
    return tab.page.locator(".header-annotator input").first.input_value(timeout=10_000)


def test_annotator_and_undo_survive_a_reload(shared_server, open_tab):
    tab = open_tab(shared_server.url)
    name = annotator_shown(tab)
    assert name.startswith("tab-")
    labelled = tab.click_class("3")
    tab.page.reload()
    tab.wait_ready("the first query after the reload")
    assert annotator_shown(tab) == name
    assert list(labels_of(shared_server.config, name)["object_id"]) == [labelled]
    tab.page.keyboard.press("Backspace")
    tab.wait(lambda: tab.current() == labelled, what="the label made before the reload to be undone")
    assert labels_of(shared_server.config, name).empty
    # a name typed by hand is kept too
    field = tab.page.locator(".header-annotator input").first
    field.fill("Kim")
    field.press("Enter")
    tab.wait(lambda: "alabel_annotator=Kim" in tab.page.evaluate("document.cookie"), what="the name remembered")
    tab.page.reload()
    tab.wait_ready("the first query after the second reload")
    assert annotator_shown(tab) == "Kim"


def test_signed_in_user_is_the_annotator(tmp_path, browser):
    users = tmp_path / "users.txt"
    subprocess.run([sys.executable, "-m", "alabel.dashboard.cli", "passwd", str(users), "ana"],
                   input="correct horse battery\n", text=True, check=True, capture_output=True)
    config = example_config(tmp_path, "digits")
    server = Server(config, extra_args=("--address", "0.0.0.0", "--password-file", str(users))).wait_ready()
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(server.url, timeout=60_000)
        page.fill("input[name=username]", "ana")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(server.url, timeout=30_000)
        tab = Tab(page, server.url + "?annotator=mallory")
        shown = page.locator(".header-annotator.annotator-locked").first
        assert shown.get_attribute("data-annotator") == "ana"
        assert page.locator(".header-annotator input").count() == 0  # nothing to type another name into
        # Polled: an HTML pane's text is hidden (so empty to innerText) until its stylesheets load.
        tab.wait(lambda: "?annotator= ignored" in page.locator(".status-line").first.inner_text(),
                 what="the note that ?annotator= was ignored")
        labelled = tab.click_class("7")
        assert list(labels_of(config, "ana")["object_id"]) == [labelled]
        assert labels_of(config, "mallory").empty
        assert tab.errors == []
    finally:
        context.close()
        server.stop()
