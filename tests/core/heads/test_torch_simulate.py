"""End to end: ``alabel simulate`` with torch heads on the digits example."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from alabel.dashboard.cli import main

REPO = Path(__file__).resolve().parents[3]


def _digits_config(tmp_path: Path, head: dict) -> Path:
    cfg = yaml.safe_load((REPO / "example_data" / "digits.yaml").read_text())
    for source in cfg["data"]["sources"]:
        source["path"] = str(REPO / "example_data" / source["path"])
    cfg["data"]["root"] = str(REPO / "example_data")
    cfg["labels"] = {"store": "labels.sqlite", "models": "models"}
    cfg["head"] = head
    path = tmp_path / "session" / "config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.mark.parametrize("head", [
    {"type": "linear_probe", "max_epochs": 30, "warm_start": True},
    {"type": "mlp_torch", "hidden": 32, "max_epochs": 30},
], ids=lambda h: h["type"])
def test_simulate_with_a_torch_head_learns_digits(head, tmp_path):
    out = tmp_path / "sim"
    config = _digits_config(tmp_path, head)
    code = main(["-q", "simulate", str(config), "--budget", "60", "--strategy", "margin",
                 "--seed", "0", "--out", str(out)])
    assert code == 0
    curve = pd.read_csv(out / "curve.csv")
    assert set(curve["head"]) == {head["type"]}
    assert curve["labels"].max() == 60
    # 60 margin-chosen labels of 10 digit classes: well above chance (0.1).
    assert curve.sort_values("labels")["accuracy"].iloc[-1] > 0.7
