"""Saving and loading heads: skops payload + manifest, untrusted types refused."""
from __future__ import annotations

import json

import numpy as np
import pytest
import skops.io as sio
from sklearn.exceptions import NotFittedError

from alabel.core.errors import DataError
from alabel.core.heads import KNNHead, LogisticRegressionHead, load_head, save_head
from alabel.core.heads.persist import MANIFEST, SKOPS_FILE


class Gadget:
    """A type from outside the trusted packages."""

    def __init__(self):
        self.payload = 1


@pytest.fixture
def head():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)).astype(np.float32)
    X[::4, 1] = np.nan
    return LogisticRegressionHead(classes=["x", "y", "z"], random_state=0).fit(X, ["x", "y"] * 15), X


def test_saved_directory_holds_manifest_and_skops_payload_only(head, tmp_path):
    fitted, _ = head
    save_head(fitted, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [MANIFEST, SKOPS_FILE]
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    assert manifest == {"format": "alabel-head", "version": 1, "type": "logistic_regression",
                        "classes": ["x", "y", "z"]}


def test_round_trip_keeps_params_and_probabilities(head, tmp_path):
    fitted, X = head
    loaded = load_head(save_head(fitted, tmp_path / "m"))
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_saving_an_unfitted_head_fails(tmp_path):
    with pytest.raises(NotFittedError):
        save_head(KNNHead(), tmp_path / "m")


def test_untrusted_type_in_payload_is_refused(head, tmp_path):
    fitted, _ = head
    fitted.gadget_ = Gadget()
    save_head(fitted, tmp_path / "m")
    with pytest.raises(DataError, match=r"head\.skops: refusing to load untrusted type '.*Gadget'"):
        load_head(tmp_path / "m")


def test_missing_manifest(tmp_path):
    with pytest.raises(DataError, match=r"head\.json: not found"):
        load_head(tmp_path)


@pytest.mark.parametrize("manifest, message", [
    ("{not json", "unreadable"),
    (json.dumps({"format": "other"}), "format: expected 'alabel-head'"),
    (json.dumps({"format": "alabel-head", "version": 99, "type": "knn"}), "version: 99 is not supported"),
    (json.dumps({"format": "alabel-head", "version": 1, "type": "os.system"}), "type: 'os.system' is not a registered head"),
])
def test_bad_manifest(tmp_path, manifest, message):
    (tmp_path / MANIFEST).write_text(manifest)
    with pytest.raises(DataError, match=message):
        load_head(tmp_path)


def test_manifest_type_must_match_payload(head, tmp_path):
    fitted, _ = head
    save_head(fitted, tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    manifest["type"] = "knn"
    (tmp_path / "m" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="payload holds a LogisticRegressionHead"):
        load_head(tmp_path / "m")


def test_damaged_payload(head, tmp_path):
    fitted, _ = head
    save_head(fitted, tmp_path / "m")
    (tmp_path / "m" / SKOPS_FILE).write_bytes(b"not a zip")
    with pytest.raises(DataError, match="unreadable skops file"):
        load_head(tmp_path / "m")


def test_payload_of_unfitted_head_is_refused(tmp_path):
    (tmp_path / "m").mkdir()
    sio.dump(KNNHead(), tmp_path / "m" / SKOPS_FILE)
    (tmp_path / "m" / MANIFEST).write_text(json.dumps({"format": "alabel-head", "version": 1, "type": "knn"}))
    with pytest.raises(DataError, match="not fitted"):
        load_head(tmp_path / "m")


def test_resave_replaces_the_previous_head(head, tmp_path):
    fitted, X = head
    save_head(KNNHead().fit(X, ["x", "y"] * 15), tmp_path / "m")
    save_head(fitted, tmp_path / "m")
    assert isinstance(load_head(tmp_path / "m"), LogisticRegressionHead)
