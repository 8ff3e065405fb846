"""Fixtures of the browser tests: one chromium per run, one ``alabel serve`` per test."""
from __future__ import annotations

import pytest
from harness import CHROMIUM, Server, Tab, example_config, launch_browser


@pytest.fixture(scope="session")
def browser():
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def serve(tmp_path):
    """Start ``alabel serve`` on an example config copied to tmp_path; stopped after the test."""
    servers = []

    def start(example: str = "digits", folder: str = "a", config=None, **changes) -> Server:
        path = config or example_config(tmp_path / folder, example, **changes)
        server = Server(path)
        servers.append(server)
        return server.wait_ready()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One digits server for the tests of a module that only need the default config.

    Those tests label as their own annotator and assert on that annotator's
    labels, so they do not depend on each other.
    """
    server = Server(example_config(tmp_path_factory.mktemp("shared"), "digits")).wait_ready()
    yield server
    server.stop()


@pytest.fixture
def open_tab(browser):
    """Open a dashboard page in a fresh browser context (its own cookies: its own tab state)."""
    contexts = []

    def open_(url: str, *, width: int = 1500, height: int = 1100) -> Tab:
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return Tab(page, url)

    yield open_
    for context in contexts:
        context.close()
