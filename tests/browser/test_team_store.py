"""Two ``alabel serve`` processes on one PostgreSQL store serve one team (issue 14).

A real PostgreSQL server (the session's throwaway cluster, ``tests/conftest.py``),
two real servers, a browser page on each: leases hold across the servers, and
a label given on one page shows on the other and reaches its model.
"""
from __future__ import annotations

import pandas as pd
import pytest
from alabel.core.labels import LabelStore
from harness import REPO, Server, example_config

pytestmark = pytest.mark.browser

DIGITS = pd.read_parquet(REPO / "example_data" / "digits.parquet", columns=["id", "label"])
TRUTH = dict(zip(DIGITS["id"].astype(str), DIGITS["label"].astype(str)))


def _labels_on_page(tab) -> int:
    return int(tab.attr(".session-progress", "data-labels") or 0)


def test_two_servers_on_one_postgresql_store_serve_one_team(pg_cluster, tmp_path, open_tab):
    url = pg_cluster.url(pg_cluster.new_schema("team"))
    servers = [Server(example_config(tmp_path / name, "digits", **{"labels.store": url}))
               for name in ("north", "south")]
    try:
        for server in servers:
            server.wait_ready()
        ana = open_tab(servers[0].url + "?annotator=ana")
        ben = open_tab(servers[1].url + "?annotator=ben")
        # Leases hold across servers: what one page was given, the other was not.
        with LabelStore.open(url) as store:
            assert store.leased_by_others("ben") & store.leased_by_others("ana") == set()
            held_by_ana = store.leased_by_others("ben")
            held_by_ben = store.leased_by_others("ana")
        assert ana.current() in held_by_ana and ben.current() in held_by_ben
        assert ana.current() != ben.current()
        # A label in one shows in the other (and the other's model trains on it).
        labelled = [ana.click_class(TRUTH[ana.current()]) for _ in range(3)]
        ben.wait(lambda: _labels_on_page(ben) == 3, timeout=30, what="ana's labels on ben's page")
        ben.wait(lambda: ben.attr(".session-progress", "data-version"), timeout=60,
                 what="a model on ben's server trained on ana's labels")
        ben.click_class(TRUTH[ben.current()])
        ana.wait(lambda: _labels_on_page(ana) == 4, timeout=30, what="ben's label on ana's page")
        with LabelStore.open(url) as store:
            current = store.current(split=None, sources=None)
        assert sorted(current["annotator"]) == ["ana", "ana", "ana", "ben"]
        assert set(labelled) <= set(current["object_id"])
        assert ana.errors == [] and ben.errors == []
    finally:
        for server in servers:
            server.stop()
