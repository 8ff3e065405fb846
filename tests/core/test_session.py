"""The session: teach never waits for training, queries come from the newest finished model."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from session_fixtures import FAIL, FIT_STARTED, GATE, write_config

from alabel.core.config import SessionConfig
from alabel.core.errors import EmptyPoolError, LabelStoreError
from waiting import wait_for

from alabel.core.session import EvaluationSet, Session


@pytest.fixture(autouse=True)
def _reset_gates():
    GATE.set()
    FIT_STARTED.clear()
    FAIL.clear()
    yield
    GATE.set()


def _session(tmp_path, n=300, **overrides) -> Session:
    return Session(SessionConfig.load(write_config(tmp_path, n=n, **overrides)))


def _truth(session, ids):
    rows = session.pool.index_of(ids)
    return session.pool.ground_truth[rows]


def _teach_first(session, k=6):
    ids = session.pool.ids[:k]
    session.teach_many(ids, _truth(session, ids))
    return ids


def test_teach_returns_while_retrain_runs_and_query_uses_last_model(tmp_path):
    with _session(tmp_path, head={"type": "session_fixtures.GatedHead"}) as session:
        _teach_first(session)
        first = session.wait_for_model(timeout=30)
        assert first is not None and first.version == 1

        GATE.clear()
        FIT_STARTED.clear()
        item = session.query(1)[0]
        session.teach(item.object_id, _truth(session, [item.object_id])[0])
        assert FIT_STARTED.wait(10), "a retrain started in the background"
        # The retrain is held open: labelling and querying go on with model 1.
        nxt = session.query(1)[0]
        assert nxt.model_version == 1
        assert session.model.version == 1
        event = session.teach(nxt.object_id, _truth(session, [nxt.object_id])[0])
        assert event.object_id == nxt.object_id
        assert session.store.n_labels() == 8
        GATE.set()
        newest = session.wait_for_model(timeout=30)
        assert newest.version > 1
        assert newest.n_labels == 8, "the labels given during the retrain were coalesced into the next one"
        assert session.query(1)[0].model_version == newest.version


def test_burst_of_labels_coalesces_into_one_more_retrain(tmp_path):
    with _session(tmp_path, head={"type": "session_fixtures.GatedHead"}) as session:
        _teach_first(session)
        session.wait_for_model(timeout=30)
        GATE.clear()
        FIT_STARTED.clear()
        ids = session.pool.ids[10:11]
        session.teach(ids[0], _truth(session, ids)[0])
        assert FIT_STARTED.wait(10)
        burst = session.pool.ids[20:40]
        for object_id, label in zip(burst, _truth(session, burst)):
            session.teach(object_id, label)
        GATE.set()
        final = session.wait_for_model(timeout=30)
        # v1 (start), v2 (held open, 7 labels), then exactly one retrain for the 20-label burst;
        # v2 was superseded by the burst, so only v1 and v3 were evaluated into the history.
        assert final.version == 3
        assert [h["version"] for h in session.history] == [1, 3]
        assert final.n_labels == 27


def test_failed_retrain_keeps_last_model_and_reports(tmp_path):
    with _session(tmp_path, head={"type": "session_fixtures.GatedHead"}) as session:
        _teach_first(session)
        good = session.wait_for_model(timeout=30)
        FAIL.set()
        session.teach(session.pool.ids[50], _truth(session, session.pool.ids[50:51])[0])
        session.wait_for_model(timeout=30)
        assert session.model is good
        assert session.status.state == "failed"
        assert "on purpose" in session.status.error
        FAIL.clear()
        session.teach(session.pool.ids[51], _truth(session, session.pool.ids[51:52])[0])
        assert session.wait_for_model(timeout=30).version > good.version


def test_process_backend_trains_in_another_process(tmp_path):
    import os

    cfg = dict(head={"type": "session_fixtures.PidHead"}, training={"backend": "process", "coalesce_s": 0.0})
    with _session(tmp_path, **cfg) as session:
        _teach_first(session)
        model = session.wait_for_model(timeout=120)
        assert model is not None
        assert model.head.fit_pid_ != os.getpid()
        assert model.proba.shape == (session.pool.n, 3)


def test_cancel_kills_a_cpu_bound_retrain_in_the_process_backend(tmp_path):
    cfg = dict(head={"type": "session_fixtures.SpinHead"}, training={"backend": "process", "coalesce_s": 0.0})
    with _session(tmp_path, **cfg) as session:
        _teach_first(session)
        assert wait_for(lambda: session.status.state == "training", timeout=60)
        session.trainer.cancel()
        assert session.trainer.wait(timeout=60)
        assert session.status.state == "cancelled"
        assert session.model is None


def test_queries_are_leased_per_annotator(tmp_path):
    with _session(tmp_path) as session:
        _teach_first(session)
        session.wait_for_model(timeout=30)
        alice = {i.object_id for i in session.query(10, annotator="alice")}
        bob = {i.object_id for i in session.query(10, annotator="bob")}
        assert len(alice) == 10 and len(bob) == 10
        assert not alice & bob
        # Asking again, alice gets her own leased objects back, never bob's.
        again = {i.object_id for i in session.query(10, annotator="alice")}
        assert not again & bob


def test_a_query_leases_its_batch_in_one_write_without_fsync(tmp_path):
    """The planner asks for a few more than it needs; the surplus is never held, so no release write."""
    with _session(tmp_path) as session:
        _teach_first(session)
        session.wait_for_model(timeout=30)
        writes: list[bool] = []
        write = session.store._db.write
        session.store._db.write = lambda work, *, durable=True: writes.append(durable) or write(
            work, durable=durable)
        served = {i.object_id for i in session.query(3, annotator="alice")}
        assert writes == [False]
        # Only the served objects are held: bob is offered everything else.
        assert session.store.leased_by_others("bob") == served


def test_the_label_snapshot_is_read_once_per_revision_for_every_caller(tmp_path):
    """Every browser tab asks after every label: the store is read once per revision, not once per tab."""
    with _session(tmp_path) as session:
        with ThreadPoolExecutor(4) as tabs:  # four tabs asking at once get one snapshot
            first, *others = tabs.map(lambda _: session.label_snapshot(), range(4))
        assert all(other is first for other in others) and first.by_row == {}
        object_id = session.pool.ids[7]
        session.teach(object_id, str(_truth(session, [object_id])[0]), annotator="ana")
        second = session.label_snapshot()
        assert session.label_snapshot() is second
        assert second.revision > first.revision
        assert second.by_row == {7: {"label": str(_truth(session, [object_id])[0]), "split": "train",
                                     "annotator": "ana", "source": "human"}}
        assert int(second.counts["train"].sum()) == 1


def test_a_session_that_saves_models_imports_the_model_writer_before_its_first_model(tmp_path, monkeypatch):
    """skops imports every scikit-learn module (seconds of GIL): at start-up, not at a server's first save."""
    from alabel.core.heads import skops_payload

    preloaded = []
    monkeypatch.setattr(skops_payload, "preload", lambda: preloaded.append(True))
    Session(SessionConfig.load(write_config(tmp_path)), background=False).close()
    assert preloaded == []  # a session that saves nothing need not pay for it
    Session(SessionConfig.load(write_config(tmp_path)), persist_models=True, background=False).close()
    assert preloaded == [True]


