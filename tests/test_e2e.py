"""End to end in a real browser: Debian's Chromium, driven by Playwright, against the page served by
`streamlit run` with its models in the local S3 endpoint. Chromium's fake camera stands in for a
webcam. The screenshots it takes are the README's."""

from __future__ import annotations

import io
import os
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from stylize import Settings, StylizeOptions, Stylizer

from .conftest import ROOT, free_port, page_process, wait_for_http

pytestmark = pytest.mark.e2e
# STYLIZE_SCREENSHOT_DIR=docs/screenshots refreshes the README's pictures
SCREENSHOTS = Path(os.environ.get("STYLIZE_SCREENSHOT_DIR", ROOT / "test-artifacts" / "screenshots"))


@pytest.fixture(scope="module")
def page_url(seeded_bucket, aws_env, tmp_path_factory):
    port = free_port()
    cache = tmp_path_factory.mktemp("page-cache")  # cold: the page fetches everything from S3
    env = {**os.environ, "STYLIZE_MODEL_STORE": seeded_bucket, "STYLIZE_CACHE_DIR": str(cache), "STYLIZE_ICE_SERVERS": ""}
    with page_process(port, env, tmp_path_factory.mktemp("logs") / "streamlit.log"):
        url = f"http://127.0.0.1:{port}"
        wait_for_http(url + "/_stcore/health", timeout=60)
        yield url


def result_caption(page):
    return page.get_by_text(re.compile(r"^\d+×\d+ px · ")).first


def box(locator) -> dict:
    b = locator.bounding_box()
    assert b is not None, "the element is on the page"
    return b


def overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def inside_width(b: dict, left: float, right: float) -> bool:
    return b["x"] >= left - 1 and b["x"] + b["width"] <= right + 1


def wait_for_images(page) -> None:
    """Until every picture on the page has loaded (their boxes have their real size)."""
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stImage] img')].every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)


def scroll_to_top(page) -> None:
    """Streamlit scrolls an inner container, not the window."""
    page.get_by_test_id("stMain").evaluate("e => e.scrollTo(0, 0)")
    page.wait_for_timeout(400)


