"""Capacity of one page process: N visitors at once in headless Chromium doing the photo flow.

Each visitor, in a loop for --seconds: uploads a photo (the three samples in turn), picks a style,
and waits for the painted result; its time to result is from the upload to the caption naming
that photo's size and that style. A visitor that waits past --timeout, or sees an error on the
page, counts an error and reloads. For every N (default 1, 2, 4, 8) it prints the median and
95th-percentile time to result, results and errors, and the page process's CPU use (% of the
task's 2 vCPUs, as ECS's CPUUtilization counts it) and the whole machine's.

Chromium runs on the same 2 cores as the page; its processes run at the lowest priority (nice 19)
so the page process gets the CPU first, as it would with the visitors' browsers elsewhere. The
times still include Chromium's own (slowed) work, so they are an upper bound. What a task holds
is therefore read from the page process's own CPU per result (its CPU over the results it gave,
the median over the N run): visitors who never pause, each waiting at most ``TARGET_S`` for a
result, are served while they cost the task's ``TASK_VCPUS`` at most all of their time — at most
``TASK_VCPUS × TARGET_S / (CPU per result)`` of them. It also prints the CPU ``DESIGN_VISITORS``
such visitors cost a task: the autoscaling target (``infra/service.yaml`` ``TargetCpuPercent``).

    .venv/bin/python scripts/load.py [--visitors 1 2 4 8] [--seconds 60] [--json load.json]

``--large N`` runs the memory scenario instead: N visitors at the same moment each upload a 12 MP
photo (4000×3000; with ``--bomb``, the last one a 5 KB PNG that decodes to 7000×5700) and choose
*Full size*; it prints each one's time to result, whether it saw itself queued, and the page
process's peak resident memory (VmHWM), which the memory budget keeps under half a task (2 GB).
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
TASK_VCPUS = 2  # infra/service.yaml's Cpu (2048 units)
TARGET_S = 2.0  # the median time to result a visitor should see at most
DESIGN_VISITORS = 4  # visitors who never pause that one task must hold at TARGET_S


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text(encoding="utf-8").split("\n", 1)[0].split()[1:]]
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
        encoding="utf-8",
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


def task_capacity(per_result: list[float]) -> dict | None:
    """What one task holds, from the page process's CPU seconds per result (one per run): how many
    visitors who never pause it serves at ``TARGET_S`` a result with its ``TASK_VCPUS`` to itself,
    and the CPU (% of the task) that ``DESIGN_VISITORS`` of them cost it."""
    if not per_result:
        return None
    cpu = statistics.median(per_result)
    return {
        "cpu_s_per_result": cpu,
        "visitors_per_task": int(TASK_VCPUS * TARGET_S / cpu),
        "design_cpu_percent": 100 * DESIGN_VISITORS * cpu / (TARGET_S * TASK_VCPUS),
    }


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def large_photos(source: Path, folder: Path, count: int, bomb: bool) -> list[tuple[Path, str]]:
    """``count`` photos to upload at once: 12 MP JPEGs made from the samples (and the PNG bomb)."""
    from PIL import Image

    made = []
    for i in range(count):
        name, _ = PHOTOS[i % len(PHOTOS)]
        path = folder / f"large-{i}.jpg"
        Image.open(source / name).convert("RGB").resize((4000, 3000), Image.LANCZOS).save(path, quality=92)
        made.append((path, "4000×3000"))
    if bomb:
        path = folder / "bomb.png"
        Image.new("RGB", (7000, 5700), (200, 180, 160)).save(path, optimize=True)
        made[-1] = (path, "7000×5700")
    return made


async def large_visitor(browser, url: str, photo: Path, size: str, timeout_ms: float, ready: asyncio.Barrier) -> tuple[float, bool, bool]:
    """(seconds from choosing *Full size* to the result, whether it was queued, whether it failed)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(url)
    await result_shown(page, r"^\d+×\d+ px · ", 120_000)
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Your photo")
    await uploader.locator("input[type=file]").set_input_files(str(photo))
    full = page.get_by_text(f"Full size {size}", exact=True)
    await full.wait_for(timeout=timeout_ms)
    await result_shown(page, r"^1024×\d+ px · ", timeout_ms)  # this photo at the default size first
    await ready.wait()  # every visitor has uploaded and seen the default size: all choose Full size together
    started = time.perf_counter()
    await full.click()
    queued = failed = False
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if await page.get_by_text(re.compile(r"^Queued behind \d+ painting")).count():
            queued = True
        if await page.evaluate(RESULT_SHOWN, rf"^{size} px · "):
            break
        if await page.get_by_test_id("stException").count() or await page.get_by_test_id("stAlertContentError").count():
            failed = True
            break
        await asyncio.sleep(0.2)
    else:
        failed = True
    seconds = time.perf_counter() - started
    await context.close()
    return seconds, queued, failed


