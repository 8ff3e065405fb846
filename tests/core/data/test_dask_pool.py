"""Pools on Dask: a folder of Parquet partitions read lazily, scored and ranked per partition."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import yaml

from alabel.core.config import SessionConfig
from alabel.core.data.dask_pool import DaskPool, _partition_proba, _read_partition, dask_client
from alabel.core.errors import ConfigError, DataError
from alabel.core.session import Session
from alabel.core.strategies import scores
from alabel.dashboard.cli import main
from tests.core.session_fixtures import config_dict, write_config

pytest.importorskip("distributed")


def _dask_config(folder, name: str = "dask.yaml", **training) -> SessionConfig:
    """The blobs config with the pool as a folder of three Parquet partitions on the Dask backend."""
    frame = pd.read_parquet(folder / "blobs.parquet")
    parts = folder / "parts"
    parts.mkdir(exist_ok=True)
    for i, (a, b) in enumerate([(0, 100), (100, 180), (180, len(frame))]):
        frame.iloc[a:b].to_parquet(parts / f"part-{i}.parquet", index=False)
    cfg = config_dict()
    cfg["data"]["sources"] = [{"path": "parts"}]
    cfg["data"]["backend"] = "dask"
    cfg["training"] = {"coalesce_s": 0.0, "dask_workers": 1, **training}
    path = folder / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return SessionConfig.load(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An in-memory blobs session with a saved model, and the same rows as a Dask pool."""
    folder = tmp_path_factory.mktemp("dask")
    config = write_config(folder, n=300)
    with Session.from_config(config, background=False, persist_models=True) as session:
        ids, truth = session.pool.ids, session.pool.ground_truth
        session.teach_many(ids[:40], list(truth[:40]), source="import")
        model = session.retrain()
        pool = session.pool
    return folder, pool, model, _dask_config(folder)


def test_partitions_keep_global_rows_and_the_pools_encoding(trained):
    folder, pool, model, config = trained
    dpool = DaskPool(config.data)
    assert dpool.n == pool.n == 300 and list(dpool.offsets) == [0, 100, 180, 300]
    assert dpool.feature_names == pool.feature_names  # categories found in one pass, sorted alike
    rows = [299, 0, 150, 101, 7]
    X, ids = dpool.rows(rows)
    np.testing.assert_array_equal(X, pool.X[rows])
    assert list(ids) == list(pool.ids[rows])
    assert list(dpool.column(rows, "truth")) == list(pool.ground_truth[rows])


def test_scores_and_top_k_equal_the_in_memory_pool(trained):
    folder, pool, model, config = trained
    dpool = DaskPool(config.data)
    np.testing.assert_allclose(dpool.predict_proba(model.head), model.proba, atol=1e-6)
    exclude = np.arange(40)  # the labelled rows
    rows, values = dpool.top_k(model.head, scores.margin, 12, exclude=exclude)
    expected = scores.margin(model.proba)
    expected[exclude] = -np.inf
    order = np.lexsort((np.arange(pool.n), -expected))[:12]
    assert list(rows) == list(order)
    np.testing.assert_allclose(values, expected[order], atol=1e-6)
    # k larger than what is left: every unlabelled row, best first.
    rows, _ = dpool.top_k(model.head, scores.margin, 1000, exclude=exclude)
    assert len(rows) == 260 and not set(rows) & set(exclude)


def test_top_k_on_a_distributed_local_cluster(trained):
    folder, pool, model, config = trained
    with dask_client(None, n_workers=1, memory_limit="1GB", processes=False) as client:
        dpool = DaskPool(config.data, client)
        rows, _ = dpool.top_k(model.head, scores.entropy, 5)
    assert list(rows) == list(np.lexsort((np.arange(pool.n), -scores.entropy(model.proba)))[:5])


def _held_while_scoring(frame, head, encoding, classes):
    """``_partition_proba`` that first notes how many results its worker holds (and gives the client time)."""
    from distributed import get_worker

    time.sleep(0.3)
    HELD.append(len(get_worker().data))
    return _partition_proba(frame, head, encoding, classes)


HELD: list[int] = []


