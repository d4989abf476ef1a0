"""Several tasks, one visitor's session: two page processes (two "tasks", each with its own model
cache) behind HAProxy configured like the service's ALB (infra/local_lb.py: cookie stickiness,
WebSocket, health check on /_stcore/health), with visitors in Chromium.

- Every visitor's requests reach one process, and each gets exactly its own painted photo.
- One process is stopped (what ECS does at scale-in): its visitors reconnect to the other one and
  get a usable page that says what happened; the other visitors carry on undisturbed.
- Without stickiness the same page breaks (uploads refused with 400, pictures 404).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from infra.local_lb import COOKIE, load_balancer
from stylize import Settings, StylizeOptions, Stylizer

from .conftest import free_port, page_process, wait_for_http
from .test_e2e import SCREENSHOTS, choose_style, wait_until_idle

pytestmark = pytest.mark.e2e
MOVED = "This page lost its place on the server"


@pytest.fixture(scope="module")
def two_tasks(seeded_bucket, aws_env, tmp_path_factory):
    """{"page1": process, "page2": process} and their ports; each process fetches into its own cache."""
    ports = {"page1": free_port(), "page2": free_port()}
    logs = tmp_path_factory.mktemp("task-logs")
    with contextlib.ExitStack() as stack:
        procs = {}
        for name, port in ports.items():
            env = {**os.environ, "STYLIZE_MODEL_STORE": seeded_bucket, "STYLIZE_CACHE_DIR": str(tmp_path_factory.mktemp(f"{name}-cache")), "STYLIZE_ICE_SERVERS": ""}
            procs[name] = stack.enter_context(page_process(port, env, logs / f"{name}.log"))
        for port in ports.values():
            wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=60)
        yield procs, ports


@pytest.fixture(scope="module")
def reference(seeded_bucket, tmp_path_factory):
    return Stylizer.from_settings(Settings(model_store=seeded_bucket, cache_dir=tmp_path_factory.mktemp("reference")))


def task_of(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)


def upload(page, photo: Path) -> None:
    page.get_by_test_id("stFileUploader").filter(has_text="Your photo").locator("input[type=file]").set_input_files(str(photo))


def downloaded(page) -> np.ndarray:
    wait_until_idle(page)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name=re.compile("^Download PNG")).click()
    return np.asarray(Image.open(io.BytesIO(Path(download.value.path()).read_bytes())).convert("RGB"))


def expect_painted(page, reference, shared, photo: str, style: str, size: str) -> None:
    page.get_by_text(re.compile(rf"^{size} px · {re.escape(style)} · ")).wait_for(timeout=120_000)
    expected = reference.stylize((shared / "photos" / photo).read_bytes(), style, StylizeOptions()).image
    assert np.array_equal(downloaded(page), expected), f"{photo} in {style}: exactly the library's result"


JOBS = [
    ("boy.jpg", "Red Weave", "640×426"),
    ("man_in_suit.jpg", "Blue Cosmos", "399×640"),
    ("yoga_balcony.jpg", "The Great Wave", "426×640"),
    ("boy.jpg", "Kandinsky Circles", "640×426"),
]


def test_without_stickiness_uploads_and_pictures_break(two_tasks, browser, shared):
    """Why the target group's stickiness is on: without it, the upload (an HTTP request apart
    from the session's WebSocket) and the pictures reach the process without the session."""
    _, ports = two_tasks
    assert all(p.poll() is None for p in two_tasks[0].values()), "both tasks run (this test comes before the one that stops a task)"
    with load_balancer(free_port(), list(ports.values()), sticky=False) as url:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        failures = []
        page.on("response", lambda r: failures.append((r.status, r.request.method, r.url)) if r.status in (400, 404) else None)
        page.goto(url)
        page.get_by_test_id("stFileUploader").first.wait_for(timeout=120_000)
        upload(page, shared / "photos" / "man_in_suit.jpg")
        page.wait_for_timeout(5000)
        refused = [f for f in failures if f[0] == 400 and "/_stcore/upload_file/" in f[2]]
        missing = [f for f in failures if f[0] == 404 and "/media/" in f[2]]
        assert refused or missing, "without stickiness some request reaches the process without the session"
        page.context.close()


def test_sticky_sessions_survive_losing_a_task(two_tasks, browser, shared, reference):
    procs, ports = two_tasks
    with load_balancer(free_port(), list(ports.values()), sticky=True) as url:
        pages = []
        for _ in JOBS:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(url)
            pages.append(page)
        for page in pages:
            page.get_by_text(re.compile(r"^\d+×\d+ px · ")).first.wait_for(timeout=120_000)
        tasks = [task_of(page) for page in pages]
        assert set(tasks) == {"page1", "page2"}, f"visitors spread over both tasks: {tasks}"

        # every visitor uploads and paints at the same time, through the load balancer
        for page, (photo, style, _) in zip(pages, JOBS, strict=True):
            choose_style(page, style)
            upload(page, shared / "photos" / photo)
        for page, (photo, style, size) in zip(pages, JOBS, strict=True):
            expect_painted(page, reference, shared, photo, style, size)
        assert [task_of(page) for page in pages] == tasks, "each visitor stayed on its task"

        # the task of the first visitor stops, as ECS stops a task at scale-in
        gone = tasks[0]
        procs[gone].terminate()
        procs[gone].wait(timeout=30)
        survivor = "page2" if gone == "page1" else "page1"
        for page, (photo, _style, size), task in zip(pages, JOBS, tasks, strict=True):
            if task == survivor:  # the others carry on: a new style, painted right, no notice
                choose_style(page, "Starry Night")
                expect_painted(page, reference, shared, photo, "Starry Night", size)
                assert page.get_by_text(MOVED).count() == 0
                continue
            # a moved visitor: the browser reconnects through the load balancer (the controls are
            # enabled again), and the next thing they do reaches the other task, which says so
            deadline = time.monotonic() + 60
            while task_of(page) != survivor:  # the load balancer's cookie now names the other task
                assert time.monotonic() < deadline, "the browser reconnected through the load balancer"
                page.wait_for_timeout(250)
            expect(page.get_by_role("button", name=re.compile("^Download PNG"))).to_be_enabled(timeout=60_000)
            choose_style(page, "The Mellow Pad")
            page.get_by_text(MOVED).wait_for(timeout=60_000)
            # the new task starts the session afresh (as the notice says): the sample photo, in the
            # default style — or in the style just chosen, when the choice reached the new session
            # after its first run (a choice reruns the page's studio fragment, which a session
            # that has not run yet does not have: Streamlit drops that request)
            page.get_by_text(re.compile(r"^\d+×\d+ px · (Starry Night|The Mellow Pad) · ")).wait_for(timeout=60_000)
            uploader = page.get_by_test_id("stFileUploader").filter(has_text="Your photo")
            assert photo not in uploader.inner_text(), "no uploader naming a file the new task never had"
            text = page.locator("body").inner_text()
            assert "Traceback" not in text and "Error" not in text, text[:500]
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "moved-to-another-task.png"))
            # …and the page is usable: upload again, painted right, the notice gone
            choose_style(page, "The Mellow Pad")
            upload(page, shared / "photos" / photo)
            expect_painted(page, reference, shared, photo, "The Mellow Pad", size)
            assert page.get_by_text(MOVED).count() == 0
        for page in pages:
            page.context.close()
