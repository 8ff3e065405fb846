"""The dashboard in a real browser: ``alabel serve`` driven by Playwright on chromium.

Tests that only need the default digits config share one server and label as
their own annotator (their assertions look at that annotator's labels); tests
that need another config start their own. Assertions are about orderings and
states, never timings (those are in bench/bench_ui_latency.py).
"""
from __future__ import annotations

import time
import zipfile

import numpy as np
import pandas as pd
import pytest
import yaml
from harness import REPO, Server, example_config

from alabel.core.labels import LabelStore

pytestmark = pytest.mark.browser

DIGITS = pd.read_parquet(REPO / "example_data" / "digits.parquet")
TRUTH = dict(zip(DIGITS["id"].astype(str), DIGITS["label"].astype(str)))


def key_of(digit: str) -> str:
    """The default class key of a digit class: a one-character class name is its own key."""
    return digit


def store_of(server) -> LabelStore:
    return LabelStore.open(server.config.parent / "labels.sqlite")


def current_labels(server, annotator: str | None = None) -> pd.DataFrame:
    with store_of(server) as store:
        labels = store.current(split=None, sources=None)
    return labels if annotator is None else labels[labels["annotator"] == annotator].reset_index(drop=True)


# ---------------------------------------------------------------------------
# on the shared server
# ---------------------------------------------------------------------------
def test_page_loads_and_every_panel_renders(shared_server, open_tab):
    tab = open_tab(shared_server.url + "?annotator=viewer")
    page = tab.page
    tab.wait(lambda: page.locator(".alabel-scatter-figure canvas").count() > 0, what="the scatter canvas")
    tab.wait(lambda: page.locator(".detail-image img").count() == 1, what="the digit image")
    assert page.locator(".detail-image img").get_attribute("src").startswith("data:image/png;base64,")
    assert page.locator(".class-btn button").count() == 10
    assert page.locator(".detail-header .detail-id").get_attribute("data-object") == tab.current()
    for selector in (".alabel-model", ".alabel-query", ".alabel-session", ".alabel-labelling", ".alabel-detail",
                     ".alabel-metrics", ".alabel-find", ".alabel-testset"):
        assert page.locator(selector).count() == 1, selector
    time.sleep(1.0)  # let late errors (failed resources, model warnings) surface
    assert tab.errors == []


def test_twenty_labels_by_click_and_keyboard_while_the_model_advances(shared_server, open_tab):
    tab = open_tab(shared_server.url + "?annotator=ana")
    versions, labelled = [], []
    for i in range(20):
        truth = TRUTH[tab.current()]
        labelled.append(tab.click_class(truth) if i < 10 else tab.press(key_of(truth)))
        versions.append(tab.model_version())
    labels = current_labels(shared_server, "ana")
    assert len(labels) == 20 and set(labels["object_id"]) == set(labelled)
    assert list(labels.set_index("object_id")["label"].loc[labelled]) == [TRUTH[o] for o in labelled]
    early = max(v or 0 for v in versions[:5])
    final = tab.wait(lambda: (tab.model_version() or 0) > early and tab.model_version(), timeout=60,
                     what="a newer model version")
    seen = [v for v in versions if v is not None] + [final]
    assert seen == sorted(seen) and len(set(seen)) >= 2  # versions advanced in the background
    assert tab.errors == []


def test_undo_removes_the_last_label(shared_server, open_tab):
    tab = open_tab(shared_server.url + "?annotator=ursula")
    first = tab.click_class("4")
    second = tab.click_class("5")
    tab.page.locator(".act-undo button").click()
    tab.wait(lambda: tab.current() == second, what="the undone object to come back")
    assert list(current_labels(shared_server, "ursula")["object_id"]) == [first]


def test_two_annotators_label_concurrently(shared_server, open_tab):
    ana, bob = open_tab(shared_server.url + "?annotator=c-ana"), open_tab(shared_server.url + "?annotator=c-bob")
    served = {"c-ana": [], "c-bob": []}
    for _ in range(6):
        a, b = ana.current(), bob.current()
        served["c-ana"].append(a)
        served["c-bob"].append(b)
        assert a != b
        # Both clicks go out before either page is waited on: the server handles them together.
        ana.page.locator(".class-1 button").click()
        bob.page.locator(".class-2 button").click()
        ana.wait(lambda: ana.current() not in ("", a), what="c-ana's next query")
        bob.wait(lambda: bob.current() not in ("", b), what="c-bob's next query")
    assert not set(served["c-ana"]) & set(served["c-bob"])
    with store_of(shared_server) as store:
        events = store.events()
    mine = events[events["annotator"].isin(["c-ana", "c-bob"])]
    assert len(mine) == 12 and mine["object_id"].is_unique  # none lost, none recorded twice
    by = mine.groupby("annotator")["object_id"].apply(set).to_dict()
    assert by == {"c-ana": set(served["c-ana"]), "c-bob": set(served["c-bob"])}
    assert set(mine.set_index("annotator")["label"].loc["c-ana"]) == {"1"}


