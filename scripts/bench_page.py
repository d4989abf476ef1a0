"""Benchmark the page as visitors meet it, in headless Chromium, against the local S3 stand-in.

Prints (and with --json writes):
- cold start (a fresh server, models fetched from S3): time to the first thing on screen (the
  boot screen's title, in the HTML), to Streamlit's own title, the controls, and the first painted
  photo;
- warm start (a new visitor on a running server): time to the controls and to the painted photo;
- photo: a visitor's wait from the click on a style to the painted picture and its caption on
  screen (the page's own clock; and as Playwright sees it, its own steps before the click included),
  and the library's own time;
- 2 and 4 visitors at once, each changing style: median and 95th-percentile wait;
- webcam (Chromium's fake 640×480 camera, background mode, painted at 384): painted frames per
  second over --webcam-seconds, the page's median latency per frame, and the page process's CPU
  (% of 2 cores) meanwhile — what one webcam visitor costs a task.

    .venv/bin/python scripts/bench_page.py [--webcam-seconds 20] [--json figures.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from load import cpu_seconds, page_pid, served_page  # noqa: E402

CAPTION = re.compile(r"^\d+×\d+ px · ")
STYLES = ["The Great Wave", "Blue Cosmos", "Red Weave", "Kandinsky Circles", "The Mellow Pad", "Klee Masks", "Starry Night"]


def metric(page, label: str) -> str:
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue").inner_text(timeout=5000)


# Armed before the click: resolves with the milliseconds, on the page's own clock, from the click
# on a style's option to the next frame after its painting is on screen — its caption shown and the
# new picture (a new media URL) loaded. Playwright's own steps before the click (scrolling, waiting
# for the option to hold still: about 80 ms here) are not the visitor's wait.
ARM = """(pattern) => {
  const re = new RegExp(pattern);
  const before = document.querySelector('.st-key-pictures img')?.src ?? null;
  window.__styleWait = new Promise(resolve => {
    let clicked = null;
    const onScreen = () => {
      const img = document.querySelector('.st-key-pictures img');
      const captioned = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')].some(c => re.test(c.textContent.trim()));
      return captioned && img !== null && img.src !== before && img.complete && img.naturalWidth > 0;
    };
    const check = () => {
      if (clicked !== null && onScreen()) {
        observer.disconnect();
        document.removeEventListener('load', check, true);
        requestAnimationFrame(() => resolve(performance.now() - clicked));
      }
    };
    const observer = new MutationObserver(check);
    document.addEventListener('click', e => { clicked = e.timeStamp; check(); }, {capture: true, once: true});
    document.addEventListener('load', check, true);  // a picture that finishes loading changes no node
    observer.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  });
}"""


def pick_style(page, style: str) -> tuple[float, float]:
    """(the visitor's wait, the driver's wait) in seconds for choosing ``style``: the first from the
    click on its option to its painted picture and caption on screen, on the page's own clock
    (``ARM``); the second as Playwright sees it, from before its click to the caption found
    (opening the select and typing the name are the visitor's own time in both)."""
    page.get_by_test_id("stSelectbox").filter(has_text="Style").first.click()
    page.keyboard.type(style)
    option = page.get_by_role("option", name=style)
    option.wait_for()
    page.evaluate(ARM, rf"^\d+×\d+ px · {re.escape(style)} · ")
    started = time.perf_counter()
    option.click()
    page.get_by_text(re.compile(rf"^\d+×\d+ px · {re.escape(style)} · ")).wait_for(timeout=120_000)
    driver = time.perf_counter() - started
    return page.evaluate("() => window.__styleWait") / 1000.0, driver


def visitors_at_once(browser, url: str, count: int, rounds: int = 3) -> list[float]:
    """``count`` visitors, each changing style ``rounds`` times at the same moments."""
    pages = []
    for _ in range(count):
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(url)
        page.get_by_text(CAPTION).first.wait_for(timeout=120_000)
        pages.append(page)
    waits: list[float] = []
    for r in range(rounds):
        # Playwright's sync API is not thread-safe: start every choice, then wait for every result
        started = time.perf_counter()
        for i, page in enumerate(pages):
            style = STYLES[(i + r) % len(STYLES)]
            page.get_by_test_id("stSelectbox").filter(has_text="Style").first.click()
            page.keyboard.type(style)
            page.get_by_role("option", name=style).click()
        for i, page in enumerate(pages):
            style = STYLES[(i + r) % len(STYLES)]
            page.get_by_text(re.compile(rf"^\d+×\d+ px · {re.escape(style)} · ")).wait_for(timeout=120_000)
            waits.append(time.perf_counter() - started)
    for page in pages:
        page.context.close()
    return waits


def library_cpu(store: str, runs: int) -> float:
    """The library's own CPU seconds for the painting a visitor waits for on the page (the first
    sample photo at the page's default size and options, each style once after a warm-up): the
    yardstick for the page process's CPU per result."""
    import tempfile

    from stylize import Settings, StylizeOptions, Stylizer

    with tempfile.TemporaryDirectory(prefix="stylize-bench-lib-") as cache:
        stylizer = Stylizer.from_settings(Settings(model_store=store, cache_dir=Path(cache)))
        stylizer.prepare()
        photo = stylizer.store.fetch(stylizer.assets("photo")[0]).read_bytes()
        options = stylizer.defaults(StylizeOptions(max_side=1024))
        stylizer.stylize(photo, "Starry Night", options)
        spent = []
        for style in STYLES[:runs]:
            started = time.process_time()
            stylizer.stylize(photo, style, options)
            spent.append(time.process_time() - started)
        stylizer.close()
    return statistics.median(spent)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", default=str(ROOT.parent / "shared"))
    parser.add_argument("--photo-runs", type=int, default=5)
    parser.add_argument("--webcam-seconds", type=float, default=20.0)
    parser.add_argument("--webcam-only", action="store_true", help="skip the photo and visitor figures (for runs alternated against another checkout)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    figures: dict[str, float] = {}
    with served_page(args.source, "stylize-bench-cache-") as (url, page_port):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            for kind in ("cold", "warm"):
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                started = time.perf_counter()
                page.goto(url, wait_until="commit")  # not "load": that waits for all of Streamlit's JavaScript
                page.locator("#stylize-boot h1, [data-testid=stHeading] h1").first.wait_for(timeout=60_000)
                figures[f"{kind}_first_sight_s"] = time.perf_counter() - started  # serve.py's boot screen: the title in the HTML
                page.get_by_role("heading", name="Background Stylizer").wait_for(timeout=60_000)
                figures[f"{kind}_title_drawn_s"] = time.perf_counter() - started  # Streamlit's own
                page.get_by_test_id("stButtonGroup").filter(has_text="Webcam").wait_for(timeout=60_000)
                figures[f"{kind}_controls_s"] = time.perf_counter() - started
                page.get_by_text(CAPTION).first.wait_for(timeout=300_000)
                figures[f"{kind}_first_result_s"] = time.perf_counter() - started
                if kind == "cold":
                    page.context.close()

            waits, driver_waits, library_ms = [], [], []
            pid = page_pid(page_port)
            cpu_before = cpu_seconds(pid)
            for style in [] if args.webcam_only else STYLES[: args.photo_runs]:
                wait, driver = pick_style(page, style)
                waits.append(wait)
                driver_waits.append(driver)
                done = page.get_by_text(re.compile(rf"^\d+×\d+ px · {re.escape(style)} · ")).inner_text()
                library_ms.append(float(re.search(r"total (\d+) ms", done).group(1)))
            if waits:
                figures["photo_wait_median_s"] = statistics.median(waits)
                figures["photo_wait_with_driver_median_s"] = statistics.median(driver_waits)
                figures["photo_library_total_median_ms"] = statistics.median(library_ms)
                figures["photo_wait_over_library"] = figures["photo_wait_median_s"] / (figures["photo_library_total_median_ms"] / 1000)
                figures["photo_page_cpu_per_result_s"] = (cpu_seconds(pid) - cpu_before) / len(waits)  # the page process: library, Streamlit, encodings

            for count in () if args.webcam_only else (2, 4):
                waits = visitors_at_once(browser, url, count)
                figures[f"visitors_{count}_wait_median_s"] = statistics.median(waits)
                figures[f"visitors_{count}_wait_p95_s"] = p95(waits)

            page.context.grant_permissions(["camera"])
            page.get_by_test_id("stButtonGroup").get_by_text("Webcam", exact=True).click()
            frame = page.frame_locator("iframe[title*='streamlit_webrtc']")
            frame.get_by_role("button", name=re.compile("start", re.I)).click(timeout=60_000)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    if int(metric(page, "Frames painted")) >= 10:
                        break
                except Exception:  # noqa: BLE001 - the metrics redraw every second
                    pass
                time.sleep(0.5)
            pid = page_pid(page_port)
            first, t0, cpu0 = int(metric(page, "Frames painted")), time.perf_counter(), cpu_seconds(pid)
            time.sleep(args.webcam_seconds)
            last, t1, cpu1 = int(metric(page, "Frames painted")), time.perf_counter(), cpu_seconds(pid)
            figures["webcam_page_cpu_percent"] = 100 * (cpu1 - cpu0) / (t1 - t0) / (os.cpu_count() or 2)
            figures["webcam_painted_fps"] = (last - first) / (t1 - t0)
            figures["webcam_latency_median_ms"] = float(metric(page, "Latency per frame").split()[0])
            figures["webcam_skipped"] = float(metric(page, "Skipped to keep up"))
            browser.close()

    if not args.webcam_only:
        figures["photo_library_cpu_per_result_s"] = library_cpu(args.source, args.photo_runs)
        figures["photo_page_cpu_over_library"] = figures["photo_page_cpu_per_result_s"] / figures["photo_library_cpu_per_result_s"]
    for name, value in figures.items():
        print(f"{name:<34}{value:10.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