def test_query_scores_follow_the_strategy_and_skip_labelled(tmp_path):
    with _session(tmp_path) as session:
        labelled = set(_teach_first(session))
        model = session.wait_for_model(timeout=30)
        items = session.query(5, lease=False)
        assert not labelled & {i.object_id for i in items}
        scores = [i.score for i in items]
        assert scores == sorted(scores, reverse=True)
        # margin sampling: the first query is the pool row of smallest top-2 margin among candidates
        proba = np.sort(model.proba, axis=1)
        margins = proba[:, -1] - proba[:, -2]
        mask = session.candidate_mask()
        assert items[0].row == np.flatnonzero(mask)[np.argmin(margins[mask])]
        assert items[0].strategy == "margin"


def test_metrics_use_test_labels_when_present_else_out_of_fold(tmp_path):
    with _session(tmp_path) as session:
        ids = session.pool.ids[:30]
        session.teach_many(ids, _truth(session, ids))
        assert session.wait_for_model(timeout=30).metrics["evaluation"] == "out-of-fold"
        test_ids = session.pool.ids[100:130]
        session.teach_many(test_ids, _truth(session, test_ids), split="test")
        model = session.wait_for_model(timeout=30)
        assert model.metrics["evaluation"] == "test"
        assert model.metrics["n_evaluated"] == 30
        assert model.n_labels == 30, "test labels are never trained on"


def test_evaluation_set_is_never_queried(tmp_path):
    with _session(tmp_path, n=60) as session:
        held = np.arange(30)
        session.evaluation_set = EvaluationSet(rows=held, labels=session.pool.ground_truth[held])
        session.planner.excluded[held] = True
        rows = {i.row for i in session.query(60, lease=False)}
        assert rows and not rows & set(held.tolist())


def test_undo_and_unknown_object(tmp_path):
    with _session(tmp_path) as session:
        _teach_first(session)
        session.wait_for_model(timeout=30)
        session.teach(session.pool.ids[70], "a")
        assert session.store.n_labels() == 7
        undone = session.undo()
        assert undone.object_id == session.pool.ids[70]
        assert session.wait_for_model(timeout=30).n_labels == 6
        with pytest.raises(LabelStoreError, match="'nope' is not in the data"):
            session.teach("nope", "a")
        assert session.store.n_labels() == 6


