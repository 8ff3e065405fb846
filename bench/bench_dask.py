"""Benchmark: pools and scoring on Dask (issue 14).

1. ``alabel score`` of a pool on Dask (``data.backend: dask``) over generated
   Parquet partitions, at two pool sizes with the same partition size: the
   peak memory of each worker should follow the partition (and chunk) size,
   not the pool size. Beside it, the in-memory path at the smaller size
   (the whole table read, encoded and scored in one process, as ``Session``
   does) and the chunked one-process path (``alabel score --data``).
2. An engine session on a Dask pool: the first query (fit on the start
   labels + one ranking pass by ``map_partitions`` with a top-k merge), then
   label → next query: the next item of the current ranking (what the person
   waits for) and retrain + a fresh ranking pass (what a new model costs).

3. ``alabel serve`` on a Dask pool (``--only serve`` runs this part alone): a
   real server process on the largest pool (its own LocalCluster, the saved
   model restored: one ranking pass at start) driven by headless chromium as
   bench/bench_ui_latency.py drives the in-memory page: server start to port
   open, navigation to the first query and the datashader scatter on screen,
   then label → next query on screen (click to the banner's change) while the
   background trainer retrains and re-ranks the pool on the cluster. Beside
   it, the same clicks on a trivial Panel app in the same run.

Each measured run is its own subprocess so that peak RSS (``ru_maxrss``) is
its own. Prints Markdown tables for bench/RESULTS.md.

Run:  .venv/bin/python bench/bench_dask.py [--rows 800000] [--small 200000] [--partition 100000]
      .venv/bin/python bench/bench_dask.py --only serve --rows 800000 --partition 100000 --clicks 30
(the issue asks for 50M rows; on the 2-core machine shared by 8 agents 800k keep the run near 3 minutes)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

N_FEATURES = 16
CLASSES = ["a", "b", "c"]


def generate(folder: Path, rows: int, partition: int, seed: int = 0) -> Path:
    """``rows`` rows of 16 float32 features + a categorical, as Parquet files of ``partition`` rows."""
    parts = folder / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(len(CLASSES), N_FEATURES))
    for i, start in enumerate(range(0, rows, partition)):
        n = min(partition, rows - start)
        y = rng.integers(0, len(CLASSES), n)
        X = (centres[y] + rng.normal(size=(n, N_FEATURES))).astype(np.float32)
        frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(N_FEATURES)])
        frame.insert(0, "id", np.arange(start, start + n, dtype=np.int64))
        frame["band"] = np.array(["g", "r", "i"])[rng.integers(0, 3, n)]
        frame["truth"] = np.array(CLASSES)[y]
        frame.to_parquet(parts / f"part-{i:05d}.parquet", index=False)
    return parts


def write_session(folder: Path, parts: Path) -> Path:
    """A dask config on ``parts`` and a saved logistic-regression model (version 1) trained on 300 rows."""
    from alabel.core.data.dask_pool import DaskPool
    from alabel.core.heads.base import build_head
    from alabel.core.heads.persist import save_head
    from alabel.core.models_folder import HISTORY_FILE, model_folder_name

    cfg = {
        "name": "bench", "seed": 0,
        "data": {"sources": [{"path": str(parts)}], "id_column": "id", "backend": "dask",
                 "features": {"numeric": [f"f{j}" for j in range(N_FEATURES)], "categorical": ["band"]},
                 "ground_truth": "truth"},
        "classes": CLASSES, "head": {"type": "logistic_regression"}, "strategy": {"type": "margin"},
        "training": {"dask_workers": 2, "dask_memory_limit": "1GB"},
        "labels": {"store": str(folder / "labels.sqlite"), "models": str(folder / "models")},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    from alabel.core.config import SessionConfig

    config = SessionConfig.load(path)
    pool = DaskPool(config.data)
    rows = np.random.default_rng(1).choice(pool.n, 300, replace=False)
    X, _ = pool.rows(rows)
    head = build_head(cfg["head"], classes=CLASSES, random_state=0).fit(X, pool.column(rows, "truth").astype(str))
    models = folder / "models"
    models.mkdir(exist_ok=True)
    save_head(head, models / model_folder_name(1))
    record = {"version": 1, "n_labels": 300, "n_pseudo_labels": 0, "label_revision": 300, "train_seconds": 0.0,
              "finished_at": time.time(), "metrics": {}}
    (models / HISTORY_FILE).write_text(json.dumps(record) + "\n")
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssPeak:
    """Peak resident memory of this process above its level at ``start``, sampled every 20 ms.

    ``ru_maxrss`` alone cannot see a path's own memory when importing the
    engine already peaked higher (torch); the sampler measures the increase.
    """

    def __init__(self):
        import threading

        import psutil

        self._proc = psutil.Process()
        self._stop = threading.Event()
        self.base = self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def stop(self) -> float:
        """MB above the start level at the peak."""
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        return (self.peak - self.base) / 1024**2


# ---------------------------------------------------------------------- the measured runs
def _warm() -> float:
    """Import what a task needs (a busy machine takes seconds), then return this process's RSS so far."""
    import alabel.core.heads.sklearn_heads  # noqa: F401
    import alabel.core.predictions  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    return _peak_mb()


