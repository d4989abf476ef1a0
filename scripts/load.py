"""Capacity of one page process: N visitors at once in headless Chromium doing the photo flow.

Each visitor, in a loop for --seconds: uploads a photo (the three samples in turn), picks a style,
and waits for the painted result; its time to result is from the upload to the caption naming
that photo's size and that style. A visitor that waits past --timeout, or sees an error on the
page, counts an error and reloads. For every N (default 1, 2, 4, 8) it prints the median and
95th-percentile time to result, results and errors, and the page process's CPU use (% of the
task's 2 vCPUs, as ECS's CPUUtilization counts it) and the whole machine's.

Chromium runs on the same 2 cores as the page; its processes run at the lowest priority (nice 19)
so the page process gets the CPU first, as it would with the visitors' browsers elsewhere. The
times still include Chromium's own (slowed) work, so they are an upper bound.

    .venv/bin/python scripts/load.py [--visitors 1 2 4 8] [--seconds 60] [--json load.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_FLAGS, free_port  # noqa: E402

PHOTOS = [("boy.jpg", "640×426"), ("man_in_suit.jpg", "399×640"), ("yoga_balcony.jpg", "426×640")]
STYLES = ["The Great Wave", "Blue Cosmos", "Red Weave", "Kandinsky Circles", "The Mellow Pad", "Klee Masks", "Starry Night"]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def page_pid(port: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(command) and str(port).encode() in command:
                return int(entry.name)
    raise RuntimeError(f"no page process on port {port}")


@contextlib.contextmanager
def served_page(source: str, cache_prefix: str):
    """The local stand-in (infra/local_stack.py: moto's S3 with the store published from
    ``source``, one page process with an empty model cache); yields (url, page port)."""
    page_port = free_port()
    stack = subprocess.Popen(
        [sys.executable, str(ROOT / "infra" / "local_stack.py"), "--from", source, "--s3-port", str(free_port()), "--page-port", str(page_port)],
        env={**os.environ, "STYLIZE_CACHE_DIR": tempfile.mkdtemp(prefix=cache_prefix)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        for line in stack.stdout:
            if "open http://" in line:
                break
        threading.Thread(target=lambda: [None for _ in stack.stdout], daemon=True).start()  # keep its pipe drained
        yield f"http://127.0.0.1:{page_port}", page_port
    finally:
        stack.terminate()
        stack.wait(timeout=30)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# Playwright's own locator waits re-scan the page on every animation frame, which with eight
# visitors costs Chromium more CPU than the page process spends painting; a check every 100 ms
# keeps the load generator's share of these two cores down.
RESULT_SHOWN = """pattern => [...document.querySelectorAll('[data-testid=stCaptionContainer]')].some(e => new RegExp(pattern).test(e.innerText))"""


async def result_shown(page, pattern: str, timeout_ms: float) -> None:
    await page.wait_for_function(RESULT_SHOWN, arg=pattern, polling=100, timeout=timeout_ms)


async def visitor(browser, url: str, index: int, photos: Path, until: float, timeout_ms: float) -> tuple[list[float], int]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    waits: list[float] = []
    errors = 0
    await page.goto(url)
    await result_shown(page, r"^\d+×\d+ px · ", 120_000)
    round_ = 0
    while time.monotonic() < until:
        photo, size = PHOTOS[(index + round_) % len(PHOTOS)]
        style = STYLES[(index + round_) % len(STYLES)]
        round_ += 1
        started = time.perf_counter()
        try:
            uploader = page.get_by_test_id("stFileUploader").filter(has_text="Your photo")
            await uploader.locator("input[type=file]").set_input_files(str(photos / photo))
            await page.get_by_test_id("stSelectbox").filter(has_text="Style").first.click(timeout=timeout_ms)
            await page.keyboard.type(style)
            await page.get_by_role("option", name=style).click(timeout=timeout_ms)
            await result_shown(page, rf"^{size} px · {re.escape(style)} · ", timeout_ms)
            if await page.get_by_test_id("stException").count() or await page.get_by_test_id("stAlertContentError").count():
                raise RuntimeError("an error on the page")
            waits.append(time.perf_counter() - started)
        except Exception:  # noqa: BLE001 - any failure is an error for this visitor; start over
            errors += 1
            await page.goto(url)
            await result_shown(page, r"^\d+×\d+ px · ", 120_000)
    await context.close()
    return waits, errors


async def run_load(url: str, count: int, seconds: float, photos: Path, timeout_ms: float) -> tuple[list[float], int]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        until = time.monotonic() + seconds
        results = await asyncio.gather(*(visitor(browser, url, i, photos, until, timeout_ms) for i in range(count)))
        await browser.close()
    waits = [w for ws, _ in results for w in ws]
    return waits, sum(e for _, e in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", default=str(ROOT.parent / "shared"))
    parser.add_argument("--visitors", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each N runs")
    parser.add_argument("--timeout", type=float, default=60.0, help="a result later than this is an error")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    rows = []
    with served_page(args.source, "stylize-load-cache-") as (url, page_port):
        pid = page_pid(page_port)
        # The visitors' browsers yield the CPU to the page process (they inherit this niceness),
        # as remote visitors' browsers would: the page's own capacity is what is measured.
        os.nice(19)
        asyncio.run(run_load(url, 1, 5, Path(args.source) / "photos", args.timeout * 1000))  # warm-up: compile the photo sizes
        for count in args.visitors:
            cpu0, wall0, machine0 = cpu_seconds(pid), time.monotonic(), machine_cpu()
            waits, errors = asyncio.run(run_load(url, count, args.seconds, Path(args.source) / "photos", args.timeout * 1000))
            cpu = 100 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0) / (os.cpu_count() or 2)
            machine1 = machine_cpu()
            busy = 100 * (machine1[0] - machine0[0]) / max(1e-9, machine1[1] - machine0[1])
            row = {
                "visitors": count,
                "results": len(waits),
                "errors": errors,
                "median_s": statistics.median(waits) if waits else float("nan"),
                "p95_s": p95(waits) if waits else float("nan"),
                "page_cpu_percent": cpu,
                "machine_cpu_percent": busy,
            }
            rows.append(row)
            print(f"{count} visitors: {row['results']} results, {errors} errors, median {row['median_s']:.2f} s, p95 {row['p95_s']:.2f} s, page CPU {cpu:.0f} %, machine {busy:.0f} %", flush=True)

    print(f"\n{'visitors':>8} {'results':>8} {'errors':>7} {'median s':>9} {'p95 s':>7} {'page CPU %':>11} {'machine CPU %':>14}")
    for r in rows:
        print(f"{r['visitors']:>8} {r['results']:>8} {r['errors']:>7} {r['median_s']:>9.2f} {r['p95_s']:>7.2f} {r['page_cpu_percent']:>11.0f} {r['machine_cpu_percent']:>14.0f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