async def run_large(url: str, photos: list[tuple[Path, str]], timeout_ms: float) -> list[tuple[float, bool, bool]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        ready = asyncio.Barrier(len(photos))
        results = await asyncio.gather(*(large_visitor(browser, url, photo, size, timeout_ms, ready) for photo, size in photos))
        await browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", default=str(ROOT.parent / "shared"))
    parser.add_argument("--visitors", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each N runs")
    parser.add_argument("--timeout", type=float, default=60.0, help="a result later than this is an error")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--large", type=int, default=0, help="instead: this many visitors send a 12 MP photo at full size at the same moment")
    parser.add_argument("--bomb", action="store_true", help="with --large: the last visitor sends a 5 KB PNG that decodes to 7000×5700")
    args = parser.parse_args()
    if args.large:
        return main_large(args)

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
            cpu_used = cpu_seconds(pid) - cpu0
            cpu = 100 * cpu_used / (time.monotonic() - wall0) / (os.cpu_count() or 2)
            machine1 = machine_cpu()
            busy = 100 * (machine1[0] - machine0[0]) / max(1e-9, machine1[1] - machine0[1])
            row = {
                "visitors": count,
                "page_cpu_s_per_result": cpu_used / max(1, len(waits)),
                "results": len(waits),
                "errors": errors,
                "median_s": statistics.median(waits) if waits else float("nan"),
                "p95_s": p95(waits) if waits else float("nan"),
                "page_cpu_percent": cpu,
                "machine_cpu_percent": busy,
            }
            rows.append(row)
            print(
                f"{count} visitors: {row['results']} results, {errors} errors, median {row['median_s']:.2f} s, p95 {row['p95_s']:.2f} s, "
                f"page CPU {cpu:.0f} % ({row['page_cpu_s_per_result']:.2f} s a result), machine {busy:.0f} %",
                flush=True,
            )

    print(f"\n{'visitors':>8} {'results':>8} {'errors':>7} {'median s':>9} {'p95 s':>7} {'page CPU %':>11} {'CPU s/result':>13} {'machine CPU %':>14}")
    for r in rows:
        print(
            f"{r['visitors']:>8} {r['results']:>8} {r['errors']:>7} {r['median_s']:>9.2f} {r['p95_s']:>7.2f} "
            f"{r['page_cpu_percent']:>11.0f} {r['page_cpu_s_per_result']:>13.2f} {r['machine_cpu_percent']:>14.0f}"
        )
    capacity = task_capacity([r["page_cpu_s_per_result"] for r in rows if r["results"]])
    if capacity is not None:
        print(
            f"\npage process CPU per result: {capacity['cpu_s_per_result']:.2f} s (median over the runs); a {TASK_VCPUS}-vCPU task serves "
            f"{capacity['visitors_per_task']} visitors who never pause at <= {TARGET_S:.0f} s a result; {DESIGN_VISITORS} such visitors "
            f"cost it {capacity['design_cpu_percent']:.0f} % CPU: the autoscaling target (infra/service.yaml TargetCpuPercent)"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "capacity": capacity}, indent=2), encoding="utf-8")
    return 0


def main_large(args) -> int:
    with tempfile.TemporaryDirectory(prefix="stylize-load-large-") as folder, served_page(args.source, "stylize-load-cache-") as (url, page_port):
        pid = page_pid(page_port)
        os.nice(19)
        photos = large_photos(Path(args.source) / "photos", Path(folder), args.large, args.bomb)
        before = peak_rss_mb(pid)
        results = asyncio.run(run_large(url, photos, max(args.timeout, 300.0) * 1000))
        peak = peak_rss_mb(pid)
    for (photo, size), (seconds, queued, failed) in zip(photos, results, strict=True):
        print(f"{photo.name:<12} {size:>10}: {'FAILED' if failed else f'{seconds:.1f} s'}{' (queued first)' if queued else ''}")
    print(f"page process peak RSS: {peak:.0f} MB (before the large photos: {before:.0f} MB)")
    if args.json:
        args.json.write_text(json.dumps({"visitors": [{"photo": p.name, "size": s, "seconds": r[0], "queued": r[1], "failed": r[2]} for (p, s), r in zip(photos, results, strict=True)], "peak_rss_mb": peak}, indent=2), encoding="utf-8")
    return 0 if not any(r[2] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
