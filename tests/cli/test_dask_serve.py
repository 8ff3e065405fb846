"""A real ``alabel serve`` process on a Dask pool answers the labelling page."""
from __future__ import annotations

import urllib.request

import pandas as pd
import pytest
import yaml

from tests.browser.harness import Server
from tests.core.session_fixtures import config_dict, write_table

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    # memory_limit=0: a worker in the test process would measure the whole pytest process (over a
    # GB late in the suite) against its limit, pause, and leave every compute waiting forever.

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None, memory_limit=0) as cluster:
        yield cluster.scheduler_address


def test_serve_on_a_dask_pool_answers_the_page(tmp_path, scheduler):
    write_table(tmp_path, n=2000)
    frame = pd.read_parquet(tmp_path / "blobs.parquet")
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, 2000, 500)):
        frame.iloc[start:start + 500].to_parquet(tmp_path / "parts" / f"part-{i}.parquet", index=False)
    cfg = config_dict(ui={"scatter": {"x": "x", "y": "y"}})
    cfg["data"]["sources"] = [{"path": "parts"}]
    cfg["data"]["backend"] = "dask"
    cfg["training"] = {"coalesce_s": 0.0, "scheduler": scheduler}
    path = tmp_path / "dask.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    server = Server(path).wait_ready(timeout=60)
    try:
        with urllib.request.urlopen(server.url, timeout=60) as response:  # builds the tab's page
            status, body = response.status, response.read().decode()
        assert status == 200 and "blobs" in body, body[:500]
        log = server.log()
        assert "Traceback" not in log and "ERROR" not in log, log
    finally:
        server.stop()
