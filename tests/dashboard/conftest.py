"""Fixtures of the dashboard unit tests: a hub on a small session, tab states on it."""
from __future__ import annotations

import pytest
from dash_fixtures import wait_for, write_config

from alabel.dashboard.hub import ServerHub


@pytest.fixture
def make_hub(tmp_path):
    """Open a hub on a fresh small config (``**overrides`` replace config sections)."""
    hubs = []

    def make(n: int = 300, **overrides) -> ServerHub:
        folder = tmp_path / f"session{len(hubs)}"
        folder.mkdir()
        hub = ServerHub(write_config(folder, n=n, **overrides), workers=2)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()


@pytest.fixture
def make_state(make_hub):
    """A tab state whose first query has arrived (worker results applied at once)."""
    from alabel.dashboard.state import TabState

    states = []

    def make(hub=None, **params) -> TabState:
        hub = hub or make_hub()
        state = TabState(hub, **params)
        assert wait_for(lambda: state.current is not None and state.labelled is not None), state.message
        states.append(state)
        return state

    yield make
    for state in states:
        state.close()
