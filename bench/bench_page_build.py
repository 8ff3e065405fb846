"""One dashboard tab's server-side build, in-process, without a browser (issue 12, first render).

What ``alabel serve`` does inside a page's GET before it answers: ``build_page`` (the tab's
state and every component of the layout) and the app shell's ``server_doc`` (Panel's template
turned into a Bokeh document). Timed three times per pool after the hub's start-up work
(datashader's warm-up) has had ``--settle`` seconds, with the number of Bokeh models in the
document; the floor is the same kind of template (FastListTemplate) around one HTML pane, built
in the same run. The pool and config are ``bench_ui_latency.py --defaults``'s.

    python bench/bench_page_build.py [--rows 10000 1000000] [--out bench/results/page_build.csv]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_ui_latency import make_pool  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--settle", type=float, default=40.0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "page_build.csv")
    args = parser.parse_args()
    import panel as pn
    from bokeh.document import Document

    from alabel.dashboard.app import build_page
    from alabel.dashboard.hub import open_hub
    from alabel.dashboard.shell import app_shell

    commit = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory(prefix="alabel-page-build-") as tmp:
        for n in args.rows:
            config = make_pool(Path(tmp) / str(n), n, retrain=True, defaults=True)
            os.chdir(config.parent)
            hub = open_hub(config)
            time.sleep(args.settle)
            for repeat in range(3):
                load = os.getloadavg()[0]
                t0 = time.perf_counter()
                page = build_page(hub, args={"annotator": [b"bench"]}, cookies={})
                t1 = time.perf_counter()
                doc = Document()
                app_shell(page).server_doc(doc)
                t2 = time.perf_counter()
                floor_doc = Document()
                pn.template.FastListTemplate(title="floor", main=[pn.pane.HTML("x")]).server_doc(floor_doc)
                t3 = time.perf_counter()
                rows.append({"commit": commit, "rows": n, "repeat": repeat, "build_page_s": t1 - t0,
                             "server_doc_s": t2 - t1, "bokeh_models": len(doc.models),
                             "floor_template_s": t3 - t2, "floor_bokeh_models": len(floor_doc.models),
                             "load": load})
                print(rows[-1], file=sys.stderr, flush=True)
                page.dispose()
                page.state.close()
            hub.close()  # its trainer and worker threads would load the next size's timings
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.to_string())
    sys.stdout.flush()
    os._exit(0)  # the hub's worker threads and trainer: nothing left to wait for


if __name__ == "__main__":
    main()
