"""Benchmark: what holds an ``alabel serve`` process's memory on a Dask pool, per pool row (issue 14).

The server on a Dask pool keeps no features, but it keeps one value (or more)
per row: this walks the steps ``alabel serve`` takes (the pool, the session,
the hub with the restored model, one tab's page) in one process on a
LocalCluster of worker processes (their memory is not this process's), and
after each step reports the process's RSS above the start (after
``malloc_trim``, so freed memory is not counted), the peak RSS during the step
(sampled every 20 ms: transient copies), and the sizes of the per-row objects
that step keeps (``sys.getsizeof`` over every element of object arrays, numpy
``nbytes``, pandas ``memory_usage(deep=True)``).

Run (a pool made by bench_dask.py --workdir; N rows = its first files):
    .venv/bin/python bench/bench_dask_memory.py /work/tmp-bench/n3000000-p500000/config.yaml
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dask import RssPeak  # noqa: E402


def _rss_mb() -> float:
    import psutil

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return psutil.Process().memory_info().rss / 1024**2


def object_bytes(values) -> int:
    """Bytes an object array holds: its pointers plus every distinct element object (shared ones once)."""
    arr = np.asarray(values, dtype=object)
    seen = {}
    for v in arr:
        seen.setdefault(id(v), sys.getsizeof(v))
    return arr.nbytes + sum(seen.values())


def index_bytes(index: pd.Index) -> int:
    """An Index's values (deep) and its hash table, if built."""
    total = int(index.memory_usage(deep=True))
    return total


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("config", type=Path)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="1GB")
    p.add_argument("--json", type=Path, help="write the steps as JSON here")
    p.add_argument("--wait", type=float, default=300, help="longest wait for the new model (s)")
    a = p.parse_args()

    from alabel.core.config import SessionConfig
    from alabel.core.data.dask_pool import DaskPool, dask_client
    from alabel.core.data.dask_session_pool import DaskSessionPool
    from alabel.core.session import Session
    from alabel.dashboard.app import _script_access, build_page
    from alabel.dashboard.hub import ServerHub

    steps = []
    sizes: dict[str, int] = {}
    start = _rss_mb()
    last = start

    def step(name, fn):
        nonlocal last
        rss = RssPeak()
        t0 = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t0
        peak = rss.stop()
        now = _rss_mb()
        steps.append({"step": name, "seconds": round(seconds, 1), "kept_mb": round(now - last, 1),
                      "peak_above_before_mb": round(peak, 1), "rss_mb": round(now, 1)})
        print(f"{name}: kept {now - last:+.0f} MB, peak +{peak:.0f} MB during, {seconds:.1f} s, RSS {now:.0f} MB",
              flush=True)
        last = now
        return out

    config = SessionConfig.load(a.config)
    t = config.training
    client = step("LocalCluster (worker processes)",
                  lambda: dask_client(t.scheduler, n_workers=a.workers, memory_limit=a.memory_limit))
    dpool = step("DaskPool: file metadata + categories pass", lambda: DaskPool(config.data, client))
    n = dpool.n
    pool = step("DaskSessionPool: ids, id index, ground truth", lambda: DaskSessionPool(dpool))
    pool._owns_client = True
    sizes["pool.ids (object array of str)"] = (pool.ids.nbytes if not isinstance(pool.ids, np.ndarray)
                                               else object_bytes(pool.ids))
    if pool.ground_truth is not None:
        sizes["pool.ground_truth (object array)"] = object_bytes(pool.ground_truth)
    step("pool index (first index_of)", lambda: pool.index_of([pool.ids[0]]))
    if getattr(pool, "_index", None) is not None:
        sizes["pool._index values (deep)"] = index_bytes(pool._index)
    session = step("Session (store claim, row index, planner)",
                   lambda: Session(config, pool=pool, persist_models=True, process_leases=True))
    # Before wip-dask-mem the session and its planner each kept an index of the ids (a hash table
    # built on first use); after it, both look rows up in the pool's.
    for owner, name in ((session, "session"), (session.planner, "planner")):
        if hasattr(owner, "_row_index"):
            sizes[f"{name}._row_index values (deep)"] = index_bytes(owner._row_index)
            step(f"{name}._row_index hash table", lambda o=owner: o._row_index.get_indexer([pool.ids[0]]))
    if hasattr(pool.ids, "nbytes") and not isinstance(pool.ids, np.ndarray):
        sizes["pool.ids (IntegerIds: int64 values + sort order)"] = sizes.pop("pool.ids (object array of str)")
    for name, value in vars(session.planner).items():
        if isinstance(value, np.ndarray) and len(value) == n:
            sizes[f"planner.{name} ({value.dtype})"] = object_bytes(value) if value.dtype == object else value.nbytes
    hub = step("ServerHub: restore the saved model (one ranking pass on the cluster)",
               lambda: ServerHub(a.config, session=session, workers=2))
    model = session.model
    if model is not None and model.proba is not None:
        sizes[f"model.proba {model.proba.dtype} {model.proba.shape}"] = model.proba.nbytes
    for name, value in vars(session).items():
        if isinstance(value, np.ndarray) and len(value) == n:
            sizes[f"session.{name} ({value.dtype})"] = object_bytes(value) if value.dtype == object else value.nbytes

    def page():
        from bench_dask import CLASSES  # noqa: F401

        pg = build_page(hub, args={}, cookies={}, layout="default", access=_script_access(), schedule=None)
        deadline = time.time() + 900
        while pg.state.current is None and time.time() < deadline:
            time.sleep(0.5)
        scatter = next((c for c in pg.components if type(c).__name__ == "ScatterView"), None)
        while scatter is not None and len(getattr(scatter, "_xs", ())) < n and time.time() < deadline:
            time.sleep(0.5)
        return pg, scatter

    def report_sizes():
        print("\n| object | MB | bytes per row |\n|---|---:|---:|")
        for name, b in sizes.items():
            print(f"| {name} | {b / 1024**2:.0f} | {b / n:.1f} |")
        print(flush=True)

    pg, scatter = step("a tab's page: first query + scatter axes", page)
    if scatter is not None:
        for name, value in vars(scatter).items():
            if isinstance(value, np.ndarray) and len(value) == n:
                sizes[f"scatter.{name} ({value.dtype})"] = value.nbytes
            elif isinstance(value, pd.DataFrame) and len(value) == n:
                sizes[f"scatter.{name} (DataFrame)"] = int(value.memory_usage(deep=True).sum())
    for name, value in vars(pg.state).items():
        if isinstance(value, np.ndarray) and len(value) == n:
            sizes[f"state.{name} ({value.dtype})"] = value.nbytes

    report_sizes()

    def label_and_retrain():
        # Six labels (a fit needs two classes), then the new model's ranking pass and the page's redraw.
        state = pg.state
        version = session.model.version if session.model else 0
        for _ in range(6):
            shown = state.current.item
            state.label(str(pool.ground_truth[pool.index_of([shown.object_id])[0]]))
            deadline = time.time() + 60
            while (state.current is None or state.current.item.object_id == shown.object_id) \
                    and time.time() < deadline:
                time.sleep(0.2)
        deadline = time.time() + a.wait
        while (session.model is None or session.model.version == version) and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(5)  # the page redraws with the new model
        return session.model.version if session.model else None
    version = step("six labels → retrain + ranking pass + page update", label_and_retrain)
    print(f"model version after the labels: {version}")

    total = _rss_mb() - start
    print(f"\npool rows {n:,}; RSS above start {total:.0f} MB = {total * 1024**2 / n:.0f} B/row")
    print("\n| step | seconds | kept (MB) | kept per row (B) | peak during, above the step's start (MB) |")
    print("|---|---:|---:|---:|---:|")
    for s in steps:
        print(f"| {s['step']} | {s['seconds']} | {s['kept_mb']:.0f} | {s['kept_mb'] * 1024**2 / n:.0f} | "
              f"{s['peak_above_before_mb']:.0f} |")
    if a.json:
        a.json.write_text(json.dumps({"rows": n, "rss_above_start_mb": total, "steps": steps,
                                      "sizes_bytes": sizes}, indent=1))
    pg.dispose()
    pg.state.close()
    hub.close()


if __name__ == "__main__":
    main()
