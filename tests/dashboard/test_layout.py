"""Layout files: validated completely before anything is built, one-line errors naming file and key."""
from __future__ import annotations

import pytest
import yaml

from alabel.core.config import SessionConfig
from alabel.core.errors import ConfigError
from alabel.dashboard.components import DetailView, LabellingPanel, ScatterView
from alabel.dashboard.layout import (builtin_layouts, build_layout, check_layout_data, layout_path, load_layout,
                                     resolve_layout)

GOOD = {"main": [{"row": [{"type": "scatter", "width": 500}, {"type": "detail"}]}, {"type": "labelling"}]}

BAD_FILES = [
    ({"mian": []}, "bad.yaml: mian: unknown key (did you mean 'main'?)"),
    ({"sidebar": []}, "bad.yaml: main: missing"),
    ({"main": []}, "bad.yaml: main: empty"),
    ({"main": {"type": "scatter"}}, "bad.yaml: main: expected a list of components, got dict"),
    ({"main": ["scatter"]}, "bad.yaml: main[0]: expected a mapping"),
    ({"main": [{"type": "scater"}]},
     "bad.yaml: main[0].type: unknown Component 'scater' (did you mean 'scatter'?)"),
    ({"main": [{"row": [{"type": "detail"}, {"type": "labeling"}]}]},
     "bad.yaml: main[0].row[1].type: unknown Component 'labeling' (did you mean 'labelling'?)"),
    ({"main": [{"width": 3}]}, "bad.yaml: main[0].type: missing"),
    ({"main": [{"type": "scatter", "hieght": 3}]},
     "bad.yaml: main[0].hieght: unknown option of component 'scatter' (did you mean 'height'?)"),
    ({"main": [{"type": "scatter", "width": "wide"}]},
     "bad.yaml: main[0].width: must be an integer >= 100, got 'wide'"),
    ({"main": [{"type": "scatter", "width": None}]},
     "bad.yaml: main[0].width: must be an integer >= 100, got null"),
    ({"main": [{"type": "labelling", "max_buttons": 0}]},
     "bad.yaml: main[0].max_buttons: must be an integer >= 1, got 0"),
    ({"main": [{"type": "labelling", "max_buttons": None}]},
     "bad.yaml: main[0].max_buttons: must be an integer >= 1, got null"),
    ({"main": [{"type": "detail", "columns": ["a", 3]}]},
     "bad.yaml: main[0].columns: must be a list of non-empty strings, got ['a', 3]"),
    ({"main": [{"row": [], "type": "x"}]}, "bad.yaml: main[0].type: a row takes no other key"),
    ({"main": [{"tabs": [{"type": "model"}]}]}, "bad.yaml: main[0].tabs: expected a mapping of tab title"),
    ({"main": [{"tabs": {"A": [{"type": "modle"}]}}]},
     "bad.yaml: main[0].tabs.A[0].type: unknown Component 'modle' (did you mean 'model'?)"),
    ({"main": [{"type": "model"}], "name": 3}, "bad.yaml: name: expected text"),
    ([1, 2], "bad.yaml: expected a mapping with 'main'"),
]


@pytest.mark.parametrize("raw, message", BAD_FILES)
def test_bad_layout_files(tmp_path, raw, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_layout(path, "bad.yaml")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("main:\n  - {type: scatter\n")
    with pytest.raises(ConfigError, match=r"^bad.yaml: YAML syntax error at line \d+"):
        load_layout(path, "bad.yaml")


def test_good_layout_tree(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    spec = load_layout(path)
    assert spec.name == "good"
    assert [n.cls for n in spec.components()] == [ScatterView, DetailView, LabellingPanel]
    assert [n.key for n in spec.components()] == ["main[0].row[0]", "main[0].row[1]", "main[1]"]


BAD_DATA = [
    ({"main": [{"type": "detail", "columns": ["x", "nmae"]}]},
     "bad.yaml: main[0].columns[1]: column 'nmae' is not in the data (did you mean 'name'?)"),
    ({"main": [{"tabs": {"Find": [{"type": "find", "columns": ["obj", "y", "z"]}]}}]},
     "bad.yaml: main[0].tabs.Find[0].columns[2]: column 'z' is not in the data"),
]


@pytest.mark.parametrize("raw, message", BAD_DATA)
def test_layouts_naming_missing_columns(tmp_path, make_hub, raw, message):
    hub = make_hub()
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    spec = load_layout(path, "bad.yaml")
    with pytest.raises(ConfigError) as info:
        check_layout_data(spec, hub.session)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("scatter, message", [
    ({"x": "xx"}, "ui.scatter.x: 'xx' is not a numeric column, feature or embedding (did you mean 'x'?)"),
    ({"y": "name"}, "ui.scatter.y: 'name' is not a numeric column"),
    ({"datashade_above": -1}, "ui.scatter.datashade_above: must be an integer >= 0, got -1"),
    ({"datashade_above": None}, "ui.scatter.datashade_above: must be an integer >= 0, got null"),
    ({"colour_by": "labels"},
     "ui.scatter.colour_by: must be one of label, prediction, uncertainty, queried, got 'labels' "
     "(did you mean 'label'?)"),
    ({"z": 1}, "ui.scatter.z: unknown key"),
])
def test_bad_ui_scatter(make_hub, scatter, message):
    hub = make_hub(ui={"scatter": scatter})
    spec = load_layout(builtin_layouts()["default"], "layouts/default.yaml")
    with pytest.raises(ConfigError) as info:
        check_layout_data(spec, hub.session)
    assert message in str(info.value)
    assert str(info.value).startswith(str(hub.session.config.source))


def test_unknown_layout_name_suggests(make_hub):
    hub = make_hub()
    with pytest.raises(ConfigError, match=r"ui.layout: unknown layout 'defualt' \(did you mean 'default'\?\)"):
        layout_path("defualt", hub.session.config)
    with pytest.raises(ConfigError, match="ui.layout: layout file .* not found"):
        layout_path("mine.yaml", hub.session.config)


def test_config_may_name_its_own_layout_file(tmp_path, make_hub):
    hub = make_hub()
    own = hub.session.config.base_dir / "mine.yaml"
    own.write_text(yaml.safe_dump(GOOD))
    spec = resolve_layout("mine.yaml", hub.session)
    assert spec.source == "mine.yaml" and len(list(spec.components())) == 3


@pytest.mark.parametrize("name", sorted(builtin_layouts()))
def test_shipped_layouts_build_on_a_session(make_hub, name):
    from alabel.dashboard.state import TabState

    hub = make_hub()
    spec = resolve_layout(name, hub.session)
    state = TabState(hub)
    try:
        sidebar, main, components = build_layout(spec, state)
        assert len(components) == len(list(spec.components()))
        for component in components:
            component.__panel__()
            component.dispose()
    finally:
        state.close()


@pytest.mark.parametrize("config", ["config.yaml", "example_data/digits.yaml", "example_data/portal_rodents.yaml"])
def test_shipped_configs_name_valid_layouts(config):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    loaded = SessionConfig.load(root / config)
    path, where = layout_path(loaded.ui.layout, loaded)
    load_layout(path, where)
