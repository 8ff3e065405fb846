"""Issue 11, findings 4 and 6 (store side): a label store is never silently wrong.

A store of another session, a typo in ``labels.store``, a class list that
drops the store's classes, a damaged file, ids read as numbers, anonymous
annotators sharing leases: each is a one-line error (or a correct answer),
never a silent wrong result.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from alabel.core.config import SessionConfig
from alabel.core.errors import ConfigError, LabelStoreError, StaleModelError
from alabel.core.labels import LabelStore
from alabel.core.session import Session
from alabel.dashboard.cli import main


def _write_session(folder: Path, *, ids, classes=("a", "b"), id_column="obj", store="labels.sqlite",
                   suffix=".csv", **labels) -> Path:
    """A small two-feature session over ``ids`` (truth alternates the classes)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(ids)
    rng = np.random.default_rng(0)
    truth = np.array(classes)[np.arange(n) % len(classes)]
    # x informs the class without giving it away (a give-away would add a leak warning line)
    frame = pd.DataFrame({id_column: ids, "x": rng.normal(size=n) + (truth == classes[0]) * 2,
                          "y": rng.normal(size=n), "truth": truth})
    data = folder / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(data, index=False)
    else:
        frame.to_parquet(data, index=False)
    cfg = {"name": folder.name, "seed": 0,
           "data": {"sources": [{"path": data.name}], "id_column": id_column,
                    "features": {"numeric": ["x", "y"]}, "ground_truth": "truth"},
           "classes": list(classes), "head": {"type": "logistic_regression"},
           "strategy": {"type": "margin"}, "training": {"coalesce_s": 0.0},
           "labels": {"store": store, "models": "models", **labels}}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def _cli_error(capsys, argv) -> tuple[int, str]:
    code = main(["-q", *argv])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return code, err


# ------------------------------------------------------------- another session's store


def _labelled_session(folder: Path, **kwargs) -> Path:
    config = _write_session(folder, **kwargs)
    with Session(SessionConfig.load(config), background=False) as session:
        ids = list(session.pool.ids[:8])
        session.teach_many(ids, session.pool.ground_truth[:8])
    return config


def test_a_store_of_another_session_is_refused_with_the_override_named(tmp_path, capsys):
    mine = _labelled_session(tmp_path / "mine", ids=[f"m{i}" for i in range(40)])
    with LabelStore.open(mine.parent / "labels.sqlite") as store:
        identity = store.identity()
    assert (identity.id_column, identity.n_ids, identity.classes) == ("obj", 40, ("a", "b"))
    # Another session (other data, same id column and classes) pointed at mine's store.
    theirs = _write_session(tmp_path / "theirs", ids=list(range(40)), store=str(mine.parent / "labels.sqlite"))
    with pytest.raises(LabelStoreError) as excinfo:
        Session(SessionConfig.load(theirs), background=False)
    message = _one_line(excinfo)
    assert str(mine.parent / "labels.sqlite") in message and "another session" in message
    assert "labels.foreign_store" in message
    code, err = _cli_error(capsys, ["train", str(theirs)])
    assert code == 4 and "belongs to another session" in err
    assert not (theirs.parent / "models").exists(), "nothing trained on it"


def test_a_store_labelled_by_another_id_column_is_refused(tmp_path):
    config = _labelled_session(tmp_path / "s", ids=[f"o{i}" for i in range(40)])
    raw = yaml.safe_load(config.read_text())
    frame = pd.read_csv(config.parent / "data.csv").rename(columns={"obj": "name"})
    frame.to_csv(config.parent / "data.csv", index=False)
    raw["data"]["id_column"] = "name"
    config.write_text(yaml.safe_dump(raw))
    with pytest.raises(LabelStoreError, match="by column 'obj', this data by 'name'"):
        Session(SessionConfig.load(config), background=False)


