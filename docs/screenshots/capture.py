"""Take the README's screenshots of the dashboard (run from the repository root).

    .venv/bin/python docs/screenshots/capture.py

Starts ``alabel serve`` on a copy of the Portal rodents table (the setup page of a data
file without a config) and on copies of the shipped OGLE-III and digits configs
(labels in a temporary folder, never in the repository's stores), labels a
few dozen objects with their catalogue class so that a model, its colours and
its metrics are on screen, and saves PNGs of the screen at 1280x720 (and one at phone size)
next to this script.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests" / "browser"))

import pandas as pd  # noqa: E402
from harness import REPO, Server, Tab, example_config, launch_browser  # noqa: E402


def truth(example: str) -> dict[str, str]:
    path = REPO / "example_data" / ("ogle3_variable_stars.parquet" if example == "ogle3" else f"{example}.parquet")
    frame = pd.read_parquet(path, columns=["id", "label"])
    return dict(zip(frame["id"].astype(str), frame["label"].astype(str)))


#: The README's screen: a laptop (issue 13: everything needed to label fits it without scrolling).
LAPTOP = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}


def capture(example: str, out: Path, *, labels: int, colour: str, folder: Path, metrics: Path | None = None,
            phone: Path | None = None) -> None:
    """Label ``labels`` objects, then save the first screen at 1280x720 (and the optional extra views)."""
    from playwright.sync_api import sync_playwright

    answers = truth(example)
    server = Server(example_config(folder / example, example)).wait_ready()
    try:
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = browser.new_page(viewport=LAPTOP)
            tab = Tab(page, server.url + "?annotator=ana")
            for _ in range(labels):
                tab.click_class(answers[tab.current()])
            tab.wait(lambda: tab.trainer_state() == "idle" and page.locator(".metrics-table").count(),
                     timeout=120, what="the model's metrics")
            page.locator(".scatter-colour button", has_text=colour).click()
            page.mouse.move(1, 1)  # no tooltip in the picture
            time.sleep(2.0)  # the scatter redraws
            _save(page, out)
            if metrics is not None:  # the metrics tab, scrolled into view inside the main area
                page.locator(".bk-tab", has_text="Metrics").first.click()
                page.mouse.move(1, 1)
                time.sleep(2.0)  # the reference curve fills in
                page.locator(".alabel-metrics").first.scroll_into_view_if_needed()
                time.sleep(1.0)
                _save(page, metrics)
            if phone is not None:
                small = browser.new_page(viewport=PHONE)
                Tab(small, server.url + "?annotator=ana")
                time.sleep(2.0)
                _save(small, phone)
            browser.close()
    finally:
        server.stop()


def _save(page, out: Path) -> None:
    page.screenshot(path=str(out))  # the viewport: what the screen shows, not the whole scrolled page
    print(f"wrote {out}")


def capture_setup(out: Path, *, folder: Path) -> None:
    """The setup page of ``alabel serve DATA.parquet`` (a copy of the Portal rodents table), 1280x720."""
    import shutil

    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "portal_rodents.parquet"
    shutil.copy(REPO / "example_data" / data.name, data)
    server = Server(data).wait_ready()
    try:
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(server.url, timeout=60_000)
            page.locator(".alabel-setup").wait_for(timeout=60_000)
            time.sleep(1.0)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.stop()
    print(f"wrote {out}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="alabel-screens-") as tmp:
        capture_setup(HERE / "setup-page.png", folder=Path(tmp) / "setup")
        capture("ogle3", HERE / "dashboard-ogle3.png", labels=40, colour="prediction", folder=Path(tmp),
                metrics=HERE / "dashboard-ogle3-metrics.png")
        capture("digits", HERE / "dashboard-digits.png", labels=30, colour="label", folder=Path(tmp),
                phone=HERE / "dashboard-digits-phone.png")


if __name__ == "__main__":
    main()
