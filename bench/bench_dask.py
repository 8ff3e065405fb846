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
      .venv/bin/python bench/bench_dask.py --only score --workdir /work/tmp-bench --sizes 10000000 50000000 \
          --partition 500000 --chunk 100000 --local-rows 10000000 --csv bench/results/dask_score_50m.csv
(the issue asks for 50M rows; on the 2-core machine shared by 8 agents 800k keep the run near 3 minutes.
With --workdir the generated pools are kept there and reused; a smaller size is the first files of the
largest pool, linked, so every size has the same partitions.)
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
#: Longest wait for the server's port and for the first query on screen (a 50M-row start is minutes).
SERVE_TIMEOUT_S = 1500


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


def pools(root: Path, sizes: list[int], partition: int) -> list[Path]:
    """One ``parts`` folder per size under ``root``: the largest generated (once), the others its first files.

    A smaller pool is a prefix of the largest one (symbolic links to its first
    files), so every size has the same partitions and only the largest is written.
    """
    largest = max(sizes)
    if any(size % partition for size in sizes):
        raise SystemExit("every size must be a multiple of --partition (the smaller pools are the first files)")
    full = root / f"n{largest}-p{partition}"
    done = full / "parts" / ".complete"
    if not done.exists():
        t0 = time.perf_counter()
        generate(full, largest, partition)
        done.write_text(f"{largest} rows in {time.perf_counter() - t0:.0f} s\n")
    out = []
    for size in sizes:
        if size == largest:
            out.append(full / "parts")
            continue
        parts = root / f"n{size}-p{partition}" / "parts"
        if not parts.exists():
            parts.mkdir(parents=True)
            for i in range(size // partition):
                (parts / f"part-{i:05d}.parquet").symlink_to(full / "parts" / f"part-{i:05d}.parquet")
        out.append(parts)
    return out


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
    if path.exists() and (folder / "models").is_dir():  # a kept --workdir pool: its session is written already
        return path
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


def _start_rss(dask_worker) -> float:
    """On a worker: start sampling its RSS (``ru_maxrss`` carries over from the process a worker is started
    from, so a restarted worker's maximum is not its own); return the RSS now, MB."""
    dask_worker._bench_rss = RssPeak()
    return dask_worker._bench_rss.base / 1024**2


def _stop_rss(dask_worker) -> float:
    """On a worker: the peak RSS (MB, absolute) since ``_start_rss``."""
    rss = dask_worker._bench_rss
    rss.stop()
    return rss.peak / 1024**2


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
        for i, (config, target) in enumerate(zip(configs, outs)):
            if i:  # fresh worker processes: each size's ru_maxrss is its own, not the peak so far
                client.restart()
            client.run(_warm)
            cfg = SessionConfig.load(config)
            head, version = saved_head_in(cfg)
            # Warm-up, not measured: two partitions through the whole path (deserialising a head, pyarrow's pools).
            pool = DaskPool(cfg.data, client)
            score_catalogue_on_dask(client, head, pool.encoding, pool.files[:2], target + "-warm",
                                    model_version=version, chunk_rows=chunk)
            load = os.getloadavg()[0]
            before = client.run(_start_rss)
            start = time.perf_counter()
            pool = DaskPool(cfg.data, client)
            result = score_catalogue_on_dask(client, head, pool.encoding, pool.files, target, model_version=version,
                                             chunk_rows=chunk)
            seconds = time.perf_counter() - start
            peaks = client.run(_stop_rss)
            out["score"].append({"rows": result.rows, "partitions": len(pool.files), "seconds": seconds,
                                 "worker_peak_mb": max(peaks.values()),
                                 "worker_peaks_mb": sorted(peaks.values()),
                                 "worker_base_mb": max(before.values()),
                                 "memory_limit": str(t.dask_memory_limit),
                                 "load_before": load, "load_after": os.getloadavg()[0]})
        if rounds > 0:
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
    load = os.getloadavg()[0]
    start = time.perf_counter()
    rss = RssPeak()
    pool = DaskPool(cfg.data)
    chunked = None
    if chunk > 0:  # --chunk-local 0 skips the chunked path
        result = score_catalogue(head, pool.encoding, pool.files, out, model_version=version, chunk_rows=chunk)
        chunked = {"rows": result.rows, "seconds": time.perf_counter() - start, "peak_mb": _peak_mb(),
                   "increase_mb": rss.stop(), "load_before": load, "load_after": os.getloadavg()[0]}
    else:
        rss.stop()

    files = pool.files
    load = os.getloadavg()[0]
    start = time.perf_counter()
    rss = RssPeak()
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    enc = FeatureEncoding.from_names(cfg.data, pool.feature_names)
    X, _ = enc.encode(frame, files[0])
    table = prediction_columns(frame["id"].astype(str).to_numpy(object), predict_proba_chunked(head, X), CLASSES)
    memory = {"rows": len(table), "seconds": time.perf_counter() - start, "peak_mb": _peak_mb(),
              "increase_mb": rss.stop(), "load_before": load, "load_after": os.getloadavg()[0]}
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
        server = ui.Server(config).wait_ready(timeout=SERVE_TIMEOUT_S)
        port_s = time.perf_counter() - start
        print(f"port open after {port_s:.1f} s (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            render_s = ui.first_render(page, server.url + "?annotator=bench", timeout=SERVE_TIMEOUT_S)
            print(f"first query + scatter on screen after {render_s:.1f} s (load {os.getloadavg()[0]:.1f})",
                  file=sys.stderr, flush=True)

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
    p.add_argument("--sizes", type=int, nargs="+", help="pool sizes (default: --small and --rows)")
    p.add_argument("--partition", type=int, default=100_000)
    p.add_argument("--chunk", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=3, help="engine rounds on the largest pool (0: no engine part)")
    p.add_argument("--clicks", type=int, default=30, help="labels timed on the alabel serve page")
    p.add_argument("--only", choices=("all", "serve", "score"), default="all",
                   help="serve: only part 3 (alabel serve); score: only part 1 (and the engine if --rounds)")
    p.add_argument("--workdir", type=Path, help="keep the generated pools here and reuse them (default: a temp dir)")
    p.add_argument("--local-rows", type=int, help="pool size of the one-process paths (default: the smallest)")
    p.add_argument("--chunk-local", type=int, help="chunk rows of the one-process chunked path (0: skip it; "
                                                   "default: --chunk)")
    p.add_argument("--csv", type=Path, help="append the score rows to this CSV")
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
    sizes = sorted(a.sizes or ((a.rows,) if a.only == "serve" else (a.small, a.rows)))
    with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
        tmp = Path(tmp)
        root = a.workdir or tmp
        if a.workdir:
            parts = pools(a.workdir, sizes, a.partition)
        else:
            parts = [generate(tmp / f"n{rows}", rows, a.partition) for rows in sizes]
        configs = [write_session(folder.parent, folder) for folder in parts]
        for config in configs:  # a kept pool starts each run with no labels
            for old in config.parent.glob("labels.sqlite*"):
                old.unlink()
        print(f"pools ready after {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
        baseline = trivial_baseline_ms()
        if a.only == "serve":
            serve = run_serve(configs[-1], a.clicks)
            load_after = os.getloadavg()
            print(f"load average before {load[0]:.2f} / after {load_after[0]:.2f}; trivial baseline "
                  f"(1M x 16 float32 matvec) {baseline:.1f} ms; partitions of {a.partition:,} rows; "
                  f"whole run {time.perf_counter() - began:.0f} s")
            print_serve(serve, sizes[-1])
            if a.csv:  # the raw clicks, one row each
                import csv

                with a.csv.open("w", newline="") as fh:
                    w = csv.writer(fh)
                    w.writerow(["pool_rows", "kind", "click", "ms"])
                    for kind in ("clicks", "trivial"):
                        for i, ms in enumerate(serve[kind]):
                            w.writerow([sizes[-1], kind, i, f"{ms:.1f}"])
            return
        serve = run_serve(configs[-1], a.clicks) if a.only == "all" else None
        dask = measure("dask", *configs, *[tmp / f"out-dask-{r}" for r in sizes], a.chunk, a.rounds)
        local_rows = a.local_rows or sizes[0]
        local = measure("local", configs[sizes.index(local_rows)], tmp / "out-chunked",
                        a.chunk if a.chunk_local is None else a.chunk_local)
    load_after = os.getloadavg()
    results = [("alabel score on Dask (2 workers; peak of one worker)", s["rows"], s["seconds"], s["worker_peak_mb"],
                s["worker_base_mb"], s["worker_peak_mb"] - s["worker_base_mb"], s) for s in dask["score"]]
    for key, name in (("chunked", "alabel score --data, one process, chunked"),
                      ("memory", "in memory (whole table, as Session)")):
        r = local[key]
        if r is not None:
            results.append((name, r["rows"], r["seconds"], r["peak_mb"], local["base_mb"], r["increase_mb"], r))

    print(f"load average before {load[0]:.2f} / after {load_after[0]:.2f}; trivial baseline "
          f"(1M x 16 float32 matvec) {baseline:.1f} ms; partitions of {a.partition:,} rows, chunks of "
          f"{a.chunk:,}; whole run {time.perf_counter() - began:.0f} s\n")
    print("| path | rows | seconds | rows/s | peak RSS (MB) | RSS after imports (MB) | increase (MB) | load before / after |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows, seconds, peak, base, increase, r in results:
        print(f"| {name} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} | {peak:.0f} | {base:.0f} | "
              f"{increase:.0f} | {r['load_before']:.1f} / {r['load_after']:.1f} |")
    if a.csv:
        write_csv(a.csv, results, a, baseline)
    if "engine" in dask:
        engine = dask["engine"]
        print("\n| engine on a Dask pool | value |")
        print("|---|---|")
        print(f"| pool rows | {engine['rows']:,} |")
        print(f"| first query (fit on 10 labels + one ranking pass) | {engine['first_query_s']:.2f} s |")
        print(f"| label → next query, p95 (next item of the ranking) | {engine['next_item_p95_s'] * 1000:.0f} ms |")
        print(f"| label → retrain + fresh ranking pass, p95 / median ({engine['rounds']} rounds) | "
              f"{engine['retrain_rank_p95_s']:.2f} s / {engine['retrain_rank_median_s']:.2f} s |")
    if serve is not None:
        print_serve(serve, sizes[-1])


def write_csv(path: Path, results, a, baseline: float) -> None:
    """One row per measured path (appended), with the run's settings and commit."""
    import csv
    import datetime

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent, check=False).stdout.strip()
    new = not path.exists()
    with path.open("a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["date", "commit", "path", "rows", "partition_rows", "chunk_rows", "seconds", "rows_per_s",
                        "peak_rss_mb", "rss_after_imports_mb", "increase_mb", "worker_peaks_mb", "memory_limit",
                        "load_before", "load_after", "trivial_baseline_ms"])
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
        for name, rows, seconds, peak, base, increase, r in results:
            w.writerow([date, commit, name, rows, a.partition, a.chunk, f"{seconds:.2f}", f"{rows / seconds:.0f}",
                        f"{peak:.0f}", f"{base:.0f}", f"{increase:.0f}",
                        " ".join(f"{v:.0f}" for v in r.get("worker_peaks_mb", [])), r.get("memory_limit", ""),
                        f"{r['load_before']:.2f}", f"{r['load_after']:.2f}", f"{baseline:.1f}"])


if __name__ == "__main__":
    main()
