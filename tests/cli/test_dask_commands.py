"""``alabel label`` / ``query`` / ``train`` headless on a Dask pool, on a running scheduler (training.scheduler)."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from alabel.dashboard.cli import main
from tests.core.session_fixtures import config_dict, write_table

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler():
    """A LocalCluster listening on TCP, as a team's cluster would: the config names its address."""
    from distributed import LocalCluster

    # memory_limit=0: a worker in the test process would measure the whole pytest process (over a
    # GB late in the suite) against its limit, pause, and leave every compute waiting forever.

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None, memory_limit=0) as cluster:
        yield cluster.scheduler_address


@pytest.fixture
def config(tmp_path, scheduler):
    write_table(tmp_path, n=2000)
    frame = pd.read_parquet(tmp_path / "blobs.parquet")
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, 2000, 500)):
        frame.iloc[start:start + 500].to_parquet(tmp_path / "parts" / f"part-{i}.parquet", index=False)
    cfg = config_dict()
    cfg["data"]["sources"] = [{"path": "parts"}]
    cfg["data"]["backend"] = "dask"
    cfg["training"] = {"coalesce_s": 0.0, "scheduler": scheduler}
    path = tmp_path / "dask.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path, frame


def test_label_train_query_on_a_dask_pool(config, tmp_path, capsys):
    path, frame = config
    start = frame.iloc[[0, 1, 2, 600, 601, 602, 1500, 1501, 1502]]
    pd.DataFrame({"obj": start["obj"], "label": start["truth"]}).to_csv(tmp_path / "start.csv", index=False)
    assert main(["-q", "label", str(path), "--from", str(tmp_path / "start.csv")]) == 0
    assert "imported 9 labels" in capsys.readouterr().out
    assert main(["-q", "train", str(path)]) == 0
    assert "model version 1: 9 labels" in capsys.readouterr().out
    out = tmp_path / "next.csv"
    assert main(["-q", "query", str(path), "-n", "4", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 4 and set(table["strategy"]) <= {"margin", "audit", "test"}
    assert not set(table["id"]) & set(start["obj"])  # labelled objects are not asked again
    assert (table["model_version"] == 1).all()


def test_simulate_needs_an_in_memory_pool(config, capsys):
    path, _ = config
    assert main(["-q", "simulate", str(path)]) != 0  # one line saying so, no traceback
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "parts: data.backend dask: this command reads the whole pool" in err