def test_foreign_store_allow_opens_it_and_adopt_takes_it_over(tmp_path):
    mine = _labelled_session(tmp_path / "mine", ids=[f"m{i}" for i in range(40)])
    store = str(mine.parent / "labels.sqlite")
    for policy in ("allow", "adopt"):
        other = _write_session(tmp_path / policy, ids=[f"m{i}" for i in range(50)], store=store,
                               foreign_store=policy)
        with Session(SessionConfig.load(other), background=False) as session:
            assert len(session.labels()) == 8
    # Adopted: the grown data is now the store's session, without an override.
    grown = _write_session(tmp_path / "grown", ids=[f"m{i}" for i in range(50)], store=store)
    with Session(SessionConfig.load(grown), background=False) as session:
        assert len(session.labels()) == 8
    with pytest.raises(LabelStoreError, match="another session"):
        Session(SessionConfig.load(mine), background=False)


def test_foreign_store_policy_is_validated_like_other_keys(tmp_path):
    config = _write_session(tmp_path, ids=list(range(10)), foreign_store="alow")
    with pytest.raises(ConfigError, match="labels.foreign_store: must be one of refuse, allow, adopt, got 'alow' "
                                          r"\(did you mean 'allow'\?\)"):
        SessionConfig.load(config)


def test_rows_in_another_order_are_the_same_session(tmp_path):
    config = _labelled_session(tmp_path / "s", ids=[f"o{i}" for i in range(40)])
    data = config.parent / "data.csv"
    pd.read_csv(data, dtype={"obj": str}).iloc[::-1].to_csv(data, index=False)
    with Session(SessionConfig.load(config), background=False) as session:
        assert len(session.labels()) == 8


def test_classes_dropped_from_the_config_are_an_error_not_a_silent_re_add(tmp_path, capsys):
    digits = [str(d) for d in range(10)]
    config = _write_session(tmp_path / "s", ids=list(range(60)), classes=digits)
    with Session(SessionConfig.load(config), background=False) as session:
        session.teach_many(session.pool.ids[:20], session.pool.ground_truth[:20])
    raw = yaml.safe_load(config.read_text())
    raw["classes"] = ["0"]
    raw["data"].pop("ground_truth")
    config.write_text(yaml.safe_dump(raw))
    with pytest.raises(LabelStoreError) as excinfo:
        Session(SessionConfig.load(config), background=False)
    message = _one_line(excinfo)
    assert "classes:" in message and "9 class(es) the config does not list (1, 2, 3" in message
    code, err = _cli_error(capsys, ["train", str(config)])
    assert code == 4 and "does not list" in err


def test_classes_added_while_labelling_come_back_after_a_restart(tmp_path):
    config = _write_session(tmp_path / "s", ids=list(range(40)))
    with Session(SessionConfig.load(config), background=False) as session:
        session.add_class("c")
        session.teach(session.pool.ids[0], "c")
    with Session(SessionConfig.load(config), background=False) as session:
        assert session.classes == ["a", "b", "c"]


# ------------------------------------------------------------- typo in labels.store


@pytest.mark.parametrize("command", [["train"], ["score", "--out", "{tmp}/s.csv"], ["query", "-n", "2"],
                                     ["export", "--out", "{tmp}/bundle"]])
def test_a_typo_in_labels_store_creates_nothing(tmp_path, capsys, command):
    config = _labelled_session(tmp_path / "s", ids=list(range(40)))
    raw = yaml.safe_load(config.read_text())
    raw["labels"]["store"] = "lables.sqlite"
    config.write_text(yaml.safe_dump(raw))
    argv = [part.replace("{tmp}", str(tmp_path)) for part in command]
    code, err = _cli_error(capsys, [argv[0], str(config), *argv[1:]])
    assert code == 4
    assert "labels.store: no label store at" in err and "lables.sqlite" in err
    assert "did you mean 'labels.sqlite'" in err
    assert not (config.parent / "lables.sqlite").exists()


def test_labelling_commands_create_the_store(tmp_path, capsys):
    config = _write_session(tmp_path / "s", ids=list(range(40)))
    (tmp_path / "l.csv").write_text("obj,label\n1,a\n2,b\n")
    assert main(["-q", "label", str(config), "--from", str(tmp_path / "l.csv")]) == 0
    assert LabelStore.open(config.parent / "labels.sqlite").n_labels() == 2
    fresh = _write_session(tmp_path / "f", ids=list(range(40)))
    assert main(["-q", "query", str(fresh), "-n", "2", "--new-store"]) == 0
    assert (fresh.parent / "labels.sqlite").exists()