def choose_style(page, title: str) -> None:
    """Pick a gallery style in the Style select, as a visitor does: open it, filter, click the option.
    The filter is filled into the select's own input (typed keys could land elsewhere while a rerun
    redraws it)."""
    select = page.get_by_test_id("stSelectbox").filter(has_text="Style").first
    option = page.get_by_role("option", name=title)
    for attempt in (1, 2):
        select.click()
        select.locator("input").fill(title)
        try:
            option.wait_for(timeout=15_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            # once seen in CI (1 of ~40 choices): the list never showed the option; say what the
            # select held, then close it and choose again, as a visitor would
            warnings.warn(f"choose_style({title!r}): no option after 15 s; {select_state(select)}; choosing again", stacklevel=2)
            page.keyboard.press("Escape")
    option.click()


def select_state(select) -> str:
    """What a select shows: its input's text, whether its list is open, the options listed."""
    field = select.locator("input")
    options = select.page.get_by_role("option").all_inner_texts()
    return f"input {field.input_value()!r}, aria-expanded {field.get_attribute('aria-expanded')}, options listed {options[:5]}"


VIEWPORTS = {"desktop": (1280, 900), "wide": (1920, 1080), "phone": (390, 844)}


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_layout_fits_the_screen(page_url, browser, shared, name):
    """The painted picture and the original never overlap and stay inside the content column and
    the screen; on a phone the result comes first and every control is on the page itself."""
    width, height = VIEWPORTS[name]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(page_url)
    page.get_by_test_id("stFileUploader").first.wait_for(timeout=120_000)
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Your photo")
    uploader.locator("input[type=file]").set_input_files(str(shared / "photos" / "boy.jpg"))
    result_caption(page).wait_for(timeout=120_000)
    wait_until_idle(page)
    wait_for_images(page)
    content = box(page.get_by_test_id("stMainBlockContainer"))
    painted = box(page.get_by_test_id("stImage").filter(has=page.get_by_text("Painted ·")).first)
    original = box(page.get_by_test_id("stImage").filter(has=page.get_by_text("Original ·")).first)
    assert not overlap(painted, original), (painted, original)
    for image in (painted, original):
        assert inside_width(image, content["x"], content["x"] + content["width"]), (image, content)
        assert inside_width(image, 0, width), (image, width)
        assert image["width"] > 100
    controls = [
        page.get_by_test_id("stButtonGroup").filter(has_text="Webcam"),
        page.get_by_test_id("stSelectbox").filter(has_text="Style").first,
        page.get_by_test_id("stSelectbox").filter(has_text="Mix with a second artwork"),
        page.get_by_test_id("stCheckbox").filter(has_text="Keep the photo's colours"),
        page.get_by_test_id("stRadio").filter(has_text="What to paint"),
        page.get_by_test_id("stSelectbox").filter(has_text="Person's style"),
        page.get_by_test_id("stRadio").filter(has_text="Transfer model"),
        page.get_by_test_id("stRadio").filter(has_text="Runtime"),
        page.get_by_test_id("stRadio").filter(has_text="Result size"),
        page.get_by_role("button", name="Download PNG"),
    ]
    for control in controls:
        control.scroll_into_view_if_needed()
        b = box(control)
        assert inside_width(b, 0, width), b
    assert page.get_by_test_id("stSidebar").count() == 0 or not page.get_by_test_id("stSidebar").is_visible(), "nothing lives in a sidebar"
    assert painted["x"] + painted["width"] <= original["x"] + 1 and abs(painted["y"] - original["y"]) <= 1, "the painting beside the original, on every screen"
    if name == "phone":
        page.get_by_text("Gallery of the artworks", exact=True).click()  # a compact grid in the Style select's order
        gallery = page.get_by_test_id("stExpander")
        expect(gallery.get_by_test_id("stImage")).to_have_count(26, timeout=30_000)
        wait_for_images(page)
        thumbs = [box(gallery.locator(f".st-key-use-style{i}").locator("xpath=..")) for i in range(4)]
        assert all(abs(t["y"] - thumbs[0]["y"]) <= 1 for t in thumbs) and [t["x"] for t in thumbs] == sorted(t["x"] for t in thumbs), f"four a row, in order: {thumbs}"
        assert all(inside_width(t, 0, width) for t in thumbs)
        page.screenshot(path=str(SCREENSHOTS / "gallery-phone.png"))
        page.get_by_text("Gallery of the artworks", exact=True).click()
        scroll_to_top(page)
        first = {c: box(loc) for c, loc in (("Input", controls[0]), ("Your photo", uploader), ("Style", controls[1]))}
        assert painted["y"] < first["Input"]["y"], "on a phone the picture comes before the controls"
        assert all(b["y"] <= 1.5 * height for b in first.values()), f"the photo picker and the Style select within the first 1.5 screens: {first}"
    scroll_to_top(page)
    page.mouse.move(0, 0)  # no hover toolbar over a picture in the screenshot
    page.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"layout-{name}.png"))
    context.close()


@pytest.mark.parametrize("name", ["desktop", "phone"])
def test_boot_screen_holds_the_title_until_the_page_draws_it(page_url, browser, name):
    """Before Streamlit's JavaScript has run, the HTML itself shows the page's title and a line
    (serve.py); it sits exactly where Streamlit then draws the title, and is gone once it has."""
    width, height = VIEWPORTS[name]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    held = []  # Streamlit's main script, held back so the boot screen can be looked at
    page.route(re.compile(r"/static/js/index\.[\w-]+\.js$"), lambda route: held.append(route))
    page.goto(page_url, wait_until="commit")
    boot = page.locator("#stylize-boot h1")
    boot.wait_for(timeout=30_000)
    page.wait_for_timeout(300)
    assert held and page.get_by_test_id("stHeading").count() == 0, "nothing of Streamlit's has run yet"
    early = box(boot)
    assert boot.inner_text() == "Background Stylizer"
    assert inside_width(early, 0, width) and early["y"] + early["height"] <= height, early
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"boot-{name}.png"))
    for route in held:
        route.continue_()
    page.get_by_test_id("stHeading").filter(has_text="Background Stylizer").wait_for(timeout=60_000)
    expect(page.locator("#stylize-boot")).to_have_count(0)
    real = box(page.get_by_test_id("stHeading").locator("h1").first)
    assert abs(real["x"] - early["x"]) <= 2 and abs(real["y"] - early["y"]) <= 2, f"the title stays put: {early} → {real}"
    context.close()