def test_retract_takes_a_bulk_label_back_whole_and_earlier_labels_return(tmp_path):
    with _session(tmp_path) as session:
        ids = [str(i) for i in session.pool.ids[:4]]
        session.teach(ids[0], "a", annotator="ann")
        bulk = session.teach_many(ids, "b", annotator="ann")
        revision = session.store.revision
        session.retract(bulk, annotator="ann")
        current = session.store.current()
        assert dict(zip(current["object_id"], current["label"])) == {ids[0]: "a"}
        assert session.store.revision > revision
        with pytest.raises(LabelStoreError, match="already retracted"):
            session.retract(bulk[:1], annotator="ann")  # nothing written: all or nothing
        assert len(session.store.current()) == 1 and session.retract([], annotator="ann") == []


def test_empty_pool_raises(tmp_path):
    with _session(tmp_path, n=12) as session:
        session.teach_many(session.pool.ids, session.pool.ground_truth)
        with pytest.raises(EmptyPoolError):
            session.query(1)


def test_add_class_mid_session(tmp_path):
    with _session(tmp_path) as session:
        session.add_class("d")
        assert session.classes == ["a", "b", "c", "d"]
        session.teach(session.pool.ids[0], "d")
        _teach_first(session)
        model = session.wait_for_model(timeout=30)
        assert list(model.classes) == ["a", "b", "c", "d"]
        assert model.proba.shape[1] == 4


def test_model_is_in_use_before_its_out_of_fold_metrics(tmp_path):
    """An out-of-fold estimate (k more fits) never delays the model that has seen the labels."""
    with _session(tmp_path) as session:
        seen = []
        session.subscribe(lambda kind, payload: seen.append(
            (kind, payload.version, dict(payload.metrics))) if kind in ("model", "metrics") else None)
        ids = session.pool.ids[:30]
        session.teach_many(ids, _truth(session, ids))
        model = session.wait_for_model(timeout=30)
        kinds = [(k, v) for k, v, _ in seen]
        assert kinds == [("model", model.version), ("metrics", model.version)]
        assert seen[0][2].get("pending") is True, "published with metrics pending"
        assert seen[1][2]["evaluation"] == "out-of-fold" and "accuracy" in seen[1][2]
        assert "pending" not in model.metrics
        assert session.history[-1]["metrics"]["accuracy"] == model.metrics["accuracy"]


def test_wait_for_revision_returns_the_model_that_saw_the_label(tmp_path):
    with _session(tmp_path) as session:
        _teach_first(session)
        event = session.teach(session.pool.ids[40], _truth(session, session.pool.ids[40:41])[0])
        model = session.wait_for_revision(event.seq, timeout=30)
        assert model.label_revision >= event.seq
        assert model.n_labels == 7


def test_labels_during_a_fit_skip_the_evaluation_of_the_superseded_model(tmp_path):
    """During a burst, the k out-of-fold fits are spent on the newest model only."""
    with _session(tmp_path, head={"type": "session_fixtures.GatedHead"}) as session:
        _teach_first(session)
        first = session.wait_for_model(timeout=30)
        GATE.clear()
        FIT_STARTED.clear()
        session.teach(session.pool.ids[40], _truth(session, session.pool.ids[40:41])[0])
        assert FIT_STARTED.wait(10)
        session.teach(session.pool.ids[41], _truth(session, session.pool.ids[41:42])[0])
        GATE.set()
        final = session.wait_for_model(timeout=30)
        assert final.version == first.version + 2 and final.n_labels == 8
        evaluated = [h["version"] for h in session.history]
        assert evaluated == [first.version, final.version], "version 2 was superseded, not evaluated"
        assert "accuracy" in final.metrics


def test_store_folder_is_created_for_a_fresh_checkout(tmp_path):
    """The shipped configs keep their store under .alabel/, which a fresh clone lacks."""
    with _session(tmp_path, labels={"store": ".alabel/deep/labels.sqlite"}) as session:
        session.teach(session.pool.ids[0], "a")
    assert (tmp_path / ".alabel" / "deep" / "labels.sqlite").exists()


def test_a_label_landing_during_a_query_is_neither_served_nor_an_error(tmp_path, monkeypatch):
    with _session(tmp_path) as session:
        _teach_first(session)
        session.wait_for_model(timeout=30)
        store = session.store
        real = store.labelled_ids
        late = str(session.pool.ids[-1])
        calls = []

        def labelled_ids_with_a_late_label(*args, **kwargs):
            # From the second read on, another tab's label of the last object has committed.
            calls.append(1)
            ids = set(real(*args, **kwargs))
            return ids | {late} if len(calls) > 1 else ids

        monkeypatch.setattr(store, "labelled_ids", labelled_ids_with_a_late_label)
        items = session.query(5, lease=False)
        assert len(items) == 5 and len(calls) == 1, "one snapshot of the labelled rows per query"