def _eight_partitions(folder, tmp_path):
    """The trained pool's 300 rows as eight partitions of 37 or 38 rows; its data config."""
    (tmp_path / "blobs.parquet").write_bytes((folder / "blobs.parquet").read_bytes())
    cfg = _dask_config(tmp_path).data
    frame = pd.read_parquet(folder / "blobs.parquet")
    for old in (tmp_path / "parts").iterdir():
        old.unlink()
    for i in range(8):  # one after another on one worker thread
        frame.iloc[i * 300 // 8:(i + 1) * 300 // 8].to_parquet(tmp_path / "parts" / f"part-{i}.parquet", index=False)
    return cfg


def test_whole_pool_scores_leave_the_workers_as_each_partition_finishes(trained, tmp_path, monkeypatch):
    """At 50M rows the scores held on the workers until the end passed a 1 GB worker's limit."""
    from alabel.core.data import dask_pool

    folder, pool, model, _ = trained
    cfg = _eight_partitions(folder, tmp_path)
    monkeypatch.setattr(dask_pool, "_partition_proba", _held_while_scoring)
    HELD.clear()
    with dask_client(None, n_workers=1, memory_limit="1GB", processes=False) as client:
        proba = DaskPool(cfg, client).predict_proba(model.head)
    np.testing.assert_allclose(proba, model.proba, atol=1e-6)  # each partition in its rows
    assert len(HELD) == 8 and max(HELD) <= 2, HELD  # not 7 results kept for the last partition


def _held_while_reading(args, columns):
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # the client reads the first file's schema (the frame's meta): not a task
        return _read_partition(args, columns)
    time.sleep(0.3)
    HELD.append(len(worker.data))
    return _read_partition(args, columns)


def test_a_column_of_every_row_leaves_the_workers_as_each_partition_finishes(trained, tmp_path, monkeypatch):
    """The scatter's axes at 50M rows: a worker restarted again and again (as the scores above)."""
    from alabel.core.data import dask_pool
    from alabel.core.data.dask_session_pool import DaskSessionPool

    folder, pool, _, _ = trained
    cfg = _eight_partitions(folder, tmp_path)
    with dask_client(None, n_workers=1, memory_limit="1GB", processes=False) as client:
        session_pool = DaskSessionPool(DaskPool(cfg, client))
        monkeypatch.setattr(dask_pool, "_read_partition", _held_while_reading)
        HELD.clear()
        x = session_pool.frame["x"]
    np.testing.assert_array_equal(x.to_numpy(), pd.read_parquet(folder / "blobs.parquet")["x"].to_numpy())
    assert len(HELD) == 8 and max(HELD) <= 2, HELD


def test_alabel_score_on_dask_writes_one_file_per_partition(trained, tmp_path, capsys):
    folder, pool, model, config = trained
    out = tmp_path / "scores"
    assert main(["-q", "score", str(config.source), "--out", str(out)]) == 0
    assert "scored 300 objects of 3 partition(s) on Dask with model version 1" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    table = pd.concat([pd.read_parquet(out / f"part-{i}.parquet") for i in range(3)], ignore_index=True)
    assert list(table["id"]) == list(pool.ids)
    np.testing.assert_allclose(table[["proba_a", "proba_b", "proba_c"]].to_numpy(), model.proba, atol=1e-6)


def test_config_errors_are_one_line(trained, tmp_path):
    folder, *_ = trained
    cfg = config_dict()
    cfg["data"]["backend"] = "dusk"
    path = folder / "typo.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"typo.yaml: data.backend: .*did you mean 'dask'"):
        SessionConfig.load(path)
    bad = config_dict()
    bad["data"]["sources"] = [{"path": "parts"}]
    bad["data"]["backend"] = "dask"
    bad["data"]["features"]["numeric"] = ["x", "yy"]
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(DataError, match=r"part-0.parquet: data.features.numeric: column 'yy' not found \(did you "
                                        r"mean 'y'\?\)"):
        DaskPool(SessionConfig.load(path).data)


def test_unreachable_scheduler_is_one_line(trained, capsys):
    folder, *_ = trained
    config = _dask_config(folder, "unreachable.yaml", scheduler="tcp://127.0.0.1:9")
    assert main(["-q", "score", str(config.source), "--out", str(folder / "never")]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "training.scheduler: cannot reach the Dask scheduler" in err


def test_datashader_draws_the_lazy_frame(trained):
    """The scatter's renderer takes the Dask frame as it is (no pool in memory)."""
    ds = pytest.importorskip("datashader")
    folder, pool, model, config = trained
    frame = DaskPool(config.data).frame(["x", "y"])
    counts = ds.Canvas(plot_width=20, plot_height=20).points(frame, "x", "y").values
    assert int(counts.sum()) == pool.n


def test_score_new_files_on_the_cluster(trained, tmp_path, capsys):
    folder, pool, model, config = trained
    new = tmp_path / "new"
    new.mkdir()
    pd.read_parquet(folder / "blobs.parquet").iloc[:50].to_csv(new / "first.csv", index=False)
    out = tmp_path / "scored"
    assert main(["-q", "score", str(config.source), "--data", str(new), "--out", str(out), "--model", "1"]) == 0
    table = pd.read_parquet(out / "first.parquet")
    np.testing.assert_allclose(table[["proba_a", "proba_b", "proba_c"]].to_numpy(), model.proba[:50], atol=1e-6)


def test_an_in_process_worker_is_not_paused_by_the_host_process_memory():
    """In-process workers would measure the whole host process against their memory limit: a
    host past it (the test process late in the suite) paused the worker, and computes hung."""
    import dask
    from distributed import wait

    from alabel.core.data.dask_pool import dask_client

    ballast = np.ones(300_000_000 // 8)  # the host process is well past the limit below
    with dask_client(None, n_workers=1, memory_limit="100MB", processes=False) as client:
        time.sleep(1.0)  # the memory monitor looks every 0.1 s: it would have paused the worker by now
        future = client.compute(dask.delayed(sum)([1, 2, 3]))
        done, _ = wait([future], timeout=30)
        assert done and future.result() == 6
    del ballast
