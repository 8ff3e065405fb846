"""Grid labelling (digits) and the OGLE light-curve detail, in a real browser."""
from __future__ import annotations

import pandas as pd
import pytest
from harness import REPO
from test_dashboard import TRUTH, current_labels, key_of

pytestmark = pytest.mark.browser

OGLE = pd.read_parquet(REPO / "example_data" / "ogle3_variable_stars.parquet")


def _tiles(tab) -> list[str]:
    tiles = tab.page.locator(".grid-tile")
    return [tiles.nth(i).get_attribute("data-object") for i in range(tiles.count())]


def _selected(tab) -> int:
    return int(tab.attr(".grid-selected", "data-n") or 0)


def test_grid_labels_ten_digits_at_once_and_undo_takes_them_back(serve, open_tab):
    server = serve("digits")
    tab = open_tab(server.url + "?annotator=grid-gus&layout=grid")
    page = tab.page
    tab.wait(lambda: page.locator(".grid-tile").count() >= 10, timeout=60, what="a page of tiles")
    assert page.locator(".grid-tile img").first.get_attribute("src").startswith("data:image/png;base64,")
    ten = _tiles(tab)[:10]

    # Click the first tile, shift-click the tenth: ten selected; one class for all of them.
    page.locator(".grid-tile").nth(0).click()
    page.locator(".grid-tile").nth(9).click(modifiers=["Shift"])
    tab.wait(lambda: _selected(tab) == 10, what="ten tiles selected")
    page.locator(".grid-class-7 button").click()
    tab.wait(lambda: len(current_labels(server, "grid-gus")) == 10, what="ten labels in the store")
    labels = current_labels(server, "grid-gus")
    assert set(labels["object_id"]) == set(ten) and set(labels["label"]) == {"7"}

    # Undo takes the whole action back.
    page.locator(".grid-undo button").click()
    tab.wait(lambda: len(current_labels(server, "grid-gus")) == 0, what="the grid action undone")
    tab.wait(lambda: all(page.locator(f".grid-tile[data-object='{o}']").get_attribute("data-label") == ""
                         for o in ten), what="the tiles unlabelled again")

    # The keyboard alone: the grid has the focus; space toggles, arrows move, a class key labels.
    by_class: dict[str, list[int]] = {}
    for i, object_id in enumerate(ten):
        by_class.setdefault(TRUTH[object_id], []).append(i)
    page.locator(".grid-tile").nth(0).click()  # focus the grid (and select tile 0)
    page.keyboard.press("Escape")
    tab.wait(lambda: _selected(tab) == 0, what="the selection cleared")
    cursor = 0
    for digit, indices in by_class.items():
        for i in indices:
            for _ in range(abs(i - cursor)):
                page.keyboard.press("ArrowRight" if i > cursor else "ArrowLeft")
            cursor = i
            page.keyboard.press(" ")
        tab.wait(lambda n=len(indices): _selected(tab) == n, what=f"{len(indices)} tiles of {digit} selected")
        before = len(current_labels(server, "grid-gus"))
        page.keyboard.press(key_of(digit))
        tab.wait(lambda b=before, n=len(indices): len(current_labels(server, "grid-gus")) == b + n,
                 what=f"the {digit}s labelled")
    labels = current_labels(server, "grid-gus").set_index("object_id")["label"]
    assert labels.to_dict() == {o: TRUTH[o] for o in ten}  # every one right, nothing else labelled
    assert tab.errors == []


def test_ogle_detail_draws_the_reconstructed_light_curve_and_the_period_amplitude_plane(serve, open_tab):
    server = serve("ogle3")
    tab = open_tab(server.url + "?annotator=astro")
    page = tab.page
    tab.wait(lambda: page.locator(".detail-light-curve canvas").count() >= 1, timeout=60,
             what="the light-curve plots")
    # Polled: an HTML pane's text is hidden (so empty to innerText) until its stylesheets load.
    tab.wait(lambda: "reconstructed" in page.locator(".light-curve-caption").inner_text().lower(),
             what="the caption saying the curve is a reconstruction")
    current = tab.current()
    star = OGLE.set_index(OGLE["id"].astype(str)).loc[current]

    def drawn():
        return page.evaluate("""() => {
          const found = {curve: 0, star: [], title: '', y_range: []};
          for (const doc of Bokeh.documents) {
            for (const model of doc._all_models.values()) {
              if (model.type === 'ColumnDataSource' && model.data.phase) found.curve = model.data.phase.length;
              if (model.type === 'ColumnDataSource' && model.data['log10 P (d)'] &&
                  model.data['log10 P (d)'].length === 1) found.star = Array.from(model.data['log10 P (d)']);
              if (model.type === 'Title' && model.text.startsWith('Reconstruction')) found.title = model.text;
              if (model.type === 'Figure' || model.type === 'Plot') {
                const t = model.title && model.title.text;
                if (t && t.startsWith('Reconstruction')) found.y_range = [Math.min(model.y_range.start, model.y_range.end),
                                                                          Math.max(model.y_range.start, model.y_range.end)];
              }
            }
          }
          return found;
        }""")
    def ready(d):
        # The axes follow the star (framewise): its mean magnitude is inside the y range drawn.
        inside = d["y_range"] and d["y_range"][0] <= float(star["mag_I"]) <= d["y_range"][1]
        return d if d["curve"] > 100 and d["star"] and inside else None

    found = tab.wait(lambda: ready(drawn()), timeout=60, what="the curve, its axes and the star's marker")
    assert found["star"][0] == pytest.approx(float(star["log10_period"]), abs=1e-3)
    assert found["title"].startswith("Reconstruction: P = ")
    assert tab.errors == []