def run_dask(configs: list[str], outs: list[str], chunk: int, rounds: int) -> dict:
    """On one LocalCluster: ``alabel score`` at each pool size (its own code path), then the engine session.

    Workers' peak RSS is read on the workers after each size: if it does not
    grow from the small pool to the large one, memory follows the partition.
    """
    from alabel.core.config import SessionConfig
    from alabel.core.data.dask_pool import DaskPool, dask_client
    from alabel.core.predictions import saved_head_in, score_catalogue_on_dask

    out = {"score": []}
    t = SessionConfig.load(configs[0]).training
    with dask_client(None, n_workers=t.dask_workers, memory_limit=t.dask_memory_limit) as client:
        out["worker_base_mb"] = max(client.run(_warm).values())
        # Warm-up, not measured: one partition through the whole path (deserialising a head, pyarrow's pools).
        cfg = SessionConfig.load(configs[0])
        head, version = saved_head_in(cfg)
        pool = DaskPool(cfg.data, client)
        score_catalogue_on_dask(client, head, pool.encoding, pool.files[:2], outs[0] + "-warm", model_version=version,
                                chunk_rows=chunk)
        for config, target in zip(configs, outs):
            cfg = SessionConfig.load(config)
            head, version = saved_head_in(cfg)
            start = time.perf_counter()
            pool = DaskPool(cfg.data, client)
            result = score_catalogue_on_dask(client, head, pool.encoding, pool.files, target, model_version=version,
                                             chunk_rows=chunk)
            out["score"].append({"rows": result.rows, "seconds": time.perf_counter() - start,
                                 "worker_peak_mb": max(client.run(_peak_mb).values())})
        out["engine"] = _engine(SessionConfig.load(configs[-1]), client, rounds)
    return out


def _engine(cfg, client, rounds: int) -> dict:
    """Engine session on a Dask pool: first query, then label → next query (ranking) and retrain + rank."""
    from alabel.core.data.dask_pool import DaskPool
    from alabel.core.heads.base import build_head
    from alabel.core.strategies import scores

    start = time.perf_counter()
    pool = DaskPool(cfg.data, client)
    rows = list(np.random.default_rng(2).choice(pool.n, 10, replace=False))
    X, _ = pool.rows(rows)
    y = list(pool.column(rows, "truth").astype(str))
    head = build_head({"type": "logistic_regression"}, classes=CLASSES, random_state=0).fit(X, y)
    ranking, _ = pool.top_k(head, scores.margin, 50, exclude=rows)
    first = time.perf_counter() - start
    next_item, retrain = [], []
    for _ in range(rounds):
        # The person labels the top item; the next one is the ranking's next (no pass over the pool).
        t0 = time.perf_counter()
        row = int(ranking[0])
        x, _ = pool.rows([row])
        rows.append(row)
        y.append(str(pool.column([row], "truth")[0]))
        ranking = ranking[1:]
        next_item.append(time.perf_counter() - t0)
        # The new model's ranking: retrain on the labels and one map_partitions pass with a top-k merge.
        t0 = time.perf_counter()
        X = np.vstack([X, x])
        head = build_head({"type": "logistic_regression"}, classes=CLASSES, random_state=0).fit(X, y)
        ranking, _ = pool.top_k(head, scores.margin, 50, exclude=rows)
        retrain.append(time.perf_counter() - t0)
    return {"rows": pool.n, "first_query_s": first, "next_item_p95_s": float(np.percentile(next_item, 95)),
            "retrain_rank_p95_s": float(np.percentile(retrain, 95)),
            "retrain_rank_median_s": float(np.median(retrain)), "rounds": rounds}


