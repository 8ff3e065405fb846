"""Labelling on a Dask pool: the Session over a folder of Parquet partitions, on a LocalCluster.

The contract: a session on Dask serves the picks the in-memory session serves on the same
data and labels (the strategies rank the same probabilities), stores labels in the same
store, and a retrain ranks the pool afresh on the cluster, off the labelling path.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from alabel.core.config import SessionConfig
from alabel.core.data.dask_pool import dask_client
from alabel.core.data.dask_session_pool import DaskSessionPool, WholePoolError, open_dask_pool
from alabel.core.errors import ConfigError, DataError
from alabel.core.session import Session
from tests.core.session_fixtures import config_dict, write_table

pytest.importorskip("distributed")

N_ROWS = 3000


def _configs(folder, **overrides) -> tuple[SessionConfig, SessionConfig]:
    """The blobs data as one file (memory) and as five Parquet partitions (dask), same settings."""
    write_table(folder, n=N_ROWS)
    frame = pd.read_parquet(folder / "blobs.parquet")
    parts = folder / "parts"
    parts.mkdir(exist_ok=True)
    for i, start in enumerate(range(0, N_ROWS, 700)):  # uneven last partition
        frame.iloc[start:start + 700].to_parquet(parts / f"part-{i}.parquet", index=False)
    out = []
    for backend in ("memory", "dask"):
        cfg = config_dict(**overrides)
        cfg["labels"] = {"store": f"{backend}.sqlite", "models": f"models-{backend}"}
        if backend == "dask":
            cfg["data"]["sources"] = [{"path": "parts"}]
            cfg["data"]["backend"] = "dask"
        path = folder / f"{backend}.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        out.append(SessionConfig.load(path))
    return out[0], out[1]


@pytest.fixture(scope="module")
def client():
    """One LocalCluster for the module (threads: starting worker processes costs seconds per test)."""
    with dask_client(None, n_workers=1, memory_limit="1GB", processes=False) as c:
        yield c


@pytest.fixture
def pair(tmp_path, client):
    """An in-memory session and a Dask session on the same rows, neither with a background trainer."""
    memory_cfg, dask_cfg = _configs(tmp_path)
    memory = Session(memory_cfg, background=False)
    dask = Session(dask_cfg, pool=open_dask_pool(dask_cfg, client), background=False)
    yield memory, dask
    memory.close()
    dask.close()


def _picks(session, n=5):
    return [item.object_id for item in session.query(n, lease=False)]


def test_the_pool_holds_ids_not_features(pair):
    memory, dask = pair
    assert isinstance(dask.pool, DaskSessionPool) and dask.pool.n == memory.pool.n == N_ROWS
    assert list(dask.pool.ids) == list(memory.pool.ids)
    assert dask.pool.feature_names == memory.pool.feature_names
    rows = [2999, 0, 1400, 701]
    np.testing.assert_array_equal(dask.pool.X[rows], memory.pool.X[rows])
    assert dask.pool.detail(1400) == memory.pool.detail(1400)  # read from its partition
    with pytest.raises(WholePoolError, match=r"parts: data.backend dask: the whole feature matrix"):
        np.asarray(dask.pool.X)


def test_many_rows_are_selected_on_the_cluster_and_kept(pair, monkeypatch):
    from alabel.core.data import dask_session_pool

    memory, dask = pair
    monkeypatch.setattr(dask_session_pool, "CLUSTER_ROWS", 100)
    rows = np.random.default_rng(0).choice(N_ROWS, 800, replace=False)  # spread over every partition
    X = dask.pool.X[rows]
    np.testing.assert_array_equal(X, memory.pool.X[rows])
    assert dask.pool.X[rows] is X  # a reference curve asks for its evaluation sample again and again


def test_same_picks_as_in_memory_before_and_after_a_model(pair):
    memory, dask = pair
    assert _picks(dask) == _picks(memory)  # cold start: the same random draw over the same candidates
    ids, truth = memory.pool.ids, memory.pool.ground_truth
    for session in pair:
        session.teach_many(ids[:30], list(truth[:30]), source="import")
        session.retrain()
    np.testing.assert_allclose(dask.model.proba, memory.model.proba, atol=1e-5)
    assert _picks(dask, 8) == _picks(memory, 8)


def test_labels_are_stored_and_leave_the_candidates(pair):
    _, dask = pair
    ids, truth = dask.pool.ids, dask.pool.ground_truth
    dask.teach_many(ids[:12], list(truth[:12]))
    dask.retrain()
    first = dask.query(3)
    dask.teach(first[0].object_id, str(truth[dask.pool.index_of(first[0].object_id)[0]]))
    current = dask.store.current(split="train")
    assert first[0].object_id in set(current["object_id"]) and len(current) == 13
    assert first[0].object_id not in _picks(dask, 50)


def test_retrain_ranks_the_pool_afresh(pair):
    _, dask = pair
    ids, truth = dask.pool.ids, dask.pool.ground_truth
    dask.teach_many(ids[:6], list(truth[:6]))
    v1 = dask.retrain()
    before = _picks(dask, 10)
    more = np.random.default_rng(3).choice(np.arange(6, N_ROWS), 60, replace=False)
    dask.teach_many(ids[more], list(truth[more]))
    v2 = dask.retrain()
    assert v2.version > v1.version and not np.allclose(v2.proba, v1.proba)
    assert _picks(dask, 10) != before


def test_background_retrain_then_next_query_from_the_new_model(tmp_path, client):
    _, cfg = _configs(tmp_path)
    with Session(cfg, pool=open_dask_pool(cfg, client)) as session:
        ids, truth = session.pool.ids, session.pool.ground_truth
        session.teach_many(ids[:20], list(truth[:20]))
        model = session.wait_for_revision(session.labels_revision, timeout=30)
        item = session.query(1)[0]
        assert item.prediction is not None and item.model_version == model.version
        assert session.prediction(int(session.pool.index_of(item.object_id)[0])).model_version == model.version


def test_combinations_that_cannot_work_are_one_line(tmp_path, client):
    _, cfg = _configs(tmp_path, training={"backend": "process"})
    with pytest.raises(ConfigError, match=r"dask.yaml: training.backend: 'process' does not combine"):
        open_dask_pool(cfg, client)
    _, cfg = _configs(tmp_path, head={"type": "committee"}, strategy={"type": "vote_entropy"})
    with pytest.raises(ConfigError, match=r"dask.yaml: strategy.type: 'vote_entropy' does not combine"):
        open_dask_pool(cfg, client)
    _, cfg = _configs(tmp_path, strategy={"type": "density_weighted"})
    with Session(cfg, pool=open_dask_pool(cfg, client), background=False) as session:
        session.teach_many(session.pool.ids[:9], list(session.pool.ground_truth[:9]))
        session.retrain()
        with pytest.raises(WholePoolError, match=r"parts: data.backend dask: the whole feature matrix"):
            session.query(3)


def test_integer_ids_stay_integers_and_look_up_as_text(pair):
    from alabel.core.data.integer_ids import IntegerIds
    from alabel.core.labels.identity import fingerprint_ids

    memory, dask = pair
    assert isinstance(dask.pool.ids, IntegerIds) and dask.pool.ids.values.dtype == np.int64
    assert dask.pool.ids[5] == memory.pool.ids[5] == "1005"
    assert list(dask.pool.ids[[2999, 0]]) == list(memory.pool.ids[[2999, 0]])
    # Looked up by their text, as the label store names them: '01005' or ' 1005' is no id.
    asked = ["1005", 3999, "01005", " 1005", "x", "4000"]
    assert list(dask.pool.rows_of(asked)) == list(memory.pool.rows_of(asked)) == [5, 2999, -1, -1, -1, -1]
    # The store's identity is the same whichever backend reads the data.
    assert fingerprint_ids(dask.pool.ids) == fingerprint_ids(memory.pool.ids)


def test_unordered_and_duplicated_integer_ids(tmp_path):
    from alabel.core.data.dask_pool import DaskPool

    _, cfg = _configs(tmp_path)
    parts = tmp_path / "parts"
    first = pd.read_parquet(parts / "part-0.parquet")
    first["obj"] = first["obj"].to_numpy()[::-1]  # a partition in descending id order
    first.to_parquet(parts / "part-0.parquet", index=False)
    pool = DaskSessionPool(DaskPool(cfg.data))
    assert list(pool.index_of(["1000", "1699", "1700"])) == [699, 0, 700]
    first.iloc[:2].assign(obj=[2999, 2998]).to_parquet(parts / "part-9.parquet", index=False)
    with pytest.raises(DataError, match=r"data.id_column: id '299[89]' appears more than once in column 'obj'"):
        DaskSessionPool(DaskPool(cfg.data))


def test_a_session_keeps_a_few_bytes_a_row_not_a_string_per_id(tmp_path, client):
    """The server's memory on a Dask pool: one int64 per id, one pointer per ground truth, one index.

    Before: a Python str per id (~60 B) and the session's and planner's own index copies of them.
    """
    import tracemalloc

    n = 200_000
    write_table(tmp_path, n=n)
    frame = pd.read_parquet(tmp_path / "blobs.parquet")
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, n, 50_000)):
        frame.iloc[start:start + 50_000].to_parquet(tmp_path / "parts" / f"part-{i}.parquet", index=False)
    cfg = config_dict(labels={"store": "dask.sqlite", "models": "models"})
    cfg["data"]["sources"] = [{"path": "parts"}]
    cfg["data"]["backend"] = "dask"
    (tmp_path / "dask.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    config = SessionConfig.load(tmp_path / "dask.yaml")
    tracemalloc.start()
    try:
        session = Session(config, pool=open_dask_pool(config, client), background=False)
        session.teach_many(session.pool.ids[:6], list(session.pool.ground_truth[:6]))
        assert len(session.labels()) == 6 and len(session.query(3, lease=False)) == 3
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    session.close()
    assert kept / n < 40, f"{kept / n:.0f} bytes a row"
