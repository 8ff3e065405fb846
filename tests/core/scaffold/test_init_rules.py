"""``alabel init``'s decisions on small tables: formats, joins, overrides and their errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alabel.core.config import SessionConfig
from alabel.core.errors import DataError
from alabel.core.scaffold import propose, write_config
from alabel.dashboard.cli import main


def _table(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(["star", "galaxy", "qso"], n)
    return pd.DataFrame({
        "obj_id": np.arange(100, 100 + n),
        "name": [f"J{i:05d}+{i % 97:02d}" for i in range(n)],
        "flux": rng.normal(size=n) + (label == "star"),
        "colour": rng.normal(size=n),
        "band": rng.choice(["g", "r", "i"], n),
        "class": label,
        "class_code": pd.Series(label).map({"star": 1, "galaxy": 2, "qso": 3}).to_numpy(),
        "spectrum": [rng.normal(size=8) for _ in range(n)],
    })


def test_a_planted_class_code_is_hidden_not_a_feature(tmp_path):
    frame = _table().drop(columns="spectrum")
    frame.to_csv(tmp_path / "t.csv", index=False)
    p = propose([tmp_path / "t.csv"])
    assert p.id_column == "obj_id" and p.ground_truth == "class"
    assert p.decisions["class_code"].role == "hidden"
    assert "alone predicts class for 100.0% of the rows" in p.decisions["class_code"].reason
    assert p.decisions["name"].role == "hidden"
    assert p.features("numeric") == ["flux", "colour"] and p.features("categorical") == ["band"]
    assert SessionConfig.load(write_config(p, tmp_path / "c.yaml")).data.hidden == ("name", "class_code")


def test_fits_arrays_and_a_second_file_joined_on_the_id(tmp_path):
    from astropy.table import Table

    frame = _table(60)
    table = Table({"obj_id": frame["obj_id"].to_numpy(), "spectrum": np.stack(frame["spectrum"]),
                   "flux": frame["flux"].to_numpy()})
    table.write(tmp_path / "spectra.fits")
    frame[["obj_id", "class", "band"]].to_parquet(tmp_path / "labels.parquet")
    p = propose([tmp_path / "spectra.fits", tmp_path / "labels.parquet"])
    assert p.features("arrays") == ["spectrum"] and p.features("categorical") == ["band"]
    config = SessionConfig.load(write_config(p, tmp_path / "sub" / "c.yaml"))
    assert [s.path.name for s in config.data.sources] == ["spectra.fits", "labels.parquet"]
    assert config.data.ground_truth == "class"


def test_text_column_is_embedded_and_shown(tmp_path):
    words = ["pain in the left knee", "fracture of the right arm bone", "infection of the upper ear canal"]
    frame = pd.DataFrame({"id": range(90), "text": [f"{words[i % 3]} case {i}" for i in range(90)],
                          "label": [["knee", "arm", "ear"][i % 3] for i in range(90)]})
    frame.to_parquet(tmp_path / "t.parquet")
    p = propose([tmp_path / "t.parquet"], featurizer="tfidf")
    assert p.features("embeddings") == ["text"] and p.detail == [("text", "text")]
    config = SessionConfig.load(write_config(p, tmp_path / "c.yaml"))
    assert config.data.features.embeddings[0].featurizer == "tfidf"


def test_overrides_and_no_ground_truth(tmp_path, capsys):
    frame = _table().drop(columns=["spectrum"])
    frame.to_parquet(tmp_path / "t.parquet")
    out = tmp_path / "c.yaml"
    assert main(["init", str(tmp_path / "t.parquet"), "--out", str(out), "--ground-truth", "",
                 "--classes", "star,galaxy,qso"]) == 0
    config = SessionConfig.load(out)
    assert config.data.ground_truth is None and config.class_names == ["star", "galaxy", "qso"]
    assert "class" in config.data.features.categorical  # no longer the ground truth: a plain column


@pytest.mark.parametrize("argv_tail, needle", [
    (["--id-column", "flux"], "--id-column: column 'flux' has missing or repeated values"),
    (["--id-column", "obj"], "--id-column: column 'obj' not found (did you mean 'obj_id'?)"),
    (["--ground-truth", "clas"], "--ground-truth: column 'clas' not found (did you mean 'class'?)"),
])
def test_override_errors_are_one_line(tmp_path, capsys, argv_tail, needle):
    _table().drop(columns="spectrum").assign(flux=1.0).to_parquet(tmp_path / "t.parquet")
    assert main(["init", str(tmp_path / "t.parquet"), "--out", str(tmp_path / "c.yaml"), *argv_tail]) == 3
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err
    assert not (tmp_path / "c.yaml").exists()


def test_no_id_column_is_an_error_naming_the_file(tmp_path):
    pd.DataFrame({"a": [1, 1, 2], "label": ["x", "y", "x"]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"t.csv: no column has a distinct value in every row"):
        propose([tmp_path / "t.csv"])
