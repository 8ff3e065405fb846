"""A real ``alabel serve`` process on a Dask pool answers the labelling page."""
from __future__ import annotations

import urllib.request

import pytest

from tests.browser.harness import Server
from tests.cli.dask_fixtures import partitioned_session, tcp_cluster

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler():
    with tcp_cluster() as cluster:
        yield cluster.scheduler_address


def test_serve_on_a_dask_pool_answers_the_page(tmp_path, scheduler):
    path, _ = partitioned_session(tmp_path, scheduler, ui={"scatter": {"x": "x", "y": "y"}})
    server = Server(path).wait_ready(timeout=60)
    try:
        with urllib.request.urlopen(server.url, timeout=60) as response:  # builds the tab's page
            status, body = response.status, response.read().decode()
        assert status == 200 and "blobs" in body, body[:500]
        log = server.log()
        assert "Traceback" not in log and "ERROR" not in log, log
    finally:
        server.stop()
