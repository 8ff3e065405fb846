"""Label-noise check: planted flipped labels land in the suspicious-labels queue."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from alabel.core.config import SessionConfig
from alabel.core.evaluation.noise import find_suspicious, out_of_fold_proba
from alabel.core.session import Session

CLASSES = ["a", "b", "c"]
CENTRES = {"a": (0.0, 0.0), "b": (8.0, 0.0), "c": (0.0, 8.0)}
FLIPS = {4: "c", 20: "a", 33: "b", 61: "a", 95: "b", 130: "c"}  # row -> wrong label


def _easy(n=150, seed=0):
    rng = np.random.default_rng(seed)
    truth = np.array(CLASSES)[np.arange(n) % 3]
    X = np.array([CENTRES[c] for c in truth]) + rng.normal(scale=0.6, size=(n, 2))
    noisy = truth.copy()
    for row, wrong in FLIPS.items():
        assert truth[row] != wrong
        noisy[row] = wrong
    return X.astype("float32"), truth, noisy


def test_out_of_fold_proba_never_sees_the_row_it_predicts():
    X, truth, noisy = _easy()
    proba = out_of_fold_proba({"type": "logistic_regression", "scale": True}, CLASSES, X, noisy, folds=5)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    # A flipped row's own (wrong) label was not in its training fold: the model votes for the truth.
    rows = list(FLIPS)
    assert (np.array(CLASSES)[proba[rows].argmax(axis=1)] == truth[rows]).all()


def test_confident_learning_finds_the_planted_flips():
    X, truth, noisy = _easy()
    proba = out_of_fold_proba({"type": "logistic_regression", "scale": True}, CLASSES, X, noisy, folds=5)
    found = find_suspicious(noisy, proba, CLASSES)
    flagged = set(found["position"])
    # Confident learning is conservative (it flags what it is confident about):
    # nothing but flips, and most of them (4 of the 6 with this under-confident head).
    assert flagged <= set(FLIPS), "only planted flips are flagged"
    assert len(flagged) >= 4
    by_row = found.set_index("position")
    for row in flagged:
        assert by_row.loc[row, "label"] == noisy[row]
        assert by_row.loc[row, "suggested"] == truth[row]
        assert by_row.loc[row, "self_confidence"] < 0.5
    assert found["rank"].tolist() == list(range(1, len(found) + 1))
    assert found["self_confidence"].is_monotonic_increasing


def test_classes_with_a_single_label_are_not_judged():
    y = np.array(["a", "a", "a", "b", "b", "b", "c"])
    proba = np.tile([0.1, 0.1, 0.8], (7, 1))
    found = find_suspicious(y, proba, CLASSES)
    assert 6 not in set(found["position"])


def _session(tmp_path) -> Session:
    X, truth, noisy = _easy()
    pd.DataFrame({"obj": [f"s{i}" for i in range(len(truth))], "x": X[:, 0], "y": X[:, 1],
                  "truth": truth}).to_parquet(tmp_path / "easy.parquet", index=False)
    cfg = {"name": "easy", "seed": 0,
           "data": {"sources": [{"path": "easy.parquet"}], "id_column": "obj",
                    "features": {"numeric": ["x", "y"]}, "ground_truth": "truth"},
           "classes": CLASSES, "head": {"type": "logistic_regression", "scale": True},
           "loop": {"type": "active"}, "training": {"coalesce_s": 0.0},
           "labels": {"store": "labels.sqlite", "models": "models"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    session = Session(SessionConfig.load(tmp_path / "config.yaml"), background=False)
    session.teach_many([f"s{i}" for i in range(len(noisy))], list(noisy), annotator="catalogue")
    return session


def test_session_queue_lists_flips_and_drops_rechecked_labels(tmp_path):
    session = _session(tmp_path)
    assert session.suspicious_labels().empty, "no check has run yet"
    check = session.check_labels()
    assert check.n_checked == 150
    queue = session.suspicious_labels()
    flips = {f"s{r}" for r in FLIPS}
    assert set(queue["object_id"]) <= flips and len(queue) >= 4
    assert (queue["annotator"] == "catalogue").all()
    # A person corrects one label and keeps another as it is: both leave the queue.
    corrected, kept = queue["object_id"].iloc[0], queue["object_id"].iloc[1]
    session.confirm_label(corrected, queue["suggested"].iloc[0], annotator="alice")
    session.confirm_label(kept, annotator="alice")
    left = session.suspicious_labels()
    assert set(left["object_id"]) == set(queue["object_id"]) - {corrected, kept}
    current = session.labels().set_index("object_id")
    assert current.loc[corrected, "label"] == queue["suggested"].iloc[0]
    # A later check does not flag the label that was kept on purpose again.
    session.check_labels()
    assert kept not in set(session.suspicious_labels()["object_id"])


def test_noise_check_every_runs_after_new_human_labels(tmp_path):
    session = _session(tmp_path)
    session.loop.update_settings(noise_check_every=1)
    session.retrain()
    assert session.loop.noise_check is not None
    queue = session.suspicious_labels()
    assert len(queue) >= 4 and set(queue["object_id"]) <= {f"s{r}" for r in FLIPS}


def test_confirming_an_unlabelled_object_is_an_error(tmp_path):
    from alabel.core.errors import LabelStoreError

    session = _session(tmp_path)
    session.store.retract(session.labels().set_index("object_id").loc["s0", "event_id"], annotator="x")
    with pytest.raises(LabelStoreError, match="no human label"):
        session.confirm_label("s0")


def test_a_kept_label_stays_confirmed_after_a_restart(tmp_path):
    """Confirmations are store events: a new session (a restarted server) still honours them."""
    session = _session(tmp_path)
    session.check_labels()
    queue = session.suspicious_labels()
    kept = queue["object_id"].iloc[0]
    event = session.confirm_label(kept, annotator="alice")
    assert event.kind == "confirm" and event.annotator == "alice"
    session.close()
    session.store.close()

    again = Session(SessionConfig.load(tmp_path / "config.yaml"), background=False)
    assert again.loop.confirmed_labels(again.loop_context) == {kept: queue["event_id"].iloc[0]}
    again.check_labels()
    left = set(again.suspicious_labels()["object_id"])
    assert kept not in left and left, "the other flips are still flagged"
