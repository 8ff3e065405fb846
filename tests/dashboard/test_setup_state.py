"""The setup page's state: the same proposal and checks as ``alabel init``, errors per field."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alabel.core.config import SessionConfig
from alabel.dashboard.cli import main
from alabel.dashboard.setup_state import NO_TRUTH, SetupState

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def state(tmp_path):
    return SetupState([REPO / "example_data" / "portal_rodents.parquet"], tmp_path / "config.yaml")


def test_starts_from_the_init_proposal_without_errors(state):
    assert state.id_column == "id" and state.ground_truth == "label"
    assert state.hidden == ["record_id", "plot_id", "species", "species_id"]
    assert state.errors == {} and state.warnings == {}
    assert [c["name"] for c in state.classes][:2] == ["Dipodomys", "Chaetodipus"]
    preview = state.preview().set_index("column")
    assert preview.loc["species", "proposed"] == "hidden"
    assert "alone predicts label" in preview.loc["species", "why"]


def test_each_error_sits_beside_its_field(state, tmp_path):
    state.set_class(0, name="dipodomys")
    assert state.errors["classes"].startswith(f"{tmp_path / 'config.yaml'}: classes: ground-truth column 'label' "
                                              "has values no class lists: 'Dipodomys'")
    state.set_class(0, name="Dipodomys", key="Enter")
    assert "classes[0].key: 'Enter' is already an action key" in state.errors["classes"]
    state.set_class(0, key="1")
    state.numeric = [*state.numeric, "record_id"]
    assert "data.hidden[0]: 'record_id' is a feature" in state.errors["hidden"]
    state.numeric = [c for c in state.numeric if c != "record_id"]
    state.categorical = [*state.categorical, "year"]
    assert "column 'year' is already declared in data.features.numeric" in state.errors["features"]
    state.categorical = ["sex", "plot_type"]
    assert state.errors == {}
    assert state.save() is not None


def test_a_leaky_feature_is_a_warning_and_saving_is_still_allowed(state):
    state.hidden = [c for c in state.hidden if c != "species"]
    state.categorical = [*state.categorical, "species"]
    assert state.errors == {}
    assert "column 'species' alone predicts data.ground_truth 'label'" in state.warnings["features"]
    assert "data.hidden" in state.warnings["features"]
    path = state.save()
    assert "species" in SessionConfig.load(path).data.features.categorical


def test_no_ground_truth_then_classes_by_hand(state):
    state.ground_truth = NO_TRUTH
    assert state.classes == [] and "classes: no classes yet" in state.errors["classes"]
    assert "label" in state.param.categorical.objects  # a plain column now
    for name in ("Dipodomys", "Neotoma"):
        state.add_class(name)
    assert state.errors == {}
    config = SessionConfig.load(state.save())
    assert config.data.ground_truth is None and config.class_names == ["Dipodomys", "Neotoma"]


def test_a_non_unique_id_is_an_error_beside_the_id(tmp_path):
    frame = pd.DataFrame({"id": np.arange(60), "group": np.arange(60) % 7, "x": np.random.default_rng(0).normal(size=60),
                          "label": np.array(["a", "b"])[np.arange(60) % 2]})
    frame.to_parquet(tmp_path / "t.parquet")
    state = SetupState([tmp_path / "t.parquet"], tmp_path / "config.yaml")
    state.id_column = "group"
    assert "--id-column: column 'group' has missing or repeated values" in state.errors["id_column"]
    assert state.save() is None and not (tmp_path / "config.yaml").exists()


def test_serve_a_data_file_next_to_an_existing_config_says_so(tmp_path, capsys):
    data = tmp_path / "t.parquet"
    pd.DataFrame({"id": [1, 2], "label": ["a", "b"]}).to_parquet(data)
    (tmp_path / "config.yaml").write_text("name: x\n")
    assert main(["serve", str(data)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"alabel: error: {tmp_path / 'config.yaml'}: already exists; serve it (alabel serve "
                   f"{tmp_path / 'config.yaml'}) or move it away to set up t.parquet again")