def test_keyboard_alone_accepts_skips_undoes_and_navigates(shared_server, open_tab):
    tab = open_tab(shared_server.url + "?annotator=kim")
    for _ in range(3):  # labels of a few classes, so that a model predicts (also when run alone)
        tab.press(key_of(TRUTH[tab.current()]))
    for _ in range(5):  # other annotators' labels retrain the shared model: retry if it changed meanwhile
        tab.wait(lambda: tab.page.locator(".banner").first.get_attribute("data-prediction"), timeout=60,
                 what="a prediction for the current object")
        version, target = tab.model_version(), tab.current()
        predicted = tab.page.locator(".banner").first.get_attribute("data-prediction")
        tab.press("Enter")
        with store_of(shared_server) as store:
            events = store.events()
        event = events[events["object_id"] == target].iloc[-1]
        if event["model_version"] == version:  # the model Enter used is the one whose prediction we read
            break
    assert event["label"] == predicted and event["annotator"] == "kim"
    skipped = tab.press("s")
    with store_of(shared_server) as store:
        events = store.events()
    last = events[events["annotator"] == "kim"].iloc[-1]
    assert (last["object_id"], last["kind"]) == (skipped, "skip")
    after_skip = tab.current()
    tab.press("Backspace")
    assert tab.current() == skipped  # the skip was undone: the object is back
    with store_of(shared_server) as store:
        assert store.events().set_index("event_id").loc[last["event_id"], "retracted"]
    tab.press("ArrowRight")
    assert tab.current() == after_skip
    tab.press("ArrowLeft")
    assert tab.current() == skipped
    tab.press("ArrowLeft")
    assert tab.current() == target
    assert len(current_labels(shared_server, "kim")) >= 4
    assert tab.errors == []


def _lasso(tab, polygon_fraction):
    """Drag a lasso over the scatter; returns the lasso polygon in data coordinates."""
    page = tab.page
    geometry = page.evaluate("""() => {
      const fig = Bokeh.documents[0].get_model_by_name('alabel-scatter');
      let view = null;
      for (const root of Object.values(Bokeh.index)) { try { view = root.owner.get_one(fig); break; } catch (e) {} }
      const f = view.frame.bbox, c = view.canvas_view.el.getBoundingClientRect();
      return {left: c.left + f.left, top: c.top + f.top, width: f.width, height: f.height,
              x: [fig.x_range.start, fig.x_range.end], y: [fig.y_range.start, fig.y_range.end]};
    }""")
    page.locator(".scatter-lasso button").click()
    points = [(geometry["left"] + fx * geometry["width"], geometry["top"] + fy * geometry["height"])
              for fx, fy in polygon_fraction]
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:] + points[:1]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()
    (x0, x1), (y0, y1) = geometry["x"], geometry["y"]
    return [(x0 + fx * (x1 - x0), y1 - fy * (y1 - y0)) for fx, fy in polygon_fraction]


def _pca_of(server) -> np.ndarray:
    from alabel.core.config import SessionConfig
    from alabel.core.data import load_pool
    from alabel.dashboard.features import FeatureSpace

    config = SessionConfig.load(server.config)
    return FeatureSpace(load_pool(config.data).X, seed=config.seed).pca().astype(float)


def test_bulk_lasso_labels_exactly_the_selected_points(shared_server, open_tab):
    from matplotlib.path import Path as Polygon

    tab = open_tab(shared_server.url + "?annotator=lasso")
    page = tab.page
    tab.wait(lambda: "points" in page.locator(".scatter-note").first.inner_text(), what="the PCA scatter")
    polygon = _lasso(tab, [(0.55, 0.1), (0.95, 0.1), (0.95, 0.6), (0.55, 0.6)])
    n = int(tab.wait(lambda: (page.locator(".bulk-selected").first.get_attribute("data-n") or "0") != "0"
                     and page.locator(".bulk-selected").first.get_attribute("data-n"), what="a selection"))
    page.locator(".bulk-request button").click()
    tab.wait(lambda: page.locator(".bulk-question").count() == 1, what="the confirmation question")
    assert len(current_labels(shared_server, "lasso")) == 0  # nothing before the confirmation
    page.locator(".bulk-confirm button").click()
    tab.wait(lambda: len(current_labels(shared_server, "lasso")) > 0, what="the bulk labels")
    labels = current_labels(shared_server, "lasso")
    inside = Polygon(np.array(polygon)).contains_points(_pca_of(shared_server))  # the server's computation
    expected = set(DIGITS["id"].astype(str)[inside])
    assert 0 < len(expected) < len(DIGITS)
    assert len(labels) == n and set(labels["object_id"]) == expected
    assert set(labels["label"]) == {"0"}  # the first class is preselected


