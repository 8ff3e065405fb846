"""``alabel label`` / ``query`` / ``train`` headless on a Dask pool, on a running scheduler (training.scheduler)."""
from __future__ import annotations

import pandas as pd
import pytest

from alabel.dashboard.cli import main
from tests.cli.dask_fixtures import partitioned_session, tcp_cluster

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler():
    with tcp_cluster() as cluster:
        yield cluster.scheduler_address


@pytest.fixture
def config(tmp_path, scheduler):
    return partitioned_session(tmp_path, scheduler)


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
