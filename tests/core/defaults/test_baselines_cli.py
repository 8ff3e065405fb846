"""``alabel simulate CONFIG --baselines`` end to end on a small budget, and the tables behind it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from session_fixtures import config_dict, write_table
from threadpoolctl import threadpool_limits

from alabel.core.evaluation.baselines import (
    DEFAULT_NAME,
    baseline_methods,
    comparison_table,
    margins,
    markdown_table,
)
from alabel.dashboard.cli import main


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


def _default_config(tmp_path):
    write_table(tmp_path, n=150)
    cfg = config_dict()
    for key in ("head", "strategy"):
        cfg.pop(key)
    cfg["loop"] = {"batch_size": 10}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def baselines_run(tmp_path_factory):
    """One ``simulate --baselines`` run (the slowest part), read by the tests below."""
    import contextlib
    import io

    tmp_path = tmp_path_factory.mktemp("baselines")
    config = _default_config(tmp_path)
    out = tmp_path / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["-q", "simulate", str(config), "--baselines", "--budget", "20", "--seeds", "1",
                     "--out", str(out)])
    assert code == 0
    return out, printed.getvalue()


def test_baselines_end_to_end(baselines_run):
    out, printed = baselines_run
    assert "default = the config's session (auto head, auto strategy)" in printed
    curve = pd.read_csv(out / "curve.csv")
    methods = [DEFAULT_NAME] + [m.name for m in baseline_methods()]
    assert list(pd.unique(curve["method"])) == methods
    # Same split for every method: the baselines share their 10 random start labels.
    baselines = curve[curve["method"] != DEFAULT_NAME]
    assert set(baselines.groupby("method")["labels"].min()) == {10}
    assert curve.groupby("method")["labels"].max().eq(20).all()
    mine = curve[curve["method"] == DEFAULT_NAME]
    assert mine["head_choice"].notna().all()
    # The auto strategy explores its first 20 labels by coverage; audit picks start after them.
    assert (mine["estimate_n"] == 0).all(), "no audit pick during the cold start"
    table = (out / "baselines.md").read_text()
    assert "| blobs | default |" in table and "hist_gradient_boosting+entropy" in table
    assert "Head chosen by the default" in table
    assert (out / "baselines.png").stat().st_size > 10_000


def test_baselines_refuse_strategy_overrides(tmp_path, capsys):
    config = _default_config(tmp_path)
    code = main(["-q", "simulate", str(config), "--baselines", "--strategy", "margin", "--budget", "20",
                 "--out", str(tmp_path / "x")])
    assert code == 2
    assert "--strategy: not with --baselines" in capsys.readouterr().err


def _curve():
    rows = []
    for seed in (0, 1):
        for method, accs in {"default": (0.8, 0.95), "a+random": (0.7, 0.9), "b+margin": (0.85, 0.97)}.items():
            for labels, acc in zip((20, 50), accs):
                rows.append({"method": method, "seed": seed, "labels": labels, "accuracy": acc + 0.01 * seed,
                             "balanced_accuracy": acc - 0.1})
    return pd.DataFrame(rows)


def test_tables_compare_the_default_with_the_best_baseline():
    curve = _curve()
    table = comparison_table(curve)
    assert list(pd.unique(table["method"])) == ["default", "a+random", "b+margin"]
    row = table[(table["method"] == "default") & (table["labels"] == 20)].iloc[0]
    assert row["accuracy_mean"] == pytest.approx(0.805) and row["seeds"] == 2
    gap = margins(curve)
    assert list(gap["best_baseline"]) == ["b+margin", "b+margin"]
    np.testing.assert_allclose(gap["margin"], [-0.05, -0.02])
    # Paired by seed: the default trails b+margin by exactly 0.05 on both seeds at 20 labels.
    np.testing.assert_allclose(gap["margin_se"], [0.0, 0.0], atol=1e-12)
    assert list(gap["seeds_won"]) == [0, 0] and list(gap["seeds"]) == [2, 2]
    lucky = curve.copy()
    lucky.loc[(lucky["method"] == "default") & (lucky["seed"] == 1) & (lucky["labels"] == 20), "accuracy"] = 0.9
    gap = margins(lucky)
    assert gap["seeds_won"].iloc[0] == 1 and gap["margin_se"].iloc[0] == pytest.approx(0.045)
    text = markdown_table(curve, title="toy")
    assert text.splitlines()[2].startswith("| toy | default | 0.805 ± 0.007")
    assert "**0.855 ± 0.007**" in text  # the best mean of a budget is in bold


def test_baselines_take_the_batch_size_from_the_config(tmp_path, monkeypatch):
    """One default for batch_size (loop.batch_size): the CLI no longer substitutes 10."""
    import alabel.core.evaluation.simulate as simulate

    write_table(tmp_path, n=150)
    cfg = config_dict()
    cfg["loop"] = {"batch_size": 7}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    batches = []

    def fake_session_run(config, pool, truth, strategy, seed, pool_rows, test_rows, plan, *args, **kwargs):
        batches.append(plan.batch_size or config.loop.batch_size)  # what _simulate_one uses
        return []

    monkeypatch.setattr(simulate, "_simulate_one", fake_session_run)
    monkeypatch.setattr("alabel.core.evaluation.baselines.run_random_baseline",
                        lambda *a, **k: pd.DataFrame(columns=["method", *simulate.CURVE_COLUMNS]))
    monkeypatch.setattr("alabel.core.evaluation.baselines.write_report",
                        lambda *a, **k: dict.fromkeys(("curve", "table", "plot"), "x"))
    monkeypatch.setattr("alabel.core.evaluation.baselines.report_text", lambda *a, **k: "")
    monkeypatch.setattr("alabel.core.evaluation.baselines.margins", lambda *a, **k: pd.DataFrame({"margin": []}))
    main(["-q", "simulate", str(path), "--baselines", "--budget", "20", "--seeds", "1",
          "--out", str(tmp_path / "o")])
    assert batches and set(batches) == {7}
def test_baselines_give_every_run_its_own_store(baselines_run):
    """Two heads with one strategy used to write labels-margin-seed0.sqlite in turn (the second
    replaced the first); each method now has a folder of its own."""
    from alabel.core.labels import LabelStore

    out, _ = baselines_run
    stores = sorted(p.relative_to(out / "stores").as_posix() for p in (out / "stores").rglob("*.sqlite"))
    model_driven = [m.name for m in baseline_methods() if not m.name.endswith("+random")]
    assert stores == sorted([f"{DEFAULT_NAME}/labels-auto-seed0.sqlite"]
                            + [f"{name.replace('+', '_')}/labels-{name.split('+')[1]}-seed0.sqlite"
                               for name in model_driven])
    for path in (out / "stores").rglob("*.sqlite"):
        assert LabelStore.open(path).n_labels(split=None, sources=None) == 20