def test_layouts_switch_in_the_ui(shared_server, open_tab):
    tab = open_tab(shared_server.url + "?annotator=lola")
    page = tab.page
    assert page.locator(".layout-name").get_attribute("data-layout") == "images"
    page.locator(".layout-select select").select_option("compact")
    tab.wait(lambda: page.locator(".layout-name").get_attribute("data-layout") == "compact",
             what="the compact layout")
    tab.wait(lambda: page.locator(".alabel-labelling.in-layout-compact").count() == 1,
             what="the rebuilt labelling panel")
    first = tab.click_class("7")  # the labelling flow survives a layout switch
    assert first in set(current_labels(shared_server, "lola")["object_id"])


def test_find_by_hand_and_more_like_this(shared_server, open_tab):
    tab = open_tab(shared_server.url + "?annotator=finn&layout=default")
    page = tab.page
    page.locator(".find-id input").fill("17")
    page.locator(".find-id input").press("Enter")
    tab.wait(lambda: page.locator(".banner-relabel").count() == 1, what="the picked object")
    assert page.locator(".banner").first.get_attribute("data-object") == "17"
    page.locator(".find-more button").click()
    tab.wait(lambda: page.locator(".bulk-selected").count()
             and page.locator(".bulk-selected").first.get_attribute("data-n") == "20", what="20 neighbours")
    page.locator(".find-column select").select_option("px_20")
    page.locator(".find-op select").select_option(">=")
    page.locator(".find-value input").fill("12")
    page.locator(".find-add button").click()
    expected = str(int((DIGITS["px_20"] >= 12).sum()))
    tab.wait(lambda: page.locator(".find-count").count()
             and page.locator(".find-count").first.get_attribute("data-n") == expected, what="the filter's matches")
    page.keyboard.press("7")  # labels the picked object "7" (relabel path); the focus returns to the query
    tab.wait(lambda: "17" in set(current_labels(shared_server, "finn")["object_id"]), what="17's label")
    assert current_labels(shared_server, "finn").set_index("object_id")["label"]["17"] == "7"
    tab.wait(lambda: page.locator(".banner-query").count() == 1, what="the query back in focus")


# ---------------------------------------------------------------------------
# servers of their own
# ---------------------------------------------------------------------------
def test_a_label_during_a_slow_retrain_shows_the_next_query_first(serve, open_tab, tmp_path):
    release = tmp_path / "release"
    release.touch()
    server = serve(head={"type": "burn_head.BurnHead", "release_file": str(release)},
                   **{"training.backend": "process"})
    tab = open_tab(server.url)
    tab.click_class("0")
    tab.click_class("1")
    first = tab.wait(tab.model_version, timeout=90, what="the first model (training process start-up)")
    tab.wait(lambda: tab.trainer_state() == "idle", what="the trainer to go idle")
    release.unlink()  # from now on fits burn CPU until the file is back
    tab.click_class("2")
    tab.wait(lambda: tab.trainer_state() == "training", what="the slow retrain to start")
    version_before = tab.model_version()
    labelled = tab.click_class("3")  # returns once the next query is on screen
    assert tab.model_version() == version_before and tab.trainer_state() == "training"
    assert labelled in set(current_labels(server)["object_id"])  # committed before any new model
    release.touch()
    newer = tab.wait(lambda: (tab.model_version() or 0) > version_before and tab.model_version(),
                     timeout=90, what="the slow retrain to finish")
    assert newer > first


