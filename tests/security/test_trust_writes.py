"""Writes that cannot tear, and errors that are one line (issue 11, finding 5)."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from trust_fixtures import label_all, write_session

from alabel.dashboard.cli import main

ALABEL = [sys.executable, "-m", "alabel.dashboard.cli"]


def _history(config: Path) -> list[str]:
    return (config.parent / "models" / "history.jsonl").read_text().splitlines()


def test_torn_history_line_is_skipped_with_a_warning(tmp_path, capsys, caplog):
    config = write_session(tmp_path / "s")
    label_all(config)
    assert main(["-q", "train", str(config)]) == 0
    history = config.parent / "models" / "history.jsonl"
    with open(history, "a") as fh:
        fh.write('{"version": 2, "n_lab')  # a crash in the middle of an append
    capsys.readouterr()
    assert main(["-q", "score", str(config), "--out", str(tmp_path / "p.csv")]) == 0
    assert main(["-q", "query", str(config), "-n", "2", "--no-lease"]) == 0
    assert main(["-q", "train", str(config)]) == 0
    assert "history.jsonl: line 2 is torn or damaged" in caplog.text
    lines = _history(config)
    assert lines[1] == '{"version": 2, "n_lab'  # closed, not glued to the next record
    assert json.loads(lines[-1])["version"] == 2


@pytest.mark.slow
def test_two_concurrent_trains_never_share_a_version(tmp_path):
    config = write_session(tmp_path / "s")
    label_all(config)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen([*ALABEL, "-q", "train", str(config)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    versions = sorted(json.loads(line)["version"] for line in _history(config))
    assert versions == [1, 2]
    for v in versions:
        folder = config.parent / "models" / f"model-v{v:05d}.skops"
        assert sorted(p.name for p in folder.iterdir()) == ["head.json", "head.skops"]


def _fail_on(monkeypatch, name: str, error: int, under: Path):
    real = getattr(os, name)

    def failing(*args, **kwargs):
        target = args[0]
        if isinstance(target, int):  # fsync(fd): the file behind the descriptor
            target = os.readlink(f"/proc/self/fd/{target}")
        if str(target).startswith(str(under)):
            raise OSError(error, os.strerror(error), str(target))
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, failing)


@pytest.mark.parametrize("call, error", [("fsync", errno.ENOSPC), ("mkdir", errno.EROFS), ("replace", errno.ENOSPC)])
def test_disk_full_or_read_only_models_folder_is_one_line_and_nothing_half_written(
        call, error, tmp_path, capsys, monkeypatch):
    config = write_session(tmp_path / "s")
    label_all(config)
    models = config.parent / "models"
    models.mkdir()
    capsys.readouterr()
    _fail_on(monkeypatch, call, error, models)
    code = main(["-q", "train", str(config)])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and os.strerror(error) in err, err
    assert "Traceback" not in err
    leftovers = [p.name for p in models.rglob("*")]
    assert leftovers == [], leftovers  # no model folder, no history, no metrics, no temp file


def test_export_with_model_carries_the_model(tmp_path, capsys):
    config = write_session(tmp_path / "s")
    label_all(config)
    assert main(["-q", "train", str(config)]) == 0
    bundle = tmp_path / "bundle"
    assert main(["-q", "export", str(config), "--out", str(bundle), "--with-model"]) == 0
    assert (bundle / "models" / "model-v00001.skops" / "head.json").is_file()
    capsys.readouterr()
    assert main(["score", str(bundle / "config.yaml"), "--out", str(tmp_path / "p.csv")]) == 0
    captured = capsys.readouterr()
    assert "using model version 1" in captured.err and "with model version 1" in captured.out


def test_yaml_alias_bomb_is_refused_at_once(tmp_path, capsys):
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    config = tmp_path / "config.yaml"
    config.write_text("\n".join(levels) + "\ndata: *i\n")
    start = time.monotonic()
    code = main(["-q", "train", str(config)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "alias bomb" in err
    assert time.monotonic() - start < 5


def test_simulate_budget_beyond_the_pool_keeps_the_curve(tmp_path, capsys):
    config = write_session(tmp_path / "s", n=30)
    out = tmp_path / "sim"
    code = main(["-q", "simulate", str(config), "--budget", "100", "--batch-size", "5", "--initial", "4",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    curve = pd.read_csv(out / "curve.csv")
    assert len(curve) and curve["labels"].max() == 21  # 70 % of 30 rows: the whole pool
    assert (out / "curve.png").is_file()


def test_disk_full_while_scoring_leaves_no_partial_output(tmp_path, capsys, monkeypatch):
    config = write_session(tmp_path / "s")
    label_all(config)
    assert main(["-q", "train", str(config)]) == 0
    out = tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    _fail_on(monkeypatch, "fsync", errno.ENOSPC, out)
    code = main(["-q", "score", str(config), "--out", str(out / "scores.parquet")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "scores.parquet: cannot write (No space left on device)" in err
    assert list(out.iterdir()) == []


def test_disk_full_during_export_removes_the_half_bundle(tmp_path, capsys, monkeypatch):
    import shutil

    config = write_session(tmp_path / "s")
    label_all(config)

    def full(src, dst, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(shutil, "copy2", full)
    capsys.readouterr()
    code = main(["-q", "export", str(config), "--out", str(tmp_path / "bundle")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "No space left on device" in err
    assert not (tmp_path / "bundle").exists()
