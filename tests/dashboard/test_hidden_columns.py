"""``data.hidden``: columns that give the class away never reach the person labelling (no browser)."""
from __future__ import annotations

import pandas as pd
import yaml
from dash_fixtures import config_dict, wait_for, write_table

from alabel.dashboard.components.detail import DetailView
from alabel.dashboard.components.find import FindPanel
from alabel.dashboard.components.scatter import axis_names
from alabel.dashboard.hub import ServerHub
from alabel.dashboard.state import TabState


def test_hidden_columns_stay_out_of_detail_finder_and_axes(tmp_path):
    path = write_table(tmp_path)
    frame = pd.read_parquet(path)
    frame["catalogue_id"] = [f"CAT-{t.upper()}-{i:04d}" for i, t in enumerate(frame["truth"])]  # encodes the class
    frame["class_code"] = frame["truth"].map({"a": 1.0, "b": 2.0, "c": 3.0})
    frame.to_parquet(path, index=False)
    cfg = config_dict()
    cfg["data"]["hidden"] = ["catalogue_id", "class_code"]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    hub = ServerHub(config, workers=1)
    state = TabState(hub)
    try:
        assert wait_for(lambda: state.current is not None, timeout=30)
        detail = DetailView(state)
        assert "catalogue_id" not in detail.columns and "class_code" not in detail.columns
        assert "truth" not in detail.columns and "x" in detail.columns and "name" in detail.columns
        shown = detail.table.object
        assert "star-" in shown and "CAT-" not in shown  # the object is shown, its code is not
        finder = FindPanel(state)
        assert not {"catalogue_id", "class_code", "truth"} & set(finder.column.options)
        axes = axis_names(hub.session)
        assert "class_code" not in axes and "x" in axes
        assert hub.session.config.to_dict()["data"]["hidden"] == ["catalogue_id", "class_code"]
    finally:
        state.close()
        hub.close()