def test_exported_bundle_reopens_with_identical_labels_and_metrics(serve, open_tab, tmp_path):
    server = serve()
    tab = open_tab(server.url)
    for _ in range(12):  # 12 labels of 10 classes: some class twice, so metrics exist out of fold
        tab.click_class(TRUTH[tab.current()])
    page = tab.page
    tab.wait(lambda: tab.trainer_state() == "idle" and tab.attr(".model-version", "data-labels") == "12"
             and page.locator(".metrics-table").count(), timeout=60, what="the model of all 12 labels")
    metrics = page.locator(".metrics-table").first
    accuracy, evaluation = metrics.get_attribute("data-accuracy"), metrics.get_attribute("data-evaluation")
    with page.expect_download(timeout=60_000) as download:
        page.locator(".session-bundle button").click()
    bundle = tmp_path / "bundle"
    with zipfile.ZipFile(download.value.path()) as archive:
        archive.extractall(bundle)
    second = Server(bundle / "config.yaml").wait_ready()
    try:
        other = open_tab(second.url)
        other.wait(lambda: other.page.locator(".metrics-table").count(), timeout=60, what="the reopened model")
        reopened = other.page.locator(".metrics-table").first
        assert reopened.get_attribute("data-accuracy") == accuracy
        assert reopened.get_attribute("data-evaluation") == evaluation
        columns = ["object_id", "label", "split", "annotator", "event_id"]
        mine = current_labels(server)[columns].sort_values("object_id").reset_index(drop=True)
        theirs = current_labels(second)[columns].sort_values("object_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, theirs)
    finally:
        second.stop()


def test_paths_outside_the_data_root_are_not_read(serve, open_tab, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not an image the server may read")
    data = tmp_path / "data"
    data.mkdir()
    frame = DIGITS.head(40).copy()
    frame["image_path"] = "../secret.png"
    frame.to_parquet(data / "digits.parquet", index=False)
    config = example_config(tmp_path / "s", "digits")
    raw = yaml.safe_load(config.read_text())
    raw["data"]["sources"] = [{"path": str(data / "digits.parquet")}]
    raw["data"]["root"] = str(data)
    config.write_text(yaml.safe_dump(raw))
    tab = open_tab(serve(config=config).url)
    error = tab.wait(lambda: tab.page.locator(".detail-image .detail-error").count()
                     and tab.page.locator(".detail-image .detail-error").first.inner_text(), what="the refusal")
    assert "points outside the data root" in error
    assert tab.page.locator(".detail-image img").count() == 0


def test_the_server_refuses_a_bad_layout_before_starting(tmp_path):
    server = Server(example_config(tmp_path, "digits", ui={"layout": "imgaes"}))
    try:
        assert server.process.wait(60) == 2
        assert "ui.layout: unknown layout 'imgaes' (did you mean 'images'?)" in server.log()
    finally:
        server.stop()


# ---------------------------------------------------------------------------
# the shipped session (README's run command): OGLE-III with the default head and strategy
# ---------------------------------------------------------------------------
def test_shipped_config_labels_with_the_defaults_and_hides_what_gives_the_class_away(serve, open_tab):
    ogle = pd.read_parquet(REPO / "example_data" / "ogle3_variable_stars.parquet")
    truth = dict(zip(ogle["id"].astype(str), ogle["label"].astype(str)))
    server = serve("ogle3")
    raw = yaml.safe_load(server.config.read_text())
    assert "head" not in raw and "strategy" not in raw  # what a new user gets
    tab = open_tab(server.url + "?annotator=newcomer")
    page = tab.page
    # Until its stylesheets load, an HTML pane is hidden and its innerText empty: wait for the text.
    tab.wait(lambda: page.locator("table.detail-columns").count() == 1
             and "mag_I" in page.locator("table.detail-columns").inner_text(), what="the detail table")
    shown = page.locator("table.detail-columns").inner_text()
    assert "mag_I" in shown and "ogle_id" not in shown and "OGLE-" not in shown and "subtype" not in shown
    for _ in range(32):
        tab.click_class(truth[tab.current()])
    tab.wait(lambda: page.locator(".head-choice").count() == 1
             and int(page.locator(".model-version").get_attribute("data-labels") or 0) >= 30,
             timeout=90, what="a model of 30+ labels with the auto head's choice")
    assert page.locator(".head-choice").get_attribute("data-chosen") in (
        "logistic_regression", "hist_gradient_boosting", "random_forest", "ensemble")
    # Labels 21-30 hold the first audit pick: the estimate shown comes from it.
    tab.wait(lambda: page.locator(".estimate-row").count() == 1, timeout=90, what="the audit estimate")
    assert int(page.locator(".estimate-row").get_attribute("data-n")) >= 1
    labels = current_labels(server, "newcomer")
    assert len(labels) == 32 and (labels["label"] == labels["object_id"].map(truth)).all()
    assert tab.errors == []