@pytest.mark.parametrize("content, fault", [
    ("object_id,label\n1,a\n", "no column 'obj'"),  # the data's id column is 'obj'
    ("obj,label\n1,a\n999,b\n", "not in the data, first '999'"),
    ("obj,label\n1,\n", "column 'label' is empty in data row 1"),
])
def test_a_label_file_that_is_refused_creates_no_store(tmp_path, capsys, content, fault):
    config = _write_session(tmp_path / "s", ids=list(range(40)))
    (tmp_path / "l.csv").write_text(content)
    code, err = _cli_error(capsys, ["label", str(config), "--from", str(tmp_path / "l.csv")])
    assert code == 4 and str(tmp_path / "l.csv") in err and fault in err
    assert not (config.parent / "labels.sqlite").exists()


# ------------------------------------------------------------- damaged store


def test_a_store_with_bytes_overwritten_mid_file_is_never_trained_on(tmp_path, capsys):
    config = _write_session(tmp_path / "s", ids=[f"o{i}" for i in range(3000)])
    with Session(SessionConfig.load(config), background=False) as session:
        for start in range(0, 3000, 500):
            session.teach_many(session.pool.ids[start:start + 500], session.pool.ground_truth[start:start + 500])
        session.store.close()
    path = config.parent / "labels.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    page = 4096
    with open(path, "r+b") as fh:  # one page in the middle of the journal's b-tree
        fh.seek((size // page // 2) * page)
        fh.write(b"\xa5" * page)
    with pytest.raises(LabelStoreError) as excinfo:
        LabelStore.open(path)
    assert str(path) in _one_line(excinfo) and "damaged" in str(excinfo.value)
    code, err = _cli_error(capsys, ["train", str(config)])
    assert code == 4 and "damaged label store" in err
    assert not (config.parent / "models").exists()


# ------------------------------------------------------------- a model of other data


def _score(config: Path, out: Path, capsys) -> tuple[str, pd.DataFrame]:
    assert main(["score", str(config), "--out", str(out)]) == 0
    return capsys.readouterr().err, pd.read_csv(out)


def test_a_model_of_an_edited_data_file_is_retrained_with_a_message(tmp_path, capsys):
    config = _labelled_session(tmp_path / "s", ids=[f"o{i}" for i in range(60)])
    assert main(["-q", "train", str(config)]) == 0
    said, before = _score(config, tmp_path / "before.csv", capsys)
    assert "using model version 1" in said and set(before["model_version"]) == {1}
    # The file is edited in place (no sha256 in the config): x's sign flips, the ids stay.
    data = config.parent / "data.csv"
    frame = pd.read_csv(data)
    frame["x"] = -frame["x"]
    frame.to_csv(data, index=False)
    said, after = _score(config, tmp_path / "after.csv", capsys)
    assert "model version 1 was trained on other data" in said and "retraining" in said
    assert set(after["model_version"]) == {2}
    # The retrained model is of this data: used as it is from now on.
    said, again = _score(config, tmp_path / "again.csv", capsys)
    assert "using model version 2" in said and set(again["model_version"]) == {2}


def test_other_feature_columns_make_the_saved_model_stale(tmp_path):
    config = _labelled_session(tmp_path / "s", ids=[f"o{i}" for i in range(60)])
    with Session(SessionConfig.load(config), background=False, persist_models=True) as session:
        session.retrain()
    raw = yaml.safe_load(config.read_text())
    raw["data"]["features"]["numeric"] = ["y", "x"]  # the same columns, in another order
    config.write_text(yaml.safe_dump(raw))
    with Session(SessionConfig.load(config), background=False, persist_models=True) as session:
        with pytest.raises(StaleModelError) as excinfo:
            session.restore_latest_model()
        assert "model version 1 was trained on other data" in _one_line(excinfo)
        assert session.model is None


def test_a_model_saved_without_a_data_fingerprint_is_not_used(tmp_path):
    config = _labelled_session(tmp_path / "s", ids=[f"o{i}" for i in range(60)])
    with Session(SessionConfig.load(config), background=False, persist_models=True) as session:
        session.retrain()
    history = config.parent / "models" / "history.jsonl"
    record = json.loads(history.read_text())
    del record["data"]  # as an alabel before the fingerprint wrote it
    history.write_text(json.dumps(record) + "\n")
    with Session(SessionConfig.load(config), background=False, persist_models=True) as session:
        with pytest.raises(StaleModelError, match="records no data fingerprint"):
            session.restore_latest_model()


# ------------------------------------------------------------- ids are text


def test_zero_padded_csv_ids_stay_text(tmp_path):
    config = _write_session(tmp_path / "s", ids=[f"{i:03d}" for i in range(40)])
    with Session(SessionConfig.load(config), background=False) as session:
        assert session.pool.ids[25] == "025"
        session.teach("025", "a")
        assert session.labels()["object_id"].tolist() == ["025"]
        with pytest.raises(LabelStoreError, match="'25' is not in the data"):
            session.teach("25", "a")


def test_a_float_looking_id_added_to_a_csv_does_not_orphan_earlier_labels(tmp_path):
    config = _write_session(tmp_path / "s", ids=list(range(40)))
    with Session(SessionConfig.load(config), background=False) as session:
        session.teach("3", "a")
    data = config.parent / "data.csv"
    frame = pd.read_csv(data, dtype={"obj": str})
    extra = frame.iloc[:1].assign(obj="10.5")
    pd.concat([frame, extra]).to_csv(data, index=False)
    raw = yaml.safe_load(config.read_text())
    raw["labels"]["foreign_store"] = "adopt"  # the data grew on purpose
    config.write_text(yaml.safe_dump(raw))
    with Session(SessionConfig.load(config), background=False) as session:
        assert "10.5" in set(session.pool.ids) and "3" in set(session.pool.ids)
        assert session.labels()["object_id"].tolist() == ["3"], "the label still names its object"


def test_float_typed_ids_match_labels_however_the_label_file_types_them(tmp_path):
    config = _write_session(tmp_path / "s", ids=[1.0, 2.0, 2.5] + [float(i) for i in range(3, 40)],
                            suffix=".parquet")
    labels = tmp_path / "labels.parquet"
    pd.DataFrame({"obj": [1, 2], "label": ["a", "b"]}).to_parquet(labels)  # ints here, floats in the data
    assert main(["-q", "label", str(config), "--from", str(labels)]) == 0
    with Session(SessionConfig.load(config), background=False) as session:
        assert list(session.pool.ids[:3]) == ["1", "2", "2.5"]
        assert sorted(session.labels()["object_id"]) == ["1", "2"]


def test_fits_ids_follow_the_same_rule(tmp_path):
    from astropy.table import Table

    folder = tmp_path / "s"
    config = _write_session(folder, ids=[f"{i:03d}" for i in range(40)])
    frame = pd.read_csv(folder / "data.csv", dtype={"obj": str})
    Table.from_pandas(frame).write(folder / "data.fits")
    raw = yaml.safe_load(config.read_text())
    raw["data"]["sources"] = [{"path": "data.fits"}]
    config.write_text(yaml.safe_dump(raw))
    with Session(SessionConfig.load(config), background=False) as session:
        assert session.pool.ids[25] == "025"


# ------------------------------------------------------------- anonymous annotators


def test_two_anonymous_queries_do_not_get_the_same_objects(tmp_path):
    import subprocess
    import sys

    config = _write_session(tmp_path / "s", ids=list(range(60)))
    LabelStore.open(config.parent / "labels.sqlite").close()
    exe = Path(sys.executable).parent / "alabel"
    runs = [subprocess.run([str(exe), "-q", "query", str(config), "-n", "5"], capture_output=True, text=True,
                           timeout=120) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    first, second = (set(pd.read_csv(pd.io.common.StringIO(r.stdout))["id"]) for r in runs)
    assert len(first) == len(second) == 5
    assert not first & second, f"both anonymous runs got {sorted(first & second)}"