def test_photo_webcam_and_compare_in_a_browser(page_url, browser, shared):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["camera"], origin=page_url)
    page = context.new_page()
    page.goto(page_url)
    result_caption(page).wait_for(timeout=120_000)

    # the gallery: 26 square thumbnails, the current one marked; "Use" picks one
    page.get_by_text("Gallery of the artworks", exact=True).click()
    gallery = page.get_by_test_id("stExpander")
    gallery.get_by_text("The Great Wave").wait_for()
    expect(gallery.get_by_test_id("stImage")).to_have_count(26, timeout=30_000)  # images mount a moment after the text
    expect(gallery.get_by_role("button", name="Use")).to_have_count(25)
    expect(gallery.get_by_role("button", name="✓")).to_have_count(1)
    wait_for_images(page)
    sizes = {(round(b["width"]), round(b["height"])) for b in (box(i) for i in gallery.get_by_test_id("stImage").all())}
    assert len(sizes) == 1, f"every thumbnail the same size, so the buttons line up: {sizes}"
    gallery.locator(".st-key-use-style2 button >> visible=true").first.click()  # Kandinsky Circles
    result_caption(page).filter(has_text="Kandinsky Circles").wait_for(timeout=60_000)
    wait_until_idle(page)
    expect(gallery.get_by_test_id("stImage")).to_have_count(26)  # still open after Use
    expect(gallery.locator(".st-key-use-style2").get_by_role("button", name="✓")).to_have_count(1)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "gallery.png"))
    page.get_by_text("Gallery of the artworks", exact=True).click()

    # upload a photo, pick a style, see it painted, with the size said
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Your photo")
    uploader.locator("input[type=file]").set_input_files(str(shared / "photos" / "yoga_balcony.jpg"))
    page.get_by_text(re.compile(r"^426×640 px · ")).wait_for(timeout=60_000)
    wait_until_idle(page)  # the upload's run has ended: the controls below the uploader have moved up, the old ones are gone
    choose_style(page, "The Great Wave")
    default = {"int8": "int8", "fp16": "float16"}[StylizeOptions.transfer]  # the fastest faithful variant on this CPU
    caption = page.get_by_text(re.compile(rf"^426×640 px · The Great Wave · background only \(keep the person\) \(found by MediaPipe selfie, 1 face kept\) · strength 1.00 · {default} on OpenVINO, painted at 426×640"))
    try:
        caption.wait_for(timeout=60_000)
    except Exception as exc:
        raise AssertionError(f"captions on screen: {[c.inner_text() for c in page.get_by_test_id('stCaptionContainer').all()]}") from exc
    wait_until_idle(page)
    page.screenshot(path=str(SCREENSHOTS / "photo.png"))

    # compare the variants: progress, then a table whose every column is visible
    page.get_by_role("button", name="Compare variants").click()
    page.get_by_text(re.compile(r"^Measuring .* run \d+ of \d+")).wait_for(timeout=60_000)
    table = page.get_by_test_id("stDataFrame")
    table.wait_for(timeout=300_000)
    wait_until_idle(page)
    table_box = box(table)
    assert inside_width(table_box, 0, 1280)
    scroller = table.locator(".dvn-scroller").first  # the grid's own scrolling box: every column fits when it cannot scroll sideways
    widths = scroller.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert widths[0] <= widths[1] + 1, f"the table scrolls sideways: {widths}"
    assert page.get_by_test_id("stVegaLiteChart").count() == 2, "transfer and segmentation charted apart"
    page.get_by_test_id("stMain").evaluate("e => e.scrollTo(0, e.scrollHeight)")  # images load as they come into view
    page.wait_for_timeout(1500)
    shown = page.locator("[data-testid=stImage] img").evaluate_all(
        "els => els.filter(e => e.naturalWidth === 192 && e.naturalHeight === 192).map(e => e.getBoundingClientRect().width)"
    )
    from stylize.engine import OpenVINOEngine

    expected = 3 * len(OpenVINOEngine().precisions()) + 5 + 8  # OpenVINO: 3 transfer variants in each precision, 5 segmenters; LiteRT: 8
    assert len(shown) == expected and all(abs(w - 192) <= 1 for w in shown), f"{expected} crops of 192×192, shown 1:1: {shown}"
    page.get_by_role("heading", name="Compare model variants").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "compare.png"))

    # the webcam: Chromium's fake camera, painted live; the frame counter rises, Stop clears it
    scroll_to_top(page)
    page.get_by_test_id("stButtonGroup").get_by_text("Webcam", exact=True).click()
    page.locator("iframe[title*='streamlit_webrtc']").wait_for(timeout=60_000)
    expect(page.get_by_test_id("stImage").filter(has=page.get_by_text("Painted ·"))).to_have_count(0)  # no photo result left behind, greyed
    frame = page.frame_locator("iframe[title*='streamlit_webrtc']")
    frame.get_by_role("button", name=re.compile("start", re.I)).click(timeout=60_000)
    painted = page.get_by_test_id("stMetric").filter(has_text="Frames painted").get_by_test_id("stMetricValue")
    first = wait_for_count(painted, at_least=3, timeout=90)
    time.sleep(5)
    later = wait_for_count(painted, at_least=first + 1, timeout=30)
    assert later > first, "painted frames keep arriving"
    fps = page.get_by_test_id("stMetric").filter(has_text="Frames per second").get_by_test_id("stMetricValue").inner_text()
    assert float(fps) > 0
    page.wait_for_timeout(1000)
    stop = box(frame.get_by_role("button", name=re.compile("stop", re.I)))
    figures = box(page.get_by_test_id("stMetric").first)
    assert 0 <= figures["y"] - (stop["y"] + stop["height"]) <= 60, f"the figures directly under the video: {stop}, {figures}"
    assert figures["y"] + figures["height"] <= 900, "…and on a 900 px screen"
    page.screenshot(path=str(SCREENSHOTS / "webcam.png"))
    steadiness = page.get_by_test_id("stSlider").filter(has_text="Steadiness")
    expect(steadiness.get_by_test_id("stSliderThumbValue")).to_have_text("0.80")  # on by default
    steadiness.get_by_role("slider").press("Home")  # off
    expect(steadiness.get_by_test_id("stSliderThumbValue")).to_have_text("0.00")
    wait_until_idle(page)
    turned_off = wait_for_count(painted, at_least=0, timeout=10)
    assert wait_for_count(painted, at_least=turned_off + 3, timeout=30) > turned_off, "frames keep coming with steadiness off"
    frame.get_by_role("button", name=re.compile("stop", re.I)).click()
    page.get_by_text("The figures appear here while the camera runs.").wait_for(timeout=30_000)
    assert page.get_by_test_id("stMetric").count() == 0, "the figures are cleared on Stop"
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
        choose_style(page, style)
    for page, (photo, _, _) in zip(pages, jobs, strict=True):  # both uploads in flight together
        uploader = page.get_by_test_id("stFileUploader").filter(has_text="Your photo")
        uploader.locator("input[type=file]").set_input_files(str(shared / "photos" / photo))
    reference = Stylizer.from_settings(Settings(model_store=seeded_bucket, cache_dir=tmp_path))
    for page, (photo, style, size) in zip(pages, jobs, strict=True):
        page.get_by_text(re.compile(rf"^{size} px · {style} · ")).wait_for(timeout=120_000)
        wait_until_idle(page)
        with page.expect_download(timeout=60_000) as download:
            ready_download(page).click()
        got = np.asarray(Image.open(io.BytesIO(Path(download.value.path()).read_bytes())).convert("RGB"))
        expected = reference.stylize((shared / "photos" / photo).read_bytes(), style, StylizeOptions()).image
        assert np.array_equal(got, expected), f"{photo} in {style}: the download is exactly the library's result"
    for c in contexts:
        c.close()