def run_local(config: str, out: str, chunk: int) -> dict:
    """One process, no cluster: ``alabel score --data`` chunk by chunk, then the in-memory path.

    The chunked run goes first so its peak RSS is its own; the in-memory
    path (every partition read into one table, encoded and scored at once,
    as ``Session`` does) can only raise the peak after it.
    """
    from alabel.core.config import SessionConfig
    from alabel.core.data.dask_pool import DaskPool
    from alabel.core.data.encoding import FeatureEncoding
    from alabel.core.predictions import prediction_columns, saved_head_in, score_catalogue
    from alabel.core.training.retrain import predict_proba_chunked

    base = _warm()
    cfg = SessionConfig.load(config)
    head, version = saved_head_in(cfg)
    start = time.perf_counter()
    rss = RssPeak()
    pool = DaskPool(cfg.data)
    result = score_catalogue(head, pool.encoding, pool.files, out, model_version=version, chunk_rows=chunk)
    chunked = {"rows": result.rows, "seconds": time.perf_counter() - start, "peak_mb": _peak_mb(),
               "increase_mb": rss.stop()}

    files = pool.files
    start = time.perf_counter()
    rss = RssPeak()
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    enc = FeatureEncoding.from_names(cfg.data, pool.feature_names)
    X, _ = enc.encode(frame, files[0])
    table = prediction_columns(frame["id"].astype(str).to_numpy(object), predict_proba_chunked(head, X), CLASSES)
    memory = {"rows": len(table), "seconds": time.perf_counter() - start, "peak_mb": _peak_mb(),
              "increase_mb": rss.stop()}
    return {"base_mb": base, "chunked": chunked, "memory": memory}


