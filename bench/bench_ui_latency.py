"""Label click → next query visible, measured in the browser, at 10k, 100k and 1M rows.

    .venv/bin/python bench/bench_ui_latency.py [--sizes 10000 100000 1000000] [--clicks 60]

For each pool size a synthetic data set (four Gaussian classes in eight
features, seeded) is served twice by the real ``alabel serve`` and driven by
Playwright on Debian's chromium:

* **no retrain**: ``training.min_labels`` is out of reach, so no model ever
  trains: the click path alone;
* **retrain running**: logistic regression in a training *process*
  (``training.backend: process``), retraining after every burst of labels;
  each retrain scores the whole pool, so at 1M rows a retrain is running
  during almost every click (the table reports the share of clicks that
  started while the trainer was busy).

Each click is timed inside the page: ``performance.now()`` when the class
button is clicked, and again when a MutationObserver sees the labelling
banner show the next object (click → websocket → server → DOM). The same
measurement is made on a trivial Panel app (a button whose callback writes a
number into an HTML pane), served by ``panel`` in the same way, as the floor.
First render is the time from navigation to the first query on screen with
the scatter drawn. Results go to ``bench/results/ui_latency.csv``; the
markdown table printed at the end is what bench/RESULTS.md holds.

``--second-tab`` also times a second tab of the same annotator on the warm
server, measured the same way: once right after the first tab rendered
(before any label, so no retrain) and once after the clicks (retrains
running). ``--settle S`` waits S seconds after the server answers before the first
page (the server's start-up work, e.g. datashader's warm-up, done).
``--profile DIR`` samples the ``alabel serve`` process with py-spy
(raw collapsed stacks, every thread, 100 Hz, non-blocking) during each of
those page loads and during the timed clicks, and writes them to DIR.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
from harness import Server, free_port, launch_browser  # noqa: E402

CLASSES = ["A", "B", "C", "D"]

# Finds elements through every shadow root (Panel renders each widget in its own).
DEEP = """
const deepAll = (root, selector, out = []) => {
  for (const el of root.querySelectorAll(selector)) out.push(el);
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) deepAll(el.shadowRoot, selector, out);
  return out;
};
const deep = (selector) => deepAll(document, selector)[0] || null;
"""

# One click, timed in the page: resolves with milliseconds from click to the changed text.
CLICK = DEEP + """
async ([buttonSelector, watchSelector, attribute]) => {
  // Read inside the watched element's own shadow root: a deep search on every mutation
  // would add milliseconds of measurement to each click.
  const root = deep(watchSelector).getRootNode();
  const read = () => { const el = root.querySelector(watchSelector); return el ? (attribute ? el.getAttribute(attribute) : el.textContent) : null; };
  const target = root.querySelector(watchSelector);
  const before = read();
  const host = deep(buttonSelector);
  const button = host.shadowRoot ? host.shadowRoot.querySelector('button') : host;
  return await new Promise((resolve, reject) => {
    const observer = new MutationObserver(() => {
      if (read() !== before) { observer.disconnect(); resolve(performance.now() - t0); }
    });
    observer.observe(target.getRootNode(), {subtree: true, childList: true, characterData: true, attributes: true});
    setTimeout(() => { observer.disconnect(); reject(new Error('no change within 120 s')); }, 120000);
    const t0 = performance.now();
    button.click();
  });
}
"""

TRIVIAL_APP = textwrap.dedent("""
    import sys
    import panel as pn

    def page():
        count = pn.pane.HTML("<span class='trivial-count'>0</span>", css_classes=["trivial"])
        button = pn.widgets.Button(label="+1", css_classes=["trivial-button"])
        state = {"n": 0}

        def bump(_):
            state["n"] += 1
            count.object = f"<span class='trivial-count'>{state['n']}</span>"
        button.on_click(bump)
        return pn.Column(button, count)

    pn.serve({"/": page}, port=int(sys.argv[1]), address="127.0.0.1", show=False, verbose=False)
