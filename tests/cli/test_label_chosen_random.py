"""``alabel label --from FILE --chosen random``: a random sample counts for the honest estimate."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from alabel.core.evaluation.estimates import chosen_at_random
from alabel.core.labels import LabelStore
from alabel.dashboard.cli import main

REPO = Path(__file__).resolve().parents[2]


def _margin_session(tmp_path: Path) -> Path:
    """The digits example with a plain margin strategy: no audit picks of its own."""
    cfg = yaml.safe_load((REPO / "example_data" / "digits.yaml").read_text())
    cfg["data"]["sources"][0]["path"] = str(REPO / "example_data" / "digits.parquet")
    cfg["data"]["root"] = str(REPO / "example_data")
    cfg["labels"] = {"store": "labels.sqlite", "models": "models"}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _random_sample(tmp_path: Path, n: int = 60) -> Path:
    table = pd.read_parquet(REPO / "example_data" / "digits.parquet")
    sample = table.sample(n, random_state=1)[["id", "label"]]
    path = tmp_path / "sample.csv"
    sample.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("chosen, biased", [("random", False), (None, True)])
def test_a_random_sample_import_gives_an_unbiased_estimate(tmp_path, capsys, chosen, biased):
    config = _margin_session(tmp_path)
    sample = _random_sample(tmp_path)
    argv = ["-q", "label", str(config), "--from", str(sample)] + (["--chosen", chosen] if chosen else [])
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert ("marked as a random sample" in said) == (chosen == "random")
    events = LabelStore.open(tmp_path / "labels.sqlite").current(split="train", sources=None)
    assert chosen_at_random(events["event_id"]).all() == (chosen == "random")
    assert main(["-q", "train", str(config)]) == 0
    out = capsys.readouterr().out
    estimate_line = next(line for line in out.splitlines() if line.startswith("estimate: "))
    assert ("BIASED" in estimate_line) == biased
    metrics = json.loads((tmp_path / "models" / "metrics.json").read_text())["metrics"]
    if chosen == "random":
        assert "60 random audit labels" in estimate_line
        assert metrics["estimate"]["source"] == "audit" and metrics["estimate"]["n"] == 60
        low, high = metrics["estimate"]["interval"]
        assert low < metrics["estimate"]["accuracy"] < high
    else:
        assert metrics["estimate"]["biased"] is True


def test_random_sample_and_strategy_labels_together(tmp_path, capsys):
    """Strategy-chosen labels on top of a random sample: the estimate stays on the sample."""
    config = _margin_session(tmp_path)
    assert main(["-q", "label", str(config), "--from", str(_random_sample(tmp_path, 40)), "--chosen",
                 "random"]) == 0
    assert main(["-q", "query", str(config), "-n", "20", "--no-lease"]) == 0
    queried = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out.split("\n", 1)[1]))
    truth = pd.read_parquet(REPO / "example_data" / "digits.parquet").set_index("id")["label"]
    picked = tmp_path / "picked.csv"
    pd.DataFrame({"id": queried["id"], "label": truth.loc[queried["id"]].to_numpy()}).to_csv(picked, index=False)
    assert main(["-q", "label", str(config), "--from", str(picked)]) == 0
    assert main(["-q", "train", str(config)]) == 0
    metrics = json.loads((tmp_path / "models" / "metrics.json").read_text())["metrics"]
    assert metrics["estimate"]["n"] == 40 and not metrics["estimate"]["biased"]
    assert np.isfinite(metrics["estimate"]["accuracy"])
