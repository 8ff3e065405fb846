"""``alabel score CONFIG --data NEW``: a saved model applied to a catalogue outside the pool."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alabel.core.session import Session
from alabel.dashboard.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from session_fixtures import write_config  # noqa: E402

PROBA = ["proba_a", "proba_b", "proba_c"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A blobs session (numeric + categorical features) with two saved models."""
    folder = tmp_path_factory.mktemp("blobs")
    config = write_config(folder, n=300)
    with Session.from_config(config, background=False, persist_models=True) as session:
        ids, truth = session.pool.ids, session.pool.ground_truth
        session.teach_many(ids[:30], list(truth[:30]), source="import")
        session.retrain()
        session.teach_many(ids[30:60], list(truth[30:60]), source="import")
        model = session.retrain()
        pool_scores = pd.DataFrame(model.proba, columns=PROBA)
        pool_scores["id"] = session.pool.ids
    return config, folder, pool_scores


def _catalogue(folder, name="new"):
    """The pool's rows split into two Parquet files and one CSV: a catalogue of 300 rows."""
    frame = pd.read_parquet(folder / "blobs.parquet").drop(columns=["truth"])
    out = folder / name
    out.mkdir(exist_ok=True)
    frame.iloc[:120].to_parquet(out / "part-0.parquet", index=False)
    frame.iloc[120:200].to_parquet(out / "part-1.parquet", index=False)
    frame.iloc[200:].to_csv(out / "part-2.csv", index=False)
    return out


def test_scores_equal_scoring_the_same_rows_in_the_pool(trained, tmp_path, capsys):
    config, folder, pool_scores = trained
    data = _catalogue(folder)
    out = tmp_path / "scores"
    assert main(["-q", "score", str(config), "--data", str(data), "--out", str(out), "--chunk-rows", "37"]) == 0
    assert "scored 300 objects of 3 file(s) with model version 2" in capsys.readouterr().out
    # Partitioned like the input: one output file per input file, same rows in the same order.
    assert sorted(p.name for p in out.iterdir()) == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    assert len(pd.read_parquet(out / "part-1.parquet")) == 80
    table = pd.concat([pd.read_parquet(out / f"part-{i}.parquet") for i in range(3)], ignore_index=True)
    assert list(table["id"]) == list(pool_scores["id"])
    np.testing.assert_allclose(table[PROBA].to_numpy(), pool_scores[PROBA].to_numpy(), atol=1e-6)
    assert (table["model_version"] == 2).all()
    assert set(table["prediction"]) <= {"a", "b", "c"}


def test_model_option_picks_an_older_version(trained, tmp_path, capsys):
    config, folder, pool_scores = trained
    data = _catalogue(folder, "old")
    out = tmp_path / "v1"
    assert main(["-q", "score", str(config), "--data", str(data / "part-0.parquet"), "--out", str(out),
                 "--model", "v1"]) == 0
    table = pd.read_parquet(out / "part-0.parquet")
    assert (table["model_version"] == 1).all() and len(table) == 120
    assert not np.allclose(table[PROBA].to_numpy(), pool_scores[PROBA].to_numpy()[:120], atol=1e-6)
    assert main(["-q", "score", str(config), "--data", str(data), "--out", str(out), "--model", "v9"]) == 5
    err = capsys.readouterr().err
    assert "--model: no saved model v9 (saved: v1, v2)" in err


def test_unseen_category_is_encoded_like_a_missing_one(trained, tmp_path, capsys):
    config, folder, _ = trained
    frame = pd.read_parquet(folder / "blobs.parquet").drop(columns=["truth"]).iloc[:10]
    unseen, missing = frame.copy(), frame.copy()
    unseen["colour"] = "green"
    missing["colour"] = None
    unseen.to_parquet(tmp_path / "unseen.parquet", index=False)
    missing.to_parquet(tmp_path / "missing.parquet", index=False)
    assert main(["score", str(config), "--data", str(tmp_path / "unseen.parquet"), "--out", str(tmp_path / "o")]) == 0
    assert "10 categorical value(s) were not in the pool" in capsys.readouterr().err
    assert main(["-q", "score", str(config), "--data", str(tmp_path / "missing.parquet"),
                 "--out", str(tmp_path / "o")]) == 0
    a = pd.read_parquet(tmp_path / "o" / "unseen.parquet")[PROBA].to_numpy()
    b = pd.read_parquet(tmp_path / "o" / "missing.parquet")[PROBA].to_numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)


def _bad(frame: pd.DataFrame, case: str) -> pd.DataFrame:
    frame = frame.copy()
    if case == "missing":
        return frame.drop(columns=["noise"])
    if case == "typo":
        return frame.rename(columns={"colour": "color"})
    if case == "type":
        frame["x"] = frame["x"].astype(str)
        frame.loc[3, "x"] = "bright"
        return frame
    if case == "id":
        return frame.drop(columns=["obj"])
    if case == "inf":
        frame.loc[2, "y"] = np.inf
        return frame
    raise AssertionError(case)


@pytest.mark.parametrize("case, fmt, needle", [
    ("missing", "parquet", "data.features.numeric: column 'noise' not found"),
    ("typo", "csv", "data.features.categorical: column 'colour' not found (did you mean 'color'?)"),
    ("type", "parquet", "data.features.numeric: column 'x' holds non-numeric values (1 row(s), e.g. 'bright')"),
    ("type", "csv", "data.features.numeric: column 'x' holds non-numeric values (1 row(s), e.g. 'bright')"),
    ("id", "parquet", "data.id_column: column 'obj' not found"),
    ("inf", "parquet", "data.features.numeric: column 'y' has 1 infinite value(s)"),
])
def test_bad_input_is_one_line_naming_the_file_and_column(trained, tmp_path, capsys, case, fmt, needle):
    config, folder, _ = trained
    frame = _bad(pd.read_parquet(folder / "blobs.parquet").drop(columns=["truth"]).iloc[:20], case)
    data = tmp_path / "in"
    data.mkdir()
    pd.read_parquet(folder / "blobs.parquet").iloc[20:30].to_parquet(data / "a-good.parquet", index=False)
    path = data / f"b-bad.{fmt}"
    frame.to_parquet(path, index=False) if fmt == "parquet" else frame.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["-q", "score", str(config), "--data", str(data), "--out", str(out)]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"alabel: error: {path}: ") and needle in err
    # No half-written output for the bad file.
    assert not (out / "b-bad.parquet").exists()
    assert not [p for p in out.glob(".*.tmp")] if out.exists() else True


def test_bad_arguments(trained, tmp_path, capsys):
    config, folder, _ = trained
    assert main(["-q", "score", str(config), "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 3
    assert "nope: --data: no such file or folder" in capsys.readouterr().err
    assert main(["-q", "score", str(config), "--data", str(folder / "blobs.parquet"), "--out", str(tmp_path / "o"),
                 "--model", "latest"]) == 2
    assert "--model: 'latest' is not a model version" in capsys.readouterr().err
    assert main(["-q", "score", str(config), "--out", str(tmp_path / "o.parquet"), "--model", "v1"]) == 2