def choose_in(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option).click()


def ready_download(page):
    """The Download button that hands over the picture on screen — its label names the picture's
    size — once enabled (not the disabled "painting…" one that stands in while a picture is made)."""
    button = page.get_by_role("button", name=re.compile(r"^Download PNG \(\d+×\d+\)$"))
    button.wait_for(timeout=60_000)
    assert button.is_enabled()
    return button


def download_png(page) -> np.ndarray:
    with page.expect_download(timeout=60_000) as download:
        ready_download(page).click()
    return np.asarray(Image.open(io.BytesIO(Path(download.value.path()).read_bytes())).convert("RGB"))


def shoot_result(page, name: str) -> None:
    """The painting and the original, with the caption under them: the README's picture of a control."""
    scroll_to_top(page)
    wait_for_images(page)
    painted = box(page.get_by_test_id("stImage").filter(has=page.get_by_text("Painted ·")).first)
    original = box(page.get_by_test_id("stImage").filter(has=page.get_by_text("Original ·")).first)
    caption = box(result_caption(page))
    right = original["x"] + original["width"]
    bottom = caption["y"] + caption["height"]
    page.screenshot(path=str(SCREENSHOTS / name), clip={"x": painted["x"], "y": painted["y"], "width": right - painted["x"], "height": bottom - painted["y"]})