""")


def make_pool(folder: Path, n: int, *, retrain: bool, seed: int = 0, defaults: bool = False,
              backend: str = "process") -> Path:
    """A synthetic pool of ``n`` rows and its config (labels stored in ``folder``).

    ``defaults``: no head and no strategy in the config, so the session runs
    alabel's defaults (the ``auto`` head and strategy); else logistic
    regression and margin sampling, as the first version of this benchmark.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = folder.parent / f"pool-{n}.parquet"
    if not data.exists():
        rng = np.random.default_rng(seed)
        y = rng.integers(0, len(CLASSES), n)
        centres = rng.normal(scale=3.0, size=(len(CLASSES), 8))
        X = (centres[y] + rng.normal(size=(n, 8))).astype(np.float32)
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(8)])
        frame.insert(0, "id", np.arange(n))
        frame["truth"] = np.asarray(CLASSES)[y]
        frame.to_parquet(data, index=False)
    config = {
        "name": f"synthetic {n:,}",
        "seed": seed,
        "data": {"sources": [{"path": str(data)}], "id_column": "id",
                 "features": {"numeric": [f"f{i}" for i in range(8)]}, "ground_truth": "truth"},
        "classes": CLASSES,
        "head": {"type": "logistic_regression", "scale": True},
        "strategy": {"type": "margin"},
        "training": {"backend": backend, "coalesce_s": 0.1, "evaluation_folds": 3,
                     "min_labels": 2 if retrain else 1_000_000_000},
        "labels": {"store": "labels.sqlite", "models": "models"},
        "ui": {"layout": "default", "scatter": {"x": "f0", "y": "f1"}},
    }
    if defaults:
        del config["head"], config["strategy"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def shipped_config(folder: Path, *, detail: bool = True, backend: str | None = None) -> tuple[Path, dict, list[str]]:
    """The repository's ``config.yaml`` (OGLE-III, the defaults) with a fresh label store in ``folder``.

    ``detail=False`` drops ``data.detail`` (the light curve); ``backend`` overrides
    ``training.backend``: variants that say what those cost a click.
    Returns the config path, the ground truth by object id and the class names.
    """
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    if not detail:
        config["data"].pop("detail", None)
    if backend is not None:
        config.setdefault("training", {})["backend"] = backend
    for source in config["data"]["sources"]:
        source["path"] = str((REPO / source["path"]).resolve())
    config["labels"]["store"] = "labels.sqlite"
    config["labels"]["models"] = "models"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    frame = pd.read_parquet(config["data"]["sources"][0]["path"],
                            columns=[config["data"]["id_column"], config["data"]["ground_truth"]])
    truth = dict(zip(frame.iloc[:, 0].astype(str), frame.iloc[:, 1].astype(str)))
    return path, truth, [c["name"] for c in config["classes"]]


def slug(text: str) -> str:  # as dashboard/components/labelling.py names the class buttons
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-") or "class"


def first_render(page, url: str, timeout: float = 180.0, scatter: bool = True) -> float:
    """Seconds from navigation to the first query and the drawn scatter."""
    page.goto(url, timeout=int(timeout * 1000))
    deadline = time.monotonic() + timeout
    ready = DEEP + """(scatter) => {
      const banner = deep('.banner');
      const canvas = !scatter || deep('.alabel-scatter-figure');
      return !!(banner && banner.getAttribute('data-object') && canvas) ? performance.now() : 0;
    }"""
    while time.monotonic() < deadline:
        at = page.evaluate(ready, scatter)
        if at:
            return at / 1000.0
        time.sleep(0.02)
    raise TimeoutError(f"{url}: no first query within {timeout} s")


def trainer_busy(page) -> bool:
    return page.evaluate(DEEP + """() => {
      const el = deep('.trainer'); return !!el && ['waiting', 'training', 'evaluating'].includes(el.getAttribute('data-state'));
    }""")


def time_clicks(page, clicks: int, *, button, watch: str, attribute: str | None, pause_s=0.05,
                busy: list | None = None) -> list[float]:
    """``pause_s``: seconds between clicks, or a (low, high) range drawn uniformly (seeded)."""
    rng = np.random.default_rng(0)
    times = []
    for i in range(clicks):
        selector = button(i) if callable(button) else button
        if busy is not None:
            busy.append(trainer_busy(page))
        times.append(float(page.evaluate(CLICK, [selector, watch, attribute])))
        time.sleep(rng.uniform(*pause_s) if isinstance(pause_s, tuple) else pause_s)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def measure_trivial(browser, clicks: int) -> list[float]:
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(TRIVIAL_APP)
    process = subprocess.Popen([sys.executable, fh.name, str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        page = browser.new_page()
        deadline = time.monotonic() + 60
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/", timeout=10_000)
                page.locator(".trivial-button button").wait_for(timeout=30_000)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        time_clicks(page, 5, button=".trivial-button", watch=".trivial-count", attribute=None)  # warm-up
        times = time_clicks(page, clicks, button=".trivial-button", watch=".trivial-count", attribute=None)
        page.close()
        return times
    finally:
        process.terminate()
        process.wait(10)
        os.unlink(fh.name)


PY_SPY = REPO / ".venv" / "bin" / "py-spy"


class Sampler:
    """``py-spy record`` on a process for the duration of a ``with`` block (no-op without a folder)."""

    def __init__(self, pid: int, folder: Path | None, name: str):
        self.pid, self.folder, self.name, self.process = pid, folder, name, None

    def __enter__(self):
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.process = subprocess.Popen(
                [str(PY_SPY), "record", "--pid", str(self.pid), "--rate", "100", "--threads", "--nonblocking",
                 "--format", "raw", "--output", str(self.folder / f"{self.name}.txt")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # attached before the page load starts
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(30)


def navigation_timing(page) -> dict:
    """Milestones of the page load (s from navigation): the server's HTML answer (Panel builds the
    tab's document before it answers), the page's scripts loaded, the load event."""
    timing = page.evaluate("""() => { const t = performance.getEntriesByType('navigation')[0];
      return {response_start_s: t.responseStart / 1000, dom_content_loaded_s: t.domContentLoadedEventEnd / 1000,
              load_event_s: t.loadEventEnd / 1000}; }""")
    return {k: round(float(v), 3) for k, v in timing.items()}


def open_tab(browser, url: str, timings: list | None = None) -> tuple:
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    seconds = first_render(page, url)
    if timings is not None:
        timings.append({"ready_s": round(seconds, 3), **navigation_timing(page)})
    return page, seconds


def measure_dashboard(browser, config: Path, clicks: int, *, retrain: bool, second_tab: bool = False,
                      profile: Path | None = None, label: str = "", settle_s: float = 0.0,
                      truth: dict | None = None, pause_s=0.05) -> dict:
    server = Server(config).wait_ready(timeout=300)
    time.sleep(settle_s)  # let the server's start-up work (datashader's warm-up) finish first
    extra = {}
    timings: list = []
    try:
        url = server.url + "?annotator=bench"
        with Sampler(server.process.pid, profile, f"{label}-first-render"):
            page, render_s = open_tab(browser, url, timings)
        if second_tab:
            with Sampler(server.process.pid, profile, f"{label}-second-tab"):
                other, extra["second_tab_s"] = open_tab(browser, url, timings)
            other.close()

        def button(i):
            if truth is None:
                return f".class-{CLASSES[i % len(CLASSES)]}"
            shown = page.evaluate(DEEP + "() => deep('.banner').getAttribute('data-object')")
            return f".class-{slug(truth[shown])}"  # the catalogue's class, as a labeller would
        # with retrains: a first model, then clicks during the next ones; from the first label
        # (cold start included) with a human pace
        warm = 0 if truth is not None else 12 if retrain else 5
        time_clicks(page, warm, button=button, watch=".banner", attribute="data-object")
        busy: list[bool] = []
        with Sampler(server.process.pid, profile, f"{label}-clicks"):
            times = time_clicks(page, clicks, button=button, watch=".banner", attribute="data-object", busy=busy,
                                pause_s=pause_s)
        version = page.evaluate(DEEP + "() => { const el = deep('.model-version'); "
                                       "return el ? el.getAttribute('data-version') : null; }")
        if second_tab:
            with Sampler(server.process.pid, profile, f"{label}-tab-during-retrains"):
                other, extra["tab_during_retrains_s"] = open_tab(browser, url, timings)
            other.close()
        extra["page_loads"] = json.dumps(timings)
        page.close()
        return {"first_render_s": render_s, "times": times, "busy_share": float(np.mean(busy)) if busy else 0.0,
                "model_version": version, **extra}
    finally:
        server.stop()


def measure_shipped(browser, folder: Path, args, commit: str) -> list[dict]:
    """The shipped config at a human pace, beside the trivial button of the same run."""
    load_before = os.getloadavg()[0]
    trivial = measure_trivial(browser, args.clicks)
    p50, p95 = summary(trivial)
    rows = [{"code": commit, "rows": 18_570, "case": "trivial Panel button", "p50_ms": p50, "p95_ms": p95,
             "first_render_s": None, "busy_share": None, "load_before": load_before, "load": os.getloadavg()[0],
             "max_ms": max(trivial)}]
    print(rows[-1], flush=True)
    config, truth, _ = shipped_config(folder / "shipped", detail=not args.no_detail, backend=args.shipped_backend)
    variant = ("" if not args.no_detail else ", no light curve") + \
        ("" if args.shipped_backend is None else f", backend {args.shipped_backend}")
    load_before = os.getloadavg()[0]
    result = measure_dashboard(browser, config, args.clicks, retrain=True, second_tab=args.second_tab,
                               profile=args.profile, label="shipped", settle_s=args.settle, truth=truth,
                               pause_s=(0.3, 1.0))
    p50, p95 = summary(result["times"])
    rows.append({"code": commit, "rows": 18_570, "case": f"shipped config.yaml{variant}, true class every 0.3-1 s, from the first label",
                 "p50_ms": p50, "p95_ms": p95, "first_render_s": result["first_render_s"],
                 "busy_share": result["busy_share"], "load_before": load_before, "load": os.getloadavg()[0],
                 "model_version": result["model_version"], "max_ms": max(result["times"]),
                 "second_tab_s": result.get("second_tab_s"), "tab_during_retrains_s": result.get("tab_during_retrains_s"),
                 "page_loads": result.get("page_loads"), "head_strategy": "auto/auto (shipped config.yaml)",
                 "backend": args.shipped_backend or "thread", "settle_s": args.settle,
                 "click_ms": json.dumps([round(t, 1) for t in result["times"]])})
    print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--clicks", type=int, default=60)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ui_latency.csv")
    parser.add_argument("--defaults", action="store_true",
                        help="alabel's default head and strategy (auto, auto) instead of logistic regression + margin")
    parser.add_argument("--backend", default="process", choices=["process", "thread"],
                        help="training.backend of the measured sessions")
    parser.add_argument("--retrain-only", action="store_true", help="skip the 'no retrain' case")
    parser.add_argument("--second-tab", action="store_true",
                        help="also time a second tab on the warm server (before the clicks and after them)")
    parser.add_argument("--shipped", action="store_true",
                        help="the repository's config.yaml (OGLE-III, defaults, thread backend) instead of the "
                             "synthetic pools: clicks from the first label, the true class, one per 0.3-1 s")
    parser.add_argument("--no-detail", action="store_true", help="with --shipped: drop data.detail (the light curve)")
    parser.add_argument("--shipped-backend", choices=["thread", "process"], default=None,
                        help="with --shipped: override training.backend")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after the server answers before the first page (start-up work done)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="folder for py-spy samples of the server during each timed page load")
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="alabel-ui-bench-") as tmp, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        if args.shipped:
            rows.extend(measure_shipped(browser, Path(tmp), args, commit))
        for n in ([] if args.shipped else args.sizes):
            load_before = os.getloadavg()[0]
            trivial = measure_trivial(browser, args.clicks)
            p50, p95 = summary(trivial)
            rows.append({"code": commit, "rows": n, "case": "trivial Panel button", "p50_ms": p50, "p95_ms": p95,
                         "first_render_s": None, "busy_share": None, "load_before": load_before,
                         "load": os.getloadavg()[0]})
            print(rows[-1], flush=True)
            for retrain in ((True,) if args.retrain_only else (False, True)):
                config = make_pool(Path(tmp) / f"{n}-{'retrain' if retrain else 'still'}", n, retrain=retrain,
                                   defaults=args.defaults, backend=args.backend)
                load_before = os.getloadavg()[0]
                result = measure_dashboard(browser, config, args.clicks, retrain=retrain,
                                           second_tab=args.second_tab, profile=args.profile,
                                           label=f"{n}-{'retrain' if retrain else 'still'}",
                                           settle_s=args.settle)
                p50, p95 = summary(result["times"])
                rows.append({"code": commit, "rows": n, "case": "label click, retrain running" if retrain else
                             "label click, no retrain", "p50_ms": p50, "p95_ms": p95,
                             "first_render_s": result["first_render_s"],
                             "busy_share": result["busy_share"] if retrain else None,
                             "load_before": load_before, "load": os.getloadavg()[0],
                             "model_version": result["model_version"], "max_ms": max(result["times"]),
                             "second_tab_s": result.get("second_tab_s"),
                             "tab_during_retrains_s": result.get("tab_during_retrains_s"),
                             "page_loads": result.get("page_loads"),
                             "head_strategy": "auto/auto (defaults)" if args.defaults else "logreg/margin",
                             "backend": args.backend, "settle_s": args.settle,
                             "click_ms": json.dumps([round(t, 1) for t in result["times"]])})
                print(rows[-1], flush=True)
        browser.close()
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"\nwrote {args.out}\n")
    print("| rows | case | p50 (ms) | p95 (ms) | first render (s) | second tab / during retrains (s) "
          "| clicks during a retrain | load avg |")
    print("|---:|---|---:|---:|---:|---|---:|---:|")

    def seconds(value):
        return "" if value is None else f"{value:.1f}"
    for r in rows:
        busy = "" if r["busy_share"] is None else f"{r['busy_share']:.0%}"
        tabs = "" if r.get("second_tab_s") is None else \
            f"{seconds(r['second_tab_s'])} / {seconds(r.get('tab_during_retrains_s'))}"
        print(f"| {r['rows']:,} | {r['case']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {seconds(r['first_render_s'])} "
              f"| {tabs} | {busy} | {r['load_before']:.1f}–{r['load']:.1f} |")


if __name__ == "__main__":
    main()