def run_serve(config: Path, clicks: int) -> dict:
    """``alabel serve`` on the Dask config, driven by chromium (see the module docstring, part 3)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_ui_latency as ui
    from playwright.sync_api import sync_playwright

    raw = yaml.safe_load(config.read_text())
    raw["ui"] = {"scatter": {"x": "f0", "y": "f1"}}
    raw["training"]["coalesce_s"] = 0.2
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    with sync_playwright() as pw:
        browser = ui.launch_browser(pw)
        trivial = ui.measure_trivial(browser, clicks)
        start = time.perf_counter()
        server = ui.Server(config).wait_ready(timeout=600)
        port_s = time.perf_counter() - start
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            render_s = ui.first_render(page, server.url + "?annotator=bench", timeout=600)

            def button(i):
                return f".class-{CLASSES[i % len(CLASSES)]}"
            ui.time_clicks(page, 5, button=button, watch=".banner", attribute="data-object")  # warm-up
            busy: list[bool] = []
            times = ui.time_clicks(page, clicks, button=button, watch=".banner", attribute="data-object", busy=busy)
            version = page.evaluate(ui.DEEP + "() => { const el = deep('.model-version'); "
                                              "return el ? el.getAttribute('data-version') : null; }")
            page.close()
        finally:
            server.stop()
        browser.close()
    return {"port_s": port_s, "first_render_s": render_s, "clicks": times, "trivial": trivial,
            "busy_share": float(np.mean(busy)), "model_version": version}


def print_serve(serve: dict, rows: int) -> None:
    import bench_ui_latency as ui

    median, p95 = ui.summary(serve["clicks"])
    t_median, t_p95 = ui.summary(serve["trivial"])
    print("\n| `alabel serve` on a Dask pool | value |")
    print("|---|---|")
    print(f"| pool rows | {rows:,} |")
    print(f"| server start → port open (LocalCluster, ids, categories pass, saved model: one ranking pass) | "
          f"{serve['port_s']:.1f} s |")
    print(f"| navigation → first query and datashader scatter on screen | {serve['first_render_s']:.1f} s |")
    print(f"| label → next query on screen, median / p95 ({len(serve['clicks'])} clicks) | {median:.0f} / {p95:.0f} ms |")
    print(f"| share of clicks made while the trainer was retraining + re-ranking | {serve['busy_share']:.0%} |")
    print(f"| model version at the end | {serve['model_version']} |")
    print(f"| trivial Panel app, click → text change, median / p95 | {t_median:.0f} / {t_p95:.0f} ms |")


def measure(mode: str, *args) -> dict:
    """Run one mode in a fresh interpreter (its own peak RSS) and return its JSON result."""
    out = subprocess.run([sys.executable, __file__, "--run", mode, *map(str, args)], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def trivial_baseline_ms() -> float:
    """A fixed amount of numpy work, timed in the same run: read other timings as ratios of it."""
    a = np.random.default_rng(0).normal(size=(1_000_000, 16)).astype(np.float32)
    t0 = time.perf_counter()
    for _ in range(5):
        (a @ np.ones(16, np.float32)).argmax()
    return (time.perf_counter() - t0) / 5 * 1000


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=800_000)
    p.add_argument("--small", type=int, default=200_000)
    p.add_argument("--partition", type=int, default=100_000)
    p.add_argument("--chunk", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clicks", type=int, default=30, help="labels timed on the alabel serve page")
    p.add_argument("--only", choices=("all", "serve"), default="all", help="serve: only part 3 (alabel serve)")
    p.add_argument("--run", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.run:
        mode, *rest = a.run
        if mode == "dask":
            n = (len(rest) - 2) // 2
            print(json.dumps(run_dask(rest[:n], rest[n:2 * n], int(rest[-2]), int(rest[-1]))))
        else:
            print(json.dumps(run_local(rest[0], rest[1], int(rest[2]))))
        return

    began = time.perf_counter()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sizes = (a.rows,) if a.only == "serve" else (a.small, a.rows)
        configs = []
        for rows in sizes:
            folder = tmp / f"n{rows}"
            configs.append(write_session(folder, generate(folder, rows, a.partition)))
        baseline = trivial_baseline_ms()
        if a.only == "serve":
            serve = run_serve(configs[-1], a.clicks)
            load_after = os.getloadavg()
            print(f"load average before {load[0]:.2f} / after {load_after[0]:.2f}; trivial baseline "
                  f"(1M x 16 float32 matvec) {baseline:.1f} ms; partitions of {a.partition:,} rows; "
                  f"whole run {time.perf_counter() - began:.0f} s")
            print_serve(serve, a.rows)
            return
        serve = run_serve(configs[-1], a.clicks)
        dask = measure("dask", *configs, *[tmp / f"out-dask-{r}" for r in sizes], a.chunk, a.rounds)
        local = measure("local", configs[0], tmp / "out-chunked", a.chunk)
    load_after = os.getloadavg()
    results = [("alabel score on Dask (2 workers; peak of one worker)", s["rows"], s["seconds"], s["worker_peak_mb"],
                dask["worker_base_mb"], s["worker_peak_mb"] - dask["worker_base_mb"]) for s in dask["score"]]
    for key, name in (("chunked", "alabel score --data, one process, chunked"),
                      ("memory", "in memory (whole table, as Session)")):
        r = local[key]
        results.append((name, r["rows"], r["seconds"], r["peak_mb"], local["base_mb"], r["increase_mb"]))
    engine = dask["engine"]

    print(f"load average before {load[0]:.2f} / after {load_after[0]:.2f}; trivial baseline "
          f"(1M x 16 float32 matvec) {baseline:.1f} ms; partitions of {a.partition:,} rows, chunks of "
          f"{a.chunk:,}; whole run {time.perf_counter() - began:.0f} s\n")
    print("| path | rows | seconds | rows/s | peak RSS (MB) | RSS after imports (MB) | increase (MB) |")
    print("|---|---|---|---|---|---|---|")
    for name, rows, seconds, peak, base, increase in results:
        print(f"| {name} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} | {peak:.0f} | {base:.0f} | "
              f"{increase:.0f} |")
    print("\n| engine on a Dask pool | value |")
    print("|---|---|")
    print(f"| pool rows | {engine['rows']:,} |")
    print(f"| first query (fit on 10 labels + one ranking pass) | {engine['first_query_s']:.2f} s |")
    print(f"| label → next query, p95 (next item of the ranking) | {engine['next_item_p95_s'] * 1000:.0f} ms |")
    print(f"| label → retrain + fresh ranking pass, p95 / median ({engine['rounds']} rounds) | "
          f"{engine['retrain_rank_p95_s']:.2f} s / {engine['retrain_rank_median_s']:.2f} s |")
    print_serve(serve, a.rows)


if __name__ == "__main__":
    main()
