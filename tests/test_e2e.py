"""End to end in a real browser: Debian's Chromium, driven by Playwright, against the page served by
`streamlit run` with its models in the local S3 endpoint. Chromium's fake camera stands in for a
webcam. The screenshots it takes are the README's."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylize import Settings, StylizeOptions, Stylizer

from .conftest import ROOT, free_port, wait_for_http

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# STYLIZE_SCREENSHOT_DIR=docs/screenshots refreshes the README's pictures
SCREENSHOTS = Path(os.environ.get("STYLIZE_SCREENSHOT_DIR", ROOT / "test-artifacts" / "screenshots"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


@pytest.fixture(scope="module")
def page_url(seeded_bucket, aws_env, tmp_path_factory):
    port = free_port()
    cache = tmp_path_factory.mktemp("page-cache")  # cold: the page fetches everything from S3
    env = {**os.environ, "STYLIZE_MODEL_STORE": seeded_bucket, "STYLIZE_CACHE_DIR": str(cache), "STYLIZE_ICE_SERVERS": ""}
    with open(tmp_path_factory.mktemp("logs") / "streamlit.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(url + "/_stcore/health", timeout=60)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed; scripts/setup.sh dev installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


def result_caption(page):
    return page.get_by_text(re.compile(r"^\d+×\d+ px · ")).first


def test_photo_webcam_and_compare_in_a_browser(page_url, browser, shared):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["camera"], origin=page_url)
    page = context.new_page()
    page.goto(page_url)

    # start-up: models come from S3, then the sample photo is painted
    page.get_by_text("Style gallery").wait_for(timeout=120_000)
    result_caption(page).wait_for(timeout=120_000)

    # the gallery: 26 named thumbnails; "Use" picks one
    page.get_by_text("Style gallery").click()
    gallery = page.get_by_test_id("stExpander")
    gallery.get_by_text("The Great Wave").wait_for()
    assert gallery.get_by_test_id("stImage").count() == 26
    assert gallery.get_by_role("button", name="Use").count() == 26
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "gallery.png"))
    gallery.get_by_test_id("stColumn").nth(2).get_by_role("button", name="Use").first.click()  # style2
    result_caption(page).filter(has_text="Kandinsky Circles").wait_for(timeout=60_000)
    page.get_by_text("Style gallery").click()

    # upload a photo, pick a style, see it painted
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Upload a photo")
    uploader.locator("input[type=file]").set_input_files(str(shared / "photos" / "yoga_balcony.jpg"))
    page.get_by_text(re.compile(r"^426×640 px · ")).wait_for(timeout=60_000)
    page.get_by_test_id("stSelectbox").filter(has_text="Gallery style").click()
    page.keyboard.type("Great Wave")
    page.get_by_role("option", name="The Great Wave").click()
    page.get_by_text(re.compile(r"^426×640 px · The Great Wave · background only")).wait_for(timeout=60_000)
    images = page.get_by_test_id("stImage")
    assert images.count() >= 2
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "photo.png"))

    # compare the variants
    page.get_by_role("button", name="Compare variants").click()
    page.get_by_test_id("stDataFrame").wait_for(timeout=180_000)
    page.get_by_text("float reference").first.wait_for()
    page.wait_for_timeout(1500)
    page.get_by_role("heading", name="Compare model variants").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "compare.png"))

    # the webcam: Chromium's fake camera, painted live; the frame counter must rise
    page.get_by_test_id("stSidebar").get_by_text("Webcam").click()
    frame = page.frame_locator("iframe[title*='streamlit_webrtc']")
    frame.get_by_role("button", name=re.compile("start", re.I)).click(timeout=60_000)
    painted = page.get_by_test_id("stMetric").filter(has_text="Frames painted").get_by_test_id("stMetricValue")
    first = wait_for_count(painted, at_least=3, timeout=90)
    later = wait_for_count(painted, at_least=first + 5, timeout=90)
    assert later > first
    fps = page.get_by_test_id("stMetric").filter(has_text="Frames per second").get_by_test_id("stMetricValue").inner_text()
    assert float(fps) > 0
    page.screenshot(path=str(SCREENSHOTS / "webcam.png"))
    frame.get_by_role("button", name=re.compile("stop", re.I)).click()
    context.close()


def wait_until_idle(page) -> None:
    """Until the script run that drew the page has finished (Streamlit's running indicator is gone)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=120_000)


def wait_for_count(locator, at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    value = -1
    while time.monotonic() < deadline:
        try:
            value = int(locator.inner_text(timeout=2000))
        except Exception:  # the metric is redrawn every second; try again
            value = -1
        if value >= at_least:
            return value
        time.sleep(0.5)
    raise AssertionError(f"the frame counter reached {value}, not {at_least}, in {timeout} s")


def test_two_visitors_at_once_get_their_own_correct_results(page_url, browser, shared, seeded_bucket, tmp_path):
    """Two browser sessions paint different photos in different styles at the same time; each
    downloads exactly what the library makes of its own photo."""
    jobs = [("boy.jpg", "Red Weave", "640×426"), ("man_in_suit.jpg", "Blue Cosmos", "399×640")]
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in jobs]
    pages = [c.new_page() for c in contexts]
    for page in pages:
        page.goto(page_url)
    for page in pages:
        result_caption(page).wait_for(timeout=120_000)
    for page, (_photo, style, _) in zip(pages, jobs, strict=True):
        page.get_by_test_id("stSelectbox").filter(has_text="Gallery style").click()
        page.keyboard.type(style)
        page.get_by_role("option", name=style).click()
    for page, (photo, _, _) in zip(pages, jobs, strict=True):  # both uploads in flight together
        uploader = page.get_by_test_id("stFileUploader").filter(has_text="Upload a photo")
        uploader.locator("input[type=file]").set_input_files(str(shared / "photos" / photo))
    reference = Stylizer.from_settings(Settings(model_store=seeded_bucket, cache_dir=tmp_path))
    for page, (photo, style, size) in zip(pages, jobs, strict=True):
        page.get_by_text(re.compile(rf"^{size} px · {style} · ")).wait_for(timeout=120_000)
        wait_until_idle(page)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download PNG").click()
        got = np.asarray(Image.open(io.BytesIO(Path(download.value.path()).read_bytes())).convert("RGB"))
        expected = reference.stylize((shared / "photos" / photo).read_bytes(), style, StylizeOptions()).image
        assert np.array_equal(got, expected), f"{photo} in {style}: the download is exactly the library's result"
    for c in contexts:
        c.close()
