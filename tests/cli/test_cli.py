"""Every ``alabel`` command end to end on the shipped example data."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from alabel.core.labels import LabelStore
from alabel.dashboard.cli import main

REPO = Path(__file__).resolve().parents[2]


def _example_config(tmp_path: Path, name: str = "digits", **overrides) -> Path:
    """The shipped example config, with its data path absolute and its store in tmp_path."""
    cfg = yaml.safe_load((REPO / "example_data" / f"{name}.yaml").read_text())
    for source in cfg["data"]["sources"]:
        source["path"] = str(REPO / "example_data" / source["path"])
    cfg["data"]["root"] = str(REPO / "example_data")
    cfg["labels"] = {"store": "labels.sqlite", "models": "models"}
    cfg.update(overrides)
    path = tmp_path / "session" / "config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _oracle_labels(ids, path: Path) -> Path:
    truth = pd.read_parquet(REPO / "example_data" / "digits.parquet").set_index("id")["label"]
    pd.DataFrame({"id": ids, "label": truth.loc[[int(i) for i in ids]].to_numpy()}).to_csv(path, index=False)
    return path


def test_query_label_train_score_cycle(tmp_path, capsys):
    config = _example_config(tmp_path)
    assert main(["-q", "query", str(config), "-n", "40", "--annotator", "ann", "--new-store"]) == 0
    queried = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert len(queried) == 40 and queried["id"].is_unique
    assert (queried["strategy"] == "margin").all()

    labels_csv = _oracle_labels(queried["id"], tmp_path / "labels.csv")
    assert main(["-q", "label", str(config), "--from", str(labels_csv)]) == 0
    assert "imported 40 labels" in capsys.readouterr().out
    store = LabelStore.open(config.parent / "labels.sqlite")
    assert store.n_labels() == 40

    assert main(["-q", "train", str(config)]) == 0
    out = capsys.readouterr().out
    assert "model version 1: 40 labels" in out and "out-of-fold" in out
    models = config.parent / "models"
    assert (models / "model-v00001.skops").exists()
    assert (models / "metrics.json").exists() and (models / "curve.png").exists()
    curve = pd.read_csv(models / "curve.csv")
    assert list(curve["labels"]) == [10, 20, 40]

    scores = tmp_path / "scores.parquet"
    assert main(["-q", "score", str(config), "--out", str(scores)]) == 0
    assert "with model version 1" in capsys.readouterr().out
    table = pd.read_parquet(scores)
    assert len(table) == 1797
    proba = table[[f"proba_{c}" for c in "0123456789"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (table["prediction"] == table["label"]).sum() >= 35, "labelled digits are mostly fitted"
    assert table["label"].notna().sum() == 40

    # A second query comes from the saved model (version 1) and skips the labelled objects.
    assert main(["-q", "query", str(config), "-n", "5", "--annotator", "ann"]) == 0
    nxt = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert (nxt["model_version"] == 1).all()
    assert not set(nxt["id"]) & set(queried["id"])


def test_label_reads_its_file_once_and_names_it_in_errors(tmp_path, capsys, monkeypatch):
    """The file is checked before the store is created, and the checked rows are what is imported:
    one read, and a wrong class still names the file and its column."""
    config = _example_config(tmp_path)
    ids = pd.read_parquet(REPO / "example_data" / "digits.parquet")["id"].head(12)
    labels_csv = _oracle_labels(ids, tmp_path / "labels.csv")
    reads = []
    real_read_csv = pd.read_csv

    def counting_read_csv(path, *args, **kwargs):
        if Path(str(path)).name == "labels.csv":
            reads.append(path)
        return real_read_csv(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", counting_read_csv)
    assert main(["-q", "label", str(config), "--from", str(labels_csv)]) == 0
    assert "imported 12 labels" in capsys.readouterr().out
    assert len(reads) == 1, f"the label file was read {len(reads)} times"
    assert LabelStore.open(config.parent / "labels.sqlite").n_labels() == 12

    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"id": ids.astype(str).head(3), "label": ["1", "eleven", "2"]}).to_csv(wrong, index=False)
    assert main(["-q", "label", str(config), "--from", str(wrong)]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "wrong.csv: column 'label', data row 2" in err and "'eleven'" in err
    assert LabelStore.open(config.parent / "labels.sqlite").n_labels() == 12, "nothing half-imported"


def test_simulate_writes_curve_and_png(tmp_path, capsys):
    config = _example_config(tmp_path)
    out = tmp_path / "sim"
    code = main(["-q", "simulate", str(config), "--budget", "40", "--strategy", "margin",
                 "--strategy", "random", "--seed", "0", "--out", str(out)])
    assert code == 0
    curve = pd.read_csv(out / "curve.csv")
    assert {"labels", "accuracy", "strategy", "seed"} <= set(curve.columns)
    assert set(curve["strategy"]) == {"margin", "random"}
    assert curve.groupby("strategy")["labels"].max().tolist() == [40, 40]
    assert (out / "curve.png").stat().st_size > 1000
    assert "margin" in capsys.readouterr().out


def test_export_bundle_reloads_to_identical_predictions(tmp_path, capsys):
    config = _example_config(tmp_path)
    store = LabelStore.open(config.parent / "labels.sqlite")
    truth = pd.read_parquet(REPO / "example_data" / "digits.parquet")
    rng = np.random.default_rng(0)
    rows = rng.choice(len(truth), 60, replace=False)
    store.record_many([dict(object_id=str(truth["id"][r]), label=truth["label"][r], annotator="t")
                       for r in rows])
    assert main(["-q", "train", str(config)]) == 0
    assert main(["-q", "score", str(config), "--out", str(tmp_path / "before.parquet")]) == 0
    before_labels = store.current().sort_values("object_id").reset_index(drop=True)

    bundle = tmp_path / "bundle"
    assert main(["-q", "export", str(config), "--out", str(bundle)]) == 0
    # The original session disappears: store, models, config.
    shutil.rmtree(config.parent)
    text = (bundle / "config.yaml").read_text()
    assert str(tmp_path) not in text and str(REPO) not in text, "bundle paths are relative"
    assert (bundle / "data" / "digits.parquet").exists()
    assert (bundle / "data" / "digits_images" / "00000.png").exists()

    moved = tmp_path / "colleague"
    shutil.move(bundle, moved)
    assert main(["-q", "train", str(moved / "config.yaml")]) == 0
    assert main(["-q", "score", str(moved / "config.yaml"), "--out", str(tmp_path / "after.parquet")]) == 0
    after_labels = LabelStore.open(moved / "labels.sqlite").current().sort_values("object_id")
    pd.testing.assert_frame_equal(before_labels, after_labels.reset_index(drop=True))
    before = pd.read_parquet(tmp_path / "before.parquet")
    after = pd.read_parquet(tmp_path / "after.parquet")
    proba_cols = [c for c in before.columns if c.startswith("proba_")]
    assert np.array_equal(before[proba_cols].to_numpy(), after[proba_cols].to_numpy()), "bitwise identical"


BAD_INVOCATIONS = [
    (["train", "missing.yaml"], 2, "missing.yaml: file not found"),
    (["score", "{config}", "--out", "{tmp}/x.parquet"], 5, "no model yet"),
    (["score", "{config}", "--out", "{tmp}/x.xlsx"], 2, "x.xlsx: unknown output format '.xlsx'"),
    (["query", "{config}", "-n", "0"], 2, "-n"),
    (["label", "{config}", "--from", "{tmp}/nofile.csv"], 4, "nofile.csv"),
    (["simulate", "{config}", "--strategy", "marginn", "--out", "{tmp}/s"], 2, "did you mean 'margin'"),
    (["simulate", "{config}", "--head", "forest", "--out", "{tmp}/s"], 2, "--head"),
    (["export", "{config}", "--out", "{tmp}/notempty"], 2, "not empty"),
]


@pytest.mark.parametrize("argv, code, needle", BAD_INVOCATIONS, ids=[" ".join(a[:1]) + str(i) for i, (a, _, _) in enumerate(BAD_INVOCATIONS)])
def test_errors_give_exit_code_and_one_line(tmp_path, capsys, argv, code, needle):
    config = _example_config(tmp_path)
    (tmp_path / "notempty").mkdir()
    (tmp_path / "notempty" / "f").write_text("x")
    before = LabelStore.open(config.parent / "labels.sqlite").revision
    argv = ["-q"] + [a.format(config=config, tmp=tmp_path) for a in argv]
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("alabel: error:") and "\n" not in err
    assert needle in err
    assert LabelStore.open(config.parent / "labels.sqlite").revision == before


def test_console_script_help_and_exit_code(tmp_path):
    exe = Path(sys.executable).parent / "alabel"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("train", "score", "query", "label", "simulate", "export"):
        assert command in result.stdout
    result = subprocess.run([str(exe), "train", str(tmp_path / "nope.yaml")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "nope.yaml: file not found" in result.stderr


def test_export_link_points_to_the_data_in_place(tmp_path):
    config = _example_config(tmp_path)
    LabelStore.open(config.parent / "labels.sqlite", create=True).close()  # export never creates a store
    bundle = tmp_path / "linked"
    assert main(["-q", "export", str(config), "--out", str(bundle), "--data", "link"]) == 0
    assert not (bundle / "data").exists(), "nothing copied"
    exported = yaml.safe_load((bundle / "config.yaml").read_text())
    source = exported["data"]["sources"][0]["path"]
    assert not Path(source).is_absolute()
    assert (bundle / source).resolve() == (REPO / "example_data" / "digits.parquet").resolve()
    assert (bundle / "labels.sqlite").exists() and (bundle / "labels.csv").exists()
    assert main(["-q", "query", str(bundle / "config.yaml"), "-n", "3", "--no-lease"]) == 0


def test_train_explains_the_auto_head_and_the_audit_estimate(tmp_path, capsys):
    config = _example_config(tmp_path, head={"type": "auto"}, strategy={"type": "auto"})
    assert main(["-q", "query", str(config), "-n", "40", "--no-lease", "--new-store"]) == 0
    queried = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    # 20 labels of coverage first, then one audit pick in ten: 2 of the 20 after the cold start.
    assert (queried["strategy"] == "audit").sum() == 2 and (queried["strategy"] == "auto").sum() == 38
    labels_csv = _oracle_labels(queried["id"], tmp_path / "labels.csv")
    assert main(["-q", "label", str(config), "--from", str(labels_csv)]) == 0
    capsys.readouterr()
    assert main(["-q", "train", str(config)]) == 0
    out = capsys.readouterr().out
    assert "head auto: chose " in out and "out-of-fold log-loss on 40 labels" in out
    assert "estimate: accuracy " in out and "2 random audit labels" in out
    metrics = yaml.safe_load((config.parent / "models" / "metrics.json").read_text())
    assert metrics["metrics"]["head_choice"]["n_selected"] == 40
