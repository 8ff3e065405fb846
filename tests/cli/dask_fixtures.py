"""What the Dask command and serve tests share: a scheduler on TCP and a partitioned session."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from tests.core.session_fixtures import config_dict, write_table


def tcp_cluster():
    """A LocalCluster listening on TCP, as a team's cluster would: the config names its address.

    memory_limit=0: a worker in the test process would measure the whole pytest process (over a
    GB late in the suite) against its limit, pause, and leave every compute waiting forever.
    """
    from distributed import LocalCluster

    return LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                        host="127.0.0.1", dashboard_address=None, memory_limit=0)


def partitioned_session(tmp_path: Path, scheduler: str, **config) -> tuple[Path, pd.DataFrame]:
    """A 2,000-row blobs table as four Parquet partitions, and a dask config on ``scheduler``."""
    write_table(tmp_path, n=2000)
    frame = pd.read_parquet(tmp_path / "blobs.parquet")
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, 2000, 500)):
        frame.iloc[start:start + 500].to_parquet(tmp_path / "parts" / f"part-{i}.parquet", index=False)
    cfg = config_dict(**config)
    cfg["data"]["sources"] = [{"path": "parts"}]
    cfg["data"]["backend"] = "dask"
    cfg["training"] = {"coalesce_s": 0.0, "scheduler": scheduler}
    path = tmp_path / "dask.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path, frame
