"""The labelling page on a Dask pool (no server, no browser): query, label, detail, scatter, finder."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from dash_fixtures import config_dict, wait_for, write_table

from alabel.core.config import SessionConfig
from alabel.core.data.dask_pool import dask_client
from alabel.core.data.dask_session_pool import open_dask_pool
from alabel.core.session import Session
from alabel.dashboard.app import _script_access, build_page
from alabel.dashboard.filters import Filter
from alabel.dashboard.hub import ServerHub

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with dask_client(None, n_workers=1, memory_limit="4GB", processes=False) as c:
        yield c


@pytest.fixture
def page(tmp_path, client, request):
    """The default layout's page of a tab on a 2,400-row pool in four partitions.

    The scatter is rasterised by datashader only where a test asks (the fixture's parameter:
    datashade_above): its first drawing in a process compiles numba kernels for seconds.
    """
    threshold = getattr(request, "param", 50_000)
    write_table(tmp_path, n=2400)
    frame = pd.read_parquet(tmp_path / "blobs.parquet")
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, 2400, 600)):
        frame.iloc[start:start + 600].to_parquet(tmp_path / "parts" / f"part-{i}.parquet", index=False)
    cfg = config_dict(ui={"scatter": {"x": "x", "y": "y", "datashade_above": threshold}})
    cfg["data"]["sources"] = [{"path": "parts"}]
    cfg["data"]["backend"] = "dask"
    path = tmp_path / "dask.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    config = SessionConfig.load(path)
    hub = ServerHub(path, session=Session(config, pool=open_dask_pool(config, client), persist_models=True),
                    workers=2)
    page = build_page(hub, args={}, cookies={}, layout="default", access=_script_access(), schedule=None)
    assert wait_for(lambda: page.state.current is not None, timeout=30), page.state.message
    yield page, frame
    page.dispose()
    page.state.close()
    hub.close()


def _component(page, name):
    return next(c for c in page.components if type(c).__name__ == name)


def test_label_then_next_query_from_the_new_model(page):
    page, frame = page
    state = page.state
    truth = frame.set_index(frame["obj"].astype(str))["truth"]
    for _ in range(6):
        shown = state.current.item
        state.label(str(truth[shown.object_id]))
        assert wait_for(lambda: state.current is not None and state.current.item.object_id != shown.object_id,
                        timeout=20), state.message
    session = state.session
    assert session.n_labels() == 6
    model = session.wait_for_model(timeout=30)  # retrained off the labelling path, ranked on the cluster
    assert wait_for(lambda: state.model_version == model.version, timeout=20)
    assert wait_for(lambda: len(state.queue.upcoming) > 0  # the queued batch: from the new model's ranking
                    and all(s.item.model_version == model.version for s in state.queue.upcoming), timeout=20)
    state.label(str(truth[state.current.item.object_id]))
    assert state.current.item.model_version == model.version and state.current.item.strategy == "margin"
    assert state.message_level != "error", state.message


@pytest.mark.parametrize("page", [1000], indirect=True)
def test_detail_scatter_and_finder_read_the_dask_frame(page):
    page, frame = page
    state = page.state
    row = state.focus_row
    detail = _component(page, "DetailView")
    assert frame["name"].iloc[row] in detail.table.object  # read from the row's partition
    scatter = _component(page, "ScatterView")
    assert scatter.raster  # 2,400 points above datashade_above: datashader draws them
    assert "Dask pool: axes are data columns (PCA and encoded features are off)" in scatter.note.object
    assert wait_for(lambda: len(scatter._xs) == len(frame), timeout=20)
    np.testing.assert_allclose(scatter._xs, frame["x"].to_numpy(), rtol=1e-6)
    state.filters = [Filter("x", ">", 3.0)]
    assert list(state.matching_rows()) == list(np.flatnonzero(frame["x"].to_numpy() > 3.0))
    find = _component(page, "FindPanel")
    assert find.more.disabled and "off for Dask pools" in find.more.label
