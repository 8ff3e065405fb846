"""The process-wide hub registry, the ground-truth reference, and bundle zips."""
from __future__ import annotations

import io
import os
import stat
import time
import zipfile

import pytest
from dash_fixtures import truth_of, wait_for, write_config

from alabel.core.config import SessionConfig
from alabel.core.errors import ConfigError
from alabel.core.labels import LabelStore
from alabel.dashboard import hub as hub_module
from alabel.dashboard.sharing import bundle_zip, labels_file, unpack_bundle


def test_one_hub_per_config_file(tmp_path):
    config = write_config(tmp_path)
    try:
        first = hub_module.open_hub(config)
        assert hub_module.open_hub(tmp_path / "." / "config.yaml") is first  # same resolved path
        token = hub_module.register_alias(hub_module.hub_key(config))
        assert hub_module.resolve_alias(token) is first
        assert hub_module.resolve_alias("nope") is None
    finally:
        hub_module.close_all()
    assert first.closed and hub_module.get_hub(hub_module.hub_key(config)) is None


def test_reference_curves_against_the_ground_truth(make_hub):
    hub = make_hub()
    session = hub.session
    seen = []
    hub.subscribe(lambda kind, payload: seen.append(payload) if kind == "reference" else None)
    for item in session.query(12, annotator="ana"):
        session.teach(item.object_id, truth_of(session, item.object_id), annotator="ana")
    session.wait_for_model(timeout=30)
    # The reference curve grows point by point in the background: wait for the points asserted below.
    assert wait_for(lambda: seen and seen[-1]["session"]
                    and {p["n_labels"] for p in seen[-1]["random"]} >= {5, 10}, timeout=60)
    snapshot = seen[-1]
    assert "ground truth (column 'truth')" in snapshot["evaluation"]
    assert {p["n_labels"] for p in snapshot["random"]} >= {5, 10}
    assert all(0 <= p["accuracy"] <= 1 for p in snapshot["random"] + snapshot["session"])
    evaluated = set(hub.truth.eval_rows)
    assert not evaluated & set(hub.truth.draw_order)  # the reference never trains on its test rows


def test_reference_fits_run_in_their_own_process_and_wait_for_a_pause_in_the_labels(make_hub):
    hub = make_hub()
    session, tracker = hub.session, hub.truth
    tracker.pause_s = 0.5
    fits = tracker._fit_executor()
    assert fits.submit(os.getpid).result() != os.getpid()  # never the server's interpreter (its GIL)
    assert fits.submit(os.nice, 0).result() == 19  # and only on CPU time the clicks and trainer leave
    submitted: list[float] = []
    real_submit = fits.submit
    fits.submit = lambda fn, *args: submitted.append(time.monotonic()) or real_submit(fn, *args)
    labelled: list[float] = []
    for item in session.query(12, annotator="ana"):
        session.teach(item.object_id, truth_of(session, item.object_id), annotator="ana")
        labelled.append(time.monotonic())
    session.wait_for_model(timeout=30)
    assert wait_for(lambda: {p["n_labels"] for p in tracker.snapshot()["random"]} >= {5, 10}, timeout=60)
    # Every fit started a pause after the last label before it (a little slack for the clock reads).
    assert submitted and all(start - max(t for t in labelled if t <= start) >= 0.45 for start in submitted)


def test_no_reference_without_ground_truth(make_hub):
    from dash_fixtures import config_dict

    data = config_dict()["data"]
    data.pop("ground_truth")
    hub = make_hub(data=data)
    assert hub.truth is None


def test_bundle_zip_round_trip(tmp_path, make_hub):
    hub = make_hub()
    session = hub.session
    for item in session.query(4, annotator="ana"):
        session.teach(item.object_id, "a", annotator="ana")
    session.add_class("d")
    data = bundle_zip(session)
    config_path = unpack_bundle(data, tmp_path / "uploads", name="blobs-bundle.zip")
    loaded = SessionConfig.load(config_path)
    assert loaded.class_names == ["a", "b", "c", "d"]
    with LabelStore.open(loaded.store_path) as store:
        assert set(store.current()["object_id"]) == set(session.store.current()["object_id"])
    assert loaded.data.sources[0].path.is_relative_to(config_path.parent)
    csv = labels_file(session, ".csv").decode()
    assert csv.splitlines()[0].startswith("object_id,label") and len(csv.splitlines()) == 5


def _zip(members: dict, links: tuple = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize("data, message", [
    (b"not a zip", "up.zip: not a zip file"),
    (_zip({"../evil.txt": "x", "config.yaml": "x"}), "up.zip: member '../evil.txt' points outside the bundle"),
    (_zip({"/abs.txt": "x"}), "up.zip: member '/abs.txt' points outside the bundle"),
    (_zip({"config.yaml": "x"}, links=("data/link",)), "up.zip: member 'data/link' is a link"),
    (_zip({"labels.csv": "x"}), "up.zip: no config.yaml in the bundle"),
    (_zip({"config.yaml": "data: [1]"}), "config.yaml: data: expected a mapping"),
])
def test_unsafe_or_broken_uploads_are_refused(tmp_path, data, message):
    uploads = tmp_path / "uploads"
    with pytest.raises(ConfigError) as info:
        unpack_bundle(data, uploads, name="up.zip")
    assert message in str(info.value)
    assert not (tmp_path / "evil.txt").exists()
    assert not uploads.exists() or not any(uploads.iterdir())  # nothing left behind
