"""``alabel init`` on every shipped example data set: the config loads and selects the shipped features."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alabel.core.config import SessionConfig
from alabel.core.scaffold import propose, write_config
from alabel.dashboard.cli import main

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "example_data"

#: Where init's choice differs from the shipped config on purpose, and why.
DIFFERENCES = {
    # The shipped config leaves `day` (day of the month) out by judgement: it is a number like
    # `month` and `year`, and nothing in the data says it is useless, so init keeps it.
    "portal_rodents": {"numeric": {"day"}},
}


def _feature_sets(config: SessionConfig) -> dict[str, set[str]]:
    f = config.data.features
    return {"numeric": set(f.numeric), "categorical": set(f.categorical), "arrays": set(f.arrays),
            "embeddings": {e.column for e in f.embeddings}}


@pytest.mark.parametrize("name", ["ogle3", "portal_rodents", "digits", "icd10"])
def test_init_selects_the_shipped_features(tmp_path, name):
    shipped = SessionConfig.load(EXAMPLES / f"{name}.yaml")
    data = [s.path for s in shipped.data.sources]
    out = write_config(propose(data), tmp_path / "config.yaml")
    generated = SessionConfig.load(out)  # loads as it is
    got, want = _feature_sets(generated), _feature_sets(shipped)
    for kind, extra in DIFFERENCES.get(data[0].stem, {}).items():
        assert extra <= got[kind] - want[kind]
        got[kind] -= extra
    assert got == want
    assert generated.data.id_column == shipped.data.id_column
    assert generated.data.ground_truth == shipped.data.ground_truth
    assert set(generated.class_names) == set(shipped.class_names)
    # Everything the shipped config hides (ids, finer labels) is hidden too.
    assert set(shipped.data.hidden) <= set(generated.data.hidden)
    # A light-curve reconstruction (OGLE) is domain knowledge init cannot guess from the columns:
    # every other detail the shipped config shows, init proposes too.
    shipped_detail = {d.column for d in shipped.data.detail if d.kind != "light_curve"}
    assert shipped_detail <= {d.column for d in generated.data.detail}
    assert [s.path.resolve() for s in generated.data.sources] == [p.resolve() for p in data]


def test_init_command_prints_its_reasons_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "config.yaml"
    assert main(["init", str(EXAMPLES / "ogle3_variable_stars.parquet"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "id column: id (a distinct value in every row, named id)" in text
    assert "hidden while labelling: subtype: alone predicts label" in text
    assert "left out: period_days: in the same order as log10_period" in text
    assert "left out: ra: a position" in text
    written = out.read_text()
    assert "# ogle_id: named like an identifier" in written  # the reasons are in the file too
    assert "{name: RCB, color: '#000000', key: '8'}  # 18 rows" in written
    assert main(["init", str(EXAMPLES / "ogle3_variable_stars.parquet"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"alabel: error: {out}: already exists; choose another --out or pass --force to replace it"


def test_init_digits_uses_the_digit_keys(tmp_path):
    out = write_config(propose([EXAMPLES / "digits.parquet"]), tmp_path / "c.yaml")
    classes = SessionConfig.load(out).classes
    assert [(c.name, c.key) for c in classes] == [(str(i), str(i)) for i in range(10)]
    assert yaml.safe_load(out.read_text())["data"]["detail"] == [{"column": "image_path", "kind": "image"}]
