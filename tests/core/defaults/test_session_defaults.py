"""The default session: auto head and strategy, random audit/test picks, the estimate shown to the user."""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from session_fixtures import config_dict, write_table
from threadpoolctl import threadpool_limits

from alabel.core.evaluation import estimates
from alabel.core.config import SessionConfig
from alabel.core.errors import ConfigError
from alabel.core.session import Session

# Two test labels of one class: scikit-learn's confusion-matrix warning is expected there.
pytestmark = pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


def _config(tmp_path, *, drop=("head", "strategy"), labels=None, **overrides) -> SessionConfig:
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_table(tmp_path, n=300)
    cfg = config_dict(**overrides)
    for key in drop:
        cfg.pop(key, None)
    cfg["loop"].pop("initial_labels", None)
    cfg["labels"].update(labels or {})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return SessionConfig.load(path)


def _teach(session, items):
    rows = np.array([item.row for item in items])
    for split in ("train", "test"):
        part = [item.row for item in items if item.split == split]
        if part:
            session.teach_many(session.pool.ids[part], session.pool.ground_truth[part], split=split)
    return rows


def test_a_config_without_head_or_strategy_gets_the_auto_defaults(tmp_path):
    config = _config(tmp_path)
    assert config.head == {"type": "auto"} and config.strategy == {"type": "auto"}
    assert config.loop.initial_labels == 0
    assert estimates.audit_fraction_for(config) == estimates.DEFAULT_AUDIT_FRACTION
    assert "audit_fraction" not in config.to_dict()["labels"]  # the default stays implicit


def test_named_strategies_keep_their_queries_unless_asked(tmp_path):
    config = _config(tmp_path, drop=())
    assert config.strategy == {"type": "margin"}
    assert estimates.audit_fraction_for(config) == 0.0
    explicit = _config(tmp_path / "b", drop=(), labels={"audit_fraction": 0.2})
    assert estimates.audit_fraction_for(explicit) == 0.2
    assert explicit.to_dict()["labels"]["audit_fraction"] == 0.2


@pytest.mark.parametrize("value, hint", [(0.8, "between"), ("tenth", "number")])
def test_bad_audit_fraction_names_the_key(tmp_path, value, hint):
    with pytest.raises(ConfigError, match=f"labels.audit_fraction.*{hint}"):
        _config(tmp_path, labels={"audit_fraction": value})


def test_first_queries_cover_the_data_then_one_in_ten_is_an_audit_pick(tmp_path):
    with Session(_config(tmp_path), background=False) as session:
        items = session.query(10, lease=False)
        # Cold start (the auto strategy's first 20 labels): coverage only, no audit pick.
        assert [item.strategy for item in items] == ["auto"] * 10
        assert "no model yet" in items[0].reason
        # The three blobs are covered by the first batch (random picks would often miss one).
        assert len({session.pool.ground_truth[i.row] for i in items}) == 3
        _teach(session, items)
        session.retrain()
        second = session.query(10, lease=False)
        assert [item.strategy for item in second] == ["auto"] * 10
        assert not session.planner.in_audit[[i.row for i in items + second]].any()
        _teach(session, second)
        session.retrain()
        third = session.query(10, lease=False)
        assert [item.strategy for item in third].count("audit") == 1
        audit = [item for item in third if item.strategy == "audit"][0]
        assert session.planner.in_audit[audit.row] and audit.split == "train"
        assert not session.planner.in_audit[[i.row for i in third if i.strategy == "auto"]].any()


def test_model_metrics_carry_the_head_choice_and_an_honest_estimate(tmp_path):
    with Session(_config(tmp_path), background=False) as session:
        for _ in range(6):
            _teach(session, session.query(10, lease=False))
            model = session.retrain()
        assert model.n_labels == 60
        choice = model.metrics["head_choice"]
        assert choice["chosen"] in ("logistic_regression", "hist_gradient_boosting", "random_forest", "ensemble")
        assert set(choice["scores"]) >= {"logistic_regression", "hist_gradient_boosting"}
        est = model.metrics["estimate"]
        # One audit label per ten after the 20 labels of the cold start.
        assert est["source"] == "audit" and est["n"] == 4 and not est["biased"]
        low, high = est["interval"]
        assert low <= est["accuracy"] <= high
        assert session.history[-1]["metrics"]["estimate"] == est


def test_without_audit_labels_the_estimate_says_it_is_biased(tmp_path):
    config = _config(tmp_path, drop=(), labels={"audit_fraction": 0.0})
    with Session(config, background=False) as session:
        rows = np.arange(0, 300, 10)
        session.teach_many(session.pool.ids[rows], session.pool.ground_truth[rows])
        est = session.retrain().metrics["estimate"]
        assert est["source"] == "out-of-fold" and est["biased"]


def test_test_fraction_sends_random_picks_to_the_test_split(tmp_path):
    config = _config(tmp_path, drop=(), labels={"test_fraction": 0.2})
    with Session(config, background=False) as session:
        items = session.query(10, lease=False)
        tests = [item for item in items if item.split == "test"]
        assert len(tests) == 2 and all(item.strategy == "test" for item in tests)
        _teach(session, items)
        assert len(session.labels("test")) == 2 and len(session.labels("train")) == 8
        model = session.retrain()
        assert model.metrics["evaluation"] == "test"
        assert model.metrics["estimate"]["source"] == "test" and model.metrics["estimate"]["n"] == 2
        # The share stays on target: 2 of the next 10 again.
        assert sum(item.split == "test" for item in session.query(10, lease=False)) == 2


def test_leased_queries_still_hold_the_audit_share(tmp_path):
    config = _config(tmp_path, drop=("head",), strategy={"type": "auto", "params": {"explore_labels": 0}})
    with Session(config, background=False, annotator="ann") as session:
        items = session.query(10)
        assert len(items) == 10 and sum(item.strategy == "audit" for item in items) == 1
        other = session.query(10, annotator="bob")
        assert not {i.object_id for i in items} & {i.object_id for i in other}


_TWO_BATCHES = """
import sys, numpy as np
from alabel.core.config import SessionConfig
from alabel.core.session import Session
with Session(SessionConfig.load(sys.argv[1]), background=False) as session:
    for _ in range(2):
        items = session.query(10, lease=False)
        rows = [item.row for item in items]
        session.teach_many(session.pool.ids[rows], session.pool.ground_truth[rows])
        session.retrain()
    print(sorted(item.row for item in session.query(10, lease=False)))
"""


def test_same_seed_same_queries_whatever_the_string_hashing(tmp_path):
    """Labelled ids come from the store as a set, ordered by Python's per-process string hash."""
    import os
    import subprocess
    import sys

    _config(tmp_path)
    picks = []
    for hash_seed in ("1", "2"):
        raw = yaml.safe_load((tmp_path / "config.yaml").read_text())
        raw["labels"]["store"] = str(tmp_path / f"labels-{hash_seed}.sqlite")
        config_path = tmp_path / f"config-{hash_seed}.yaml"
        config_path.write_text(yaml.safe_dump(raw))
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": "1"}
        out = subprocess.run([sys.executable, "-c", _TWO_BATCHES, str(config_path)], env=env,
                             capture_output=True, text=True, timeout=120, check=True)
        picks.append(out.stdout.strip().splitlines()[-1])
    assert picks[0] == picks[1]
