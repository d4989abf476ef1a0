"""What a scale-out costs: a new task's time from process start to serving its first visitor.

Publishes ../shared to a bucket on the local S3 stand-in (moto, created from infra/bucket.yaml),
then, --runs times, starts the container's own start command (the Dockerfile's CMD: fetch and
verify every model, then serve the page) with an empty model cache, as a new Fargate task has,
and sends a Chromium visitor the moment the health check passes. Prints, from process start:
models fetched, health check passing (the load balancer would now send visitors), the visitor's
first sight of the page, its controls, and its first painted photo.

Not included: pulling the container image and Fargate's own start (outside this machine).

    .venv/bin/python scripts/cold_start.py [--runs 3] [--json cold.json]
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
import threading
import time
import urllib.request
from pathlib import Path

import dockerfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "infra"))

from local_stack import deploy_bucket  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_FLAGS, free_port  # noqa: E402

CAPTION = re.compile(r"^\d+×\d+ px · ")


def container_command(port: int) -> str:
    command = next(c for c in dockerfile.parse_file(str(ROOT / "Dockerfile")) if c.cmd == "CMD").value[-1]
    return command.replace("8501", str(port)).replace("0.0.0.0", "127.0.0.1")


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
        return True
    except OSError:
        return False


def one_start(browser, env: dict) -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    marks: dict[str, float] = {}
    started = time.perf_counter()
    proc = subprocess.Popen(["sh", "-c", container_command(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, encoding="utf-8")

    def watch() -> None:
        for line in proc.stdout:
            if "files ready" in line and "fetched_s" not in marks:
                marks["fetched_s"] = time.perf_counter() - started

    threading.Thread(target=watch, daemon=True).start()
    try:
        while not answers(url + "/_stcore/health"):
            if proc.poll() is not None or time.perf_counter() - started > 120:
                raise SystemExit("error: the container command did not serve the page within 120 s.")
            time.sleep(0.05)
        marks["healthy_s"] = time.perf_counter() - started
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(url, wait_until="commit")  # not "load": that waits for all of Streamlit's JavaScript
        page.locator("#stylize-boot h1, [data-testid=stHeading] h1").first.wait_for(timeout=60_000)
        marks["first_sight_s"] = time.perf_counter() - started
        page.get_by_role("heading", name="Background Stylizer").wait_for(timeout=60_000)
        marks["title_drawn_s"] = time.perf_counter() - started
        page.get_by_test_id("stButtonGroup").filter(has_text="Webcam").wait_for(timeout=60_000)
        marks["controls_s"] = time.perf_counter() - started
        page.get_by_text(CAPTION).first.wait_for(timeout=120_000)
        marks["first_result_s"] = time.perf_counter() - started
        page.context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", default=str(ROOT.parent / "shared"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    s3_port = free_port()
    endpoint = f"http://127.0.0.1:{s3_port}"
    aws = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    os.environ.update(aws)
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = []
    try:
        deadline = time.monotonic() + 30
        while not answers(endpoint + "/moto-api/"):
            if time.monotonic() > deadline:
                raise SystemExit("error: moto's server did not start within 30 s.")
            time.sleep(0.2)
        store = deploy_bucket("v1")
        subprocess.run([sys.executable, "-m", "stylize", "publish", "--from", args.source, "--to", store], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            for i in range(args.runs):
                with tempfile.TemporaryDirectory(prefix="stylize-cold-") as cache:
                    env = {
                        **{k: v for k, v in os.environ.items() if not k.startswith("STYLIZE_")},
                        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                        "STYLIZE_MODEL_STORE": store,
                        "STYLIZE_CACHE_DIR": cache,  # empty: nothing fetched, nothing compiled
                        "STYLIZE_ICE_SERVERS": "",
                    }
                    marks = one_start(browser, env)
                runs.append(marks)
                print(f"run {i + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in marks.items()), flush=True)
            browser.close()
    finally:
        moto.terminate()
        moto.wait(timeout=20)

    print("\nfrom process start (median of", len(runs), "runs, empty cache):")
    summary = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    for key, value in summary.items():
        print(f"  {key:<16}{value:8.2f} s")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "median": summary}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
