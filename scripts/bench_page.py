"""Benchmark the page as a visitor meets it, in headless Chromium, against the local S3 stand-in.

Prints (and with --json writes): page start with a cold cache (models fetched from S3, loaded,
gallery vectors ready, first photo painted), photo stylization time as the visitor waits for it,
and webcam frames per second in background mode. Run from the project root:

    .venv/bin/python scripts/bench_page.py [--webcam-seconds 20] [--json figures.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port  # noqa: E402
from tests.test_e2e import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402


def painted_count(page) -> int:
    value = page.get_by_test_id("stMetric").filter(has_text="Frames painted").get_by_test_id("stMetricValue")
    return int(value.inner_text(timeout=5000))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", default=str(ROOT.parent / "shared"))
    parser.add_argument("--photo-runs", type=int, default=5)
    parser.add_argument("--webcam-seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    page_port = free_port()
    cache = tempfile.mkdtemp(prefix="stylize-bench-cache-")
    env = {**os.environ, "STYLIZE_CACHE_DIR": cache}
    stack = subprocess.Popen(
        [sys.executable, str(ROOT / "infra" / "local_stack.py"), "--from", args.source, "--s3-port", str(free_port()), "--page-port", str(page_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    figures: dict[str, float] = {}
    try:
        for line in stack.stdout:
            if "open http://" in line:
                break
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            caption = re.compile(r"^\d+×\d+ px · ")

            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{page_port}")
            page.get_by_text(caption).first.wait_for(timeout=300_000)
            figures["cold_start_to_first_result_s"] = time.perf_counter() - started

            waits, library_ms = [], []
            styles = ["Starry Night", "The Great Wave", "Blue Cosmos", "Red Weave", "Kandinsky Circles", "The Mellow Pad", "Klee Masks"]
            uploader = page.get_by_test_id("stFileUploader").filter(has_text="Upload a photo").locator("input[type=file]")
            uploader.set_input_files(str(Path(args.source) / "photos" / "yoga_balcony.jpg"))
            page.get_by_text(re.compile(r"^426×640 px · ")).wait_for(timeout=60_000)
            for style in styles[1 : 1 + args.photo_runs]:
                started = time.perf_counter()
                page.get_by_test_id("stSelectbox").filter(has_text="Gallery style").click()
                page.keyboard.type(style)
                page.get_by_role("option", name=style).click()
                done = page.get_by_text(re.compile(rf"^426×640 px · {re.escape(style)} · "))
                done.wait_for(timeout=60_000)
                waits.append(time.perf_counter() - started)
                library_ms.append(float(re.search(r"total (\d+) ms", done.inner_text()).group(1)))
            figures["photo_wait_median_s"] = statistics.median(waits)
            figures["photo_library_total_median_ms"] = statistics.median(library_ms)

            context.grant_permissions(["camera"])
            page.get_by_test_id("stSidebar").get_by_text("Webcam").click()
            frame = page.frame_locator("iframe[title*='streamlit_webrtc']")
            frame.get_by_role("button", name=re.compile("start", re.I)).click(timeout=60_000)
            deadline = time.monotonic() + 60
            while painted_count(page) < 3 and time.monotonic() < deadline:
                time.sleep(0.5)
            first, t0 = painted_count(page), time.perf_counter()
            time.sleep(args.webcam_seconds)
            last, t1 = painted_count(page), time.perf_counter()
            figures["webcam_background_fps"] = (last - first) / (t1 - t0)
            metric = page.get_by_test_id("stMetric").filter(has_text="Latency per frame").get_by_test_id("stMetricValue").inner_text()
            figures["webcam_latency_median_ms"] = float(metric.split()[0])
            browser.close()
    finally:
        stack.terminate()
        stack.wait(timeout=30)

    for name, value in figures.items():
        print(f"{name:<34}{value:10.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
