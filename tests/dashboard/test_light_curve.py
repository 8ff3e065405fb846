"""The OGLE detail: a light curve rebuilt from the catalogue's numbers, and the period–amplitude plane."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from dash_fixtures import config_dict

from alabel.core.config import SessionConfig
from alabel.core.data import load_pool
from alabel.core.errors import ConfigError, DataError
from alabel.dashboard.components.light_curve import LightCurveRenderer
from alabel.dashboard.layout import builtin_layouts, check_layout_data, load_layout

REPO = Path(__file__).resolve().parents[2]


def _with_detail(detail: list) -> dict:
    cfg = copy.deepcopy(config_dict())
    cfg["data"]["detail"] = detail
    return cfg


@pytest.mark.parametrize("columns, message", [
    ({"amplitude": "x", "R2l": "y"},
     "data.detail[0].columns.R2l: the light_curve renderer has no such role (did you mean 'R21'?)"),
    ({"mean": "x"}, "data.detail[0].columns.amplitude: required by the light_curve renderer"),
])
def test_light_curve_roles_are_checked_before_building(make_hub, columns, message):
    hub = make_hub(data=_with_detail([{"column": "x", "kind": "light_curve", "columns": columns}])["data"])
    spec = load_layout(builtin_layouts()["default"], "layouts/default.yaml")
    with pytest.raises(ConfigError) as info:
        check_layout_data(spec, hub.session)
    assert message in str(info.value) and str(info.value).startswith(str(hub.session.config.source))


def test_a_role_column_missing_from_the_data_is_named(tmp_path):
    from dash_fixtures import write_config

    path = write_config(tmp_path, data=_with_detail(
        [{"column": "x", "kind": "light_curve", "columns": {"amplitude": "amp"}}])["data"])
    config = SessionConfig.load(path)
    with pytest.raises(DataError, match=r"data.detail\[0\].columns.amplitude: column 'amp' not found"):
        load_pool(config.data)
    assert config.data.to_dict(tmp_path)["detail"][0]["columns"] == {"amplitude": "amp"}


def test_a_hidden_column_cannot_be_a_light_curve_role(tmp_path):
    from dash_fixtures import write_config

    data = _with_detail([{"column": "x", "kind": "light_curve", "columns": {"amplitude": "name"}}])["data"]
    data["hidden"] = ["name"]
    with pytest.raises(ConfigError, match=r"data.hidden\[0\]: 'name' is also shown by data.detail\[0\]"):
        SessionConfig.load(write_config(tmp_path, data=data))


@pytest.fixture(scope="module")
def ogle():
    config = SessionConfig.load(REPO / "config.yaml")
    spec = config.data.detail[0]
    assert spec.kind == "light_curve"  # the shipped config shows OGLE stars this way
    pool = load_pool(config.data)
    return pool, LightCurveRenderer(spec.column, pool, spec.columns)


def test_the_curve_of_a_cepheid_spans_its_catalogue_amplitude(ogle):
    pool, renderer = ogle
    frame = pool.frame
    row = int(np.flatnonzero((frame["label"] == "Cep").to_numpy() & frame["phi31"].notna().to_numpy())[0])
    curve = renderer.curve_of(row)
    assert np.ptp(curve.magnitude) == pytest.approx(float(frame.at[row, "amplitude_I"]), rel=1e-3)
    assert curve.magnitude.mean() == pytest.approx(float(frame.at[row, "mag_I"]), abs=1e-3)
    assert curve.title.startswith("Reconstruction: P = ")  # says what it is
    assert "3 harmonics" in curve.title and not curve.sinusoid
    renderer.show_object(row)
    assert renderer.curve.title.text == curve.title
    assert list(renderer.curve_source.data["mag"]) == list(curve.magnitude)
    # brighter up: the range starts below the faintest point and ends above the brightest
    assert renderer.curve_range.start > curve.magnitude.max() > curve.magnitude.min() > renderer.curve_range.end
    renderer.show_object(None)
    assert len(renderer.curve_source.data["phase"]) == 0 and renderer.marker_source.data["amplitude"] == []


def test_a_star_without_fourier_terms_is_drawn_as_a_sinusoid_and_says_so(ogle):
    pool, renderer = ogle
    row = int(np.flatnonzero((pool.frame["label"] == "LPV").to_numpy())[0])
    curve = renderer.curve_of(row)
    assert curve.title.endswith("sinusoid only") and curve.sinusoid
    renderer.show_object(row)
    assert renderer.curve_line.line_dash == [6]  # Bokeh's "dashed"
    x, _ = renderer.marker_of(row)
    assert x[0] == pytest.approx(np.log10(pool.frame.at[row, "period_days"]))
    assert renderer.marker_source.data["log10 P (d)"] == x


def test_a_new_star_sends_its_data_title_and_range_only(ogle):
    """The HoloViews update this replaced sent ~20 changes per star (glyph styles, ranges' reset
    values, the figure's hold_render) and cost ~200 ms of the server's loop each (issue 12)."""
    from bokeh.document import Document

    pool, renderer = ogle
    document = Document()
    document.add_root(renderer.pane.get_root(document))
    models = {model.id for model in document.models}
    changes = []
    document.on_change(lambda event: changes.append((type(event.model).__name__, getattr(event, "attr", None))))
    rows = np.flatnonzero(pool.frame["phi31"].notna().to_numpy())[:5]
    for row in rows:
        renderer.show_object(int(row))
    allowed = {("ColumnDataSource", "data"), ("Title", "text"), ("Range1d", "start"), ("Range1d", "end"),
               ("Line", "line_dash")}
    assert set(changes) <= allowed, set(changes) - allowed
    assert len(changes) <= 6 * len(rows)  # two sources, title, two range ends, the dash
    assert {model.id for model in document.models} == models  # nothing added or replaced
