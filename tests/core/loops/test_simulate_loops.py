"""``alabel simulate --loop``: human labels on the x axis, pseudo-labels and their precision beside."""
from __future__ import annotations

import pandas as pd
import pytest
from session_fixtures import write_config

from alabel.dashboard.cli import main


@pytest.fixture(scope="module")
def curve(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")
    config = write_config(folder, n=240)
    out = folder / "out"
    code = main(["-q", "simulate", str(config), "--budget", "21", "--loop", "self-training",
                 "--loop", "aspl", "--loop", "active", "--loop-param", "max_ratio=3", "--out", str(out)])
    assert code == 0
    return pd.read_csv(out / "curve.csv")


def test_curve_counts_human_labels_and_reports_pseudo_labels_with_precision(curve):
    # --loop-param goes to the loops that take it: not to active.
    assert set(curve["loop"]) == {"self_training(max_ratio=3)", "aspl(max_ratio=3)", "active"}
    for _, part in curve.groupby("loop"):
        assert part["labels"].tolist() == [6, 11, 16, 21], "labels = human labels, round by round"
    pseudo = curve[curve["loop"].str.startswith(("self_training", "aspl"))]
    assert (pseudo["pseudo_labels"] > 0).any()
    used = pseudo[pseudo["pseudo_labels"] > 0]
    assert used["pseudo_precision"].between(0, 1).all()
    # max_ratio=3: never more pseudo-labels than three per human label
    assert (pseudo["pseudo_labels"] <= 3 * pseudo["labels"]).all()
    none = curve[curve["pseudo_labels"] == 0]
    assert none["pseudo_precision"].isna().all(), "no pseudo-labels: precision is undefined, not 0"


def test_loop_options_are_checked_before_any_work(tmp_path, capsys):
    config = write_config(tmp_path, n=60)
    assert main(["-q", "simulate", str(config), "--loop", "self-trianing", "--out", str(tmp_path / "o")]) == 2
    assert "did you mean 'self_training'" in capsys.readouterr().err
    assert main(["-q", "simulate", str(config), "--loop", "aspl", "--loop-param", "lam",
                 "--out", str(tmp_path / "o")]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["-q", "simulate", str(config), "--loop", "aspl", "--loop-param", "tau=0.9",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--loop: loop.params.tau: unknown parameter" in capsys.readouterr().err
    assert not (tmp_path / "o" / "curve.csv").exists()
