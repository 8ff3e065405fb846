"""``alabel simulate`` prints what the default chose and the honest estimate, not only curve.csv."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from session_fixtures import config_dict, write_table  # noqa: E402

from alabel.core.evaluation.simulate import format_summary, summarise  # noqa: E402
from alabel.dashboard.cli import main  # noqa: E402


def test_simulate_prints_the_head_choice_and_the_audit_estimate(tmp_path, capsys):
    write_table(tmp_path, n=300)
    cfg = config_dict()
    for key in ("head", "strategy"):
        cfg.pop(key)  # the defaults: auto head, auto strategy, audit labels
    cfg["loop"] = {"batch_size": 10}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = tmp_path / "sim"
    assert main(["-q", "simulate", str(tmp_path / "config.yaml"), "--budget", "60", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    header = next(line for line in printed if "held-out accuracy" in line)
    assert "head chosen (auto)" in header and "audit estimate (95 % interval, labels)" in header
    curve = pd.read_csv(out / "curve.csv")
    last = curve[curve["labels"] == 60].iloc[0]
    row = next(line for line in printed if line.split()[:4] == ["auto", "active", "auto", "60"])
    assert str(last["head_choice"]) in row
    assert f"{last['estimate_accuracy']:.3f} ({last['estimate_low']:.3f}-{last['estimate_high']:.3f}, " \
           f"n={last['estimate_n']:.0f})" in row
    assert last["estimate_n"] > 0


def test_summary_without_auto_head_or_audit_labels_keeps_its_columns():
    curve = pd.DataFrame({"seed": [0, 1], "strategy": "margin", "head": "logistic_regression", "labels": 20,
                          "accuracy": [0.8, 0.9], "balanced_accuracy": [0.7, 0.8], "loop": "active",
                          "pseudo_labels": 0, "head_choice": None, "estimate_accuracy": float("nan")})
    text = format_summary(summarise(curve, [20]))
    assert "0.850 ± 0.071" in text and "head chosen" not in text and "audit estimate" not in text
