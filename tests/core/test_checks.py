"""Checks before the first label: classes vs the ground truth, label errors, leaky features."""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alabel.core.config import SessionConfig
from alabel.core.data import DataWarning
from alabel.core.errors import ConfigError, LabelStoreError
from alabel.core.session import Session
from alabel.core.evaluation.simulate import SimulationPlan, run_simulation
from alabel.dashboard.cli import main

from session_fixtures import config_dict, write_config, write_table


def _config(tmp_path, **overrides):
    return write_config(tmp_path, **overrides)


def test_ground_truth_value_missing_from_classes_fails_when_the_session_opens(tmp_path):
    path = _config(tmp_path, classes=["a", "b"])  # the data also has 'c'
    with pytest.raises(ConfigError) as err:
        Session.from_config(path, background=False)
    assert str(err.value) == (
        f"{path}: classes: ground-truth column 'truth' has values no class lists: 'c' (100 rows); add them "
        "to classes:, or add a class named 'other' to collect them (classes: a, b)")


def test_simulate_stops_before_any_run_on_a_missing_class(tmp_path, capsys):
    path = _config(tmp_path, classes=["a", "b"])
    assert main(["-q", "simulate", str(path), "--budget", "20", "--out", str(tmp_path / "sim")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "classes: ground-truth column 'truth' has values no class lists: 'c'" in err
    assert not (tmp_path / "sim" / "stores").exists()  # no run started


def test_an_other_class_collects_the_unlisted_values(tmp_path):
    path = _config(tmp_path, classes=["a", "b", "other"])
    config = SessionConfig.load(path)
    curve = run_simulation(config, SimulationPlan(budget=16, seeds=[0], batch_size=5))
    assert len(curve) and curve["accuracy"].notna().all()
    with Session(config, background=False) as session:
        assert set(session.pool.ground_truth) == {"a", "b", "other"}


def test_a_misspelt_label_names_the_config_the_key_and_the_close_match(tmp_path):
    path = _config(tmp_path, classes=["bcu", "BLL", "fsrq"])
    raw = yaml.safe_load(path.read_text())
    raw["data"].pop("ground_truth")
    path.write_text(yaml.safe_dump(raw))
    with Session.from_config(path, background=False) as session:
        with pytest.raises(LabelStoreError) as err:
            session.teach(session.pool.ids[0], "bll")
        assert str(err.value) == f"{path}: classes: unknown class 'bll' (did you mean 'BLL'?; classes: bcu, BLL, fsrq)"
        with pytest.raises(LabelStoreError, match=r"classes: label 2: unknown class 'fsr' \(did you mean 'fsrq'\?"):
            session.teach_many(session.pool.ids[:2], ["bcu", "fsr"])
        assert session.store.n_labels(split=None, sources=None) == 0


def test_label_import_error_names_the_file_row_config_and_key(tmp_path, capsys):
    path = _config(tmp_path)
    ids = pd.read_parquet(tmp_path / "blobs.parquet")["obj"][:3]
    pd.DataFrame({"obj": ids, "label": ["a", "B", "c"]}).to_csv(tmp_path / "l.csv", index=False)
    assert main(["label", str(path), "--from", str(tmp_path / "l.csv")]) == 4
    err = capsys.readouterr().err.strip()
    assert err == (f"alabel: error: {path}: classes: {tmp_path / 'l.csv'}: column 'label', data row 2: "
                   "unknown class 'B' (did you mean 'b'?; classes: a, b, c)")


def _leaky_config(tmp_path):
    """The blobs with the class code planted among the numeric features."""
    write_table(tmp_path)
    frame = pd.read_parquet(tmp_path / "blobs.parquet")
    frame["code"] = frame["truth"].map({"a": 7, "b": 3, "c": 5}).astype("float32")
    frame.to_parquet(tmp_path / "blobs.parquet", index=False)
    cfg = config_dict()
    cfg["data"]["features"]["numeric"].append("code")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_a_planted_leaky_feature_is_flagged_against_the_ground_truth(tmp_path, capsys):
    path = _leaky_config(tmp_path)
    with pytest.warns(DataWarning) as record:
        Session.from_config(path, background=False).close()
    messages = [str(w.message) for w in record]
    assert any("data.features.numeric: column 'code' alone predicts data.ground_truth 'truth' (balanced "
               "accuracy 1.000" in m and "list it under data.hidden" in m for m in messages)
    assert not any("'x'" in m or "'colour'" in m for m in messages)  # honest features are not flagged
    assert main(["-q", "train", str(path)]) in (0, 5)
    err = capsys.readouterr().err
    assert "alabel: warning: " in err and "column 'code' alone predicts" in err


def test_a_leaky_feature_is_flagged_against_the_first_labels(tmp_path):
    path = _leaky_config(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["data"].pop("ground_truth")
    path.write_text(yaml.safe_dump(raw))
    frame = pd.read_parquet(tmp_path / "blobs.parquet")
    with Session.from_config(path, background=False) as session:
        session.teach_many(frame["obj"][:40], frame["truth"][:40])
    with pytest.warns(DataWarning, match=r"column 'code' alone predicts the 40 labels given so far .*data.hidden"):
        Session.from_config(path, background=False).close()


def test_no_leak_warning_on_the_shipped_examples():
    from alabel.core.data import load_pool

    EXAMPLES = Path(__file__).resolve().parents[2] / "example_data"

    for name in ("ogle3", "portal_rodents", "digits"):
        config = SessionConfig.load(EXAMPLES / f"{name}.yaml")
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataWarning)
            load_pool(config.data)