def test_keep_colours_mix_and_person_style_in_a_browser(page_url, browser, shared, seeded_bucket, tmp_path):
    """Each new control, driven as a visitor drives it: the caption names the choice and the
    download is exactly what the library paints with it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(page_url)
    result_caption(page).wait_for(timeout=120_000)
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Your photo")
    uploader.locator("input[type=file]").set_input_files(str(shared / "photos" / "yoga_balcony.jpg"))
    page.get_by_text(re.compile(r"^426×640 px · Starry Night · background only")).wait_for(timeout=60_000)
    wait_until_idle(page)
    photo = (shared / "photos" / "yoga_balcony.jpg").read_bytes()
    reference = Stylizer.from_settings(Settings(model_store=seeded_bucket, cache_dir=tmp_path))

    def check(caption: str, options: StylizeOptions, screenshot: str) -> None:
        page.get_by_text(re.compile("^426×640 px · " + re.escape(caption))).wait_for(timeout=60_000)
        wait_until_idle(page)
        expected = reference.stylize(photo, "Starry Night", options).image
        assert np.array_equal(download_png(page), expected), f"the download is the picture captioned {caption!r}"
        shoot_result(page, screenshot)

    shoot_result(page, "keep-colours-off.png")
    page.get_by_text("Keep the photo's colours").click()
    check("Starry Night · background only (keep the person) (found by MediaPipe selfie, 1 face kept) · the photo's own colours ·", StylizeOptions(keep_colors=True), "keep-colours.png")
    page.get_by_text("Keep the photo's colours").click()

    choose_in(page, "Mix with a second artwork", "Kandinsky Composition")
    page.get_by_test_id("stSlider").filter(has_text="Mix: how much Kandinsky Composition").wait_for()
    check("Starry Night 50 % + Kandinsky Composition 50 % · background only", StylizeOptions(mix_with="Kandinsky Composition", mix=0.5), "mix.png")
    choose_in(page, "Mix with a second artwork", "No second artwork")

    choose_in(page, "Person's style", "The Great Wave")
    check("Starry Night · the person in The Great Wave (found by MediaPipe selfie, 1 face kept) ·", StylizeOptions(person_style="The Great Wave"), "person-style.png")
    page.get_by_test_id("stRadio").filter(has_text="What to paint").get_by_text("Whole picture").click()
    page.get_by_text(re.compile(r"^426×640 px · Starry Night · whole picture")).wait_for(timeout=60_000)
    expect(page.get_by_test_id("stSelectbox").filter(has_text="Person's style")).to_have_count(0)
    context.close()


def test_the_download_is_always_the_picture_on_screen(page_url, browser, shared, tmp_path):
    """While a new choice is painted, the previous picture's caption and download are replaced at
    once ("Painting your choice…", a disabled button): no click in that window hands over the
    previous file. Then the download is the new picture."""
    photo = tmp_path / "wide.jpg"
    Image.open(shared / "photos" / "boy.jpg").convert("RGB").resize((2400, 1800)).save(photo, "JPEG", quality=90)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    page.goto(page_url)
    result_caption(page).wait_for(timeout=120_000)
    page.get_by_test_id("stFileUploader").filter(has_text="Your photo").locator("input[type=file]").set_input_files(str(photo))
    page.get_by_text(re.compile(r"^1024×768 px · ")).wait_for(timeout=60_000)
    wait_until_idle(page)
    page.get_by_test_id("stRadio").filter(has_text="Result size").get_by_text("Full size 2400×1800").click()
    page.get_by_text(re.compile(r"^2400×1800 px · Starry Night · ")).wait_for(timeout=60_000)
    wait_until_idle(page)
    download = page.get_by_test_id("stDownloadButton").get_by_role("button")
    with page.expect_download() as first:
        download.click()
    before = Path(first.value.path()).read_bytes()

    choose_style(page, "The Great Wave")
    new_caption = page.get_by_text(re.compile(r"^2400×1800 px · The Great Wave · "))
    saw_pending, deadline = False, time.monotonic() + 60
    while not new_caption.is_visible():
        assert time.monotonic() < deadline, "the new picture came within a minute"
        # one moment of the page, read at once (a button read in two steps may be gone by the second)
        pending, offered, captions = page.evaluate(
            "() => { const shown = e => e.offsetParent !== null;"
            " const pending = [...document.querySelectorAll('button')].find(b => shown(b) && b.innerText.includes('Download PNG (painting…)'));"
            " return [pending ? pending.disabled : null,"
            " [...document.querySelectorAll('[data-testid=stDownloadButton] button')].filter(b => shown(b) && !b.disabled).length,"
            " [...document.querySelectorAll('[data-testid=stCaptionContainer]')].filter(shown).map(c => c.innerText)]; }"
        )
        if pending is not None:
            saw_pending = True
            assert pending, "while painting, the download is disabled"
            assert not any(c.startswith("2400×1800 px · Starry Night · ") for c in captions), "…and the previous picture's caption is gone"
        if saw_pending:  # an enabled download goes with the new picture's caption only
            assert not offered or any(c.startswith("2400×1800 px · The Great Wave · ") for c in captions), f"the previous file is never offered again: {captions}"
        page.wait_for_timeout(50)
    assert saw_pending, "the previous picture's download was replaced while the new one was painted"
    page.get_by_test_id("stDownloadButton").get_by_role("button", name="Download PNG (2400×1800)").wait_for(timeout=60_000)
    with page.expect_download() as second:
        page.get_by_test_id("stDownloadButton").get_by_role("button").click()
    after = Path(second.value.path()).read_bytes()
    assert after != before, "the download is the new picture"
    assert Image.open(io.BytesIO(after)).size == (2400, 1800)
    page.context.close()


@pytest.mark.parametrize("name", ["desktop", "phone"])
def test_a_partial_store_is_said_on_the_page_and_the_rest_works(partial_store, browser, shared, tmp_path, name):
    """A store without the float16 model, the selfie segmenter, the face detectors and the sample
    photos (the public store is one such): the page says what it lacks, in the controls, on the
    screen, and paints an uploaded photo with what it has."""
    port = free_port()
    env = {**os.environ, "STYLIZE_MODEL_STORE": str(partial_store), "STYLIZE_CACHE_DIR": str(tmp_path / "cache"), "STYLIZE_ICE_SERVERS": ""}
    width, height = VIEWPORTS[name]
    with page_process(port, env, tmp_path / "streamlit.log"):
        url = f"http://127.0.0.1:{port}"
        wait_for_http(url + "/_stcore/health", timeout=60)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url)
        note = page.get_by_text(re.compile(r"^Not in this model store, so not offered: "))
        note.wait_for(timeout=120_000)
        for lacking in ("float16", "MediaPipe selfie", "BlazeFace short range", "Boy"):
            assert lacking in note.inner_text(), note.inner_text()
        assert str(partial_store) not in note.inner_text() and ".tflite" not in note.inner_text(), "no path or file name for the visitor"
        uploader = page.get_by_test_id("stFileUploader").filter(has_text="Your photo")
        uploader.locator("input[type=file]").set_input_files(str(shared / "photos" / "boy.jpg"))
        caption = result_caption(page)
        caption.wait_for(timeout=120_000)
        assert caption.inner_text().startswith("640×426 px · Starry Night · background only") and "face" not in caption.inner_text()
        wait_until_idle(page)
        note.scroll_into_view_if_needed()
        b = box(note)
        assert inside_width(b, 0, width), "the note stays on the screen"
        others = [box(x) for x in page.get_by_test_id("stRadio").all() + page.get_by_test_id("stSelectbox").all() if x.is_visible()]
        assert not any(overlap(b, o) for o in others), "the note overlaps no control"
        page.screenshot(path=str(SCREENSHOTS / f"partial-store-{name}.png"))
        page.close()


class PageRuns:
    """The runs the page's server makes, as the browser receives them: Streamlit's own messages
    (``ForwardMsg``) read off the WebSocket. Each run starts with a ``new_session`` naming the
    fragments it reruns (none: the whole page) and ends with ``script_finished``."""

    def __init__(self, page) -> None:
        self.messages: list = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._received))

    def _received(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, bytes | bytearray):
            self.messages.append(ForwardMsg.FromString(bytes(payload)))

    def take(self) -> list[tuple[list[str], list]]:
        """The runs received since the last call: (fragment ids, its deltas), in order."""
        runs, current = [], None
        for message in self.messages:
            kind = message.WhichOneof("type")
            if kind == "new_session":
                current = (list(message.metadata.run.fragment_ids), [])
                runs.append(current)
            elif kind == "delta" and current is not None:
                current[1].append(message)
        self.messages.clear()
        return runs


def test_a_choice_reruns_the_choices_not_the_page(page_url, browser):
    """The page is a frame around fragments (app.py ``studio``): a new style reruns the controls
    and the picture, not the frame (its title is not sent again); opening the gallery reruns the
    gallery alone (not the picture); *Use* in it paints the style chosen."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    runs = PageRuns(page)
    page.goto(page_url)
    expect(result_caption(page)).to_contain_text("Starry Night", timeout=180_000)
    wait_until_idle(page)
    runs.take()

    choose_style(page, "Klee Masks")
    expect(result_caption(page)).to_contain_text("· Klee Masks ·", timeout=60_000)
    wait_until_idle(page)
    (ids, deltas), *more = runs.take()
    assert not more and len(ids) == 1, f"one run of one fragment, not the page: {ids} and {len(more)} more"
    studio = ids[0]
    assert deltas and all(d.delta.fragment_id for d in deltas), "nothing of the frame (the title, the intro) is sent again"
    assert any(d.delta.new_element.WhichOneof("type") == "imgs" for d in deltas), "the new picture is"

    page.get_by_text("Gallery of the artworks").click()
    expect(page.get_by_role("button", name="Use").first).to_be_visible(timeout=30_000)
    wait_until_idle(page)
    (ids, deltas), *more = runs.take()
    assert not more and len(ids) == 1 and ids[0] != studio, f"the gallery's own fragment: {ids}"
    assert {d.delta.fragment_id for d in deltas} == {ids[0]}, "only the gallery is drawn again, not the picture"

    first = page.locator(".st-key-gallery-grid [data-testid=stColumn]").filter(has=page.get_by_role("button", name="Use")).first
    title = first.get_by_test_id("stCaptionContainer").inner_text().strip()
    first.get_by_role("button", name="Use").click()
    expect(result_caption(page)).to_contain_text(f"· {title} ·", timeout=60_000)
    expect(page.get_by_role("button", name="✓")).to_have_count(1)
    page.context.close()
