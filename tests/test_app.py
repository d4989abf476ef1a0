"""The page through Streamlit's AppTest: widgets, the upload flow, errors and isolation.

The webcam needs the real Streamlit server (streamlit-webrtc looks up its session there), so it is
covered by the browser test in test_e2e.py."""

from __future__ import annotations

import io

import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from .conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture
def page_env(shared, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("STYLIZE_MODEL_STORE", str(shared))
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "app-cache"))
    monkeypatch.setenv("STYLIZE_ICE_SERVERS", "")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def result_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if " px · " in c.value and " · total " in c.value)


def test_page_starts_with_a_painted_sample(page_env):
    at = open_page()
    assert [r.label for r in at.radio] == ["Input", "Paint", "Transfer model", "Runtime"]
    assert at.radio(key="engine").value == "openvino", "the faster runtime at equal fidelity is the default"
    assert len(at.radio(key="transfer").options) == 3
    assert len(at.selectbox(key="style").options) == 26
    assert len([b for b in at.button if b.key and b.key.startswith("use-")]) == 26
    assert result_caption(at).startswith("640×426 px")
    for stage in ("decode", "segment", "predict", "transfer", "composite"):
        assert stage in result_caption(at)
    assert at.get("download_button")


def test_upload_and_style_choice(page_env, photo_bytes):
    at = open_page()
    at.file_uploader(key="photo").set_value(("suit.jpg", photo_bytes("man_in_suit.jpg"), "image/jpeg")).run()
    assert not at.exception and not at.error
    assert result_caption(at).startswith("399×640 px"), "portrait stays portrait"
    at.selectbox(key="style").set_value("The Great Wave").run()
    assert "· The Great Wave ·" in result_caption(at)
    at.button(key="use-style6").click().run()
    assert at.selectbox(key="style").value == "Blue Cosmos"
    at.radio(key="mask").set_value("full").run()
    at.radio(key="transfer").set_value("dynamic").run()
    assert "· Blue Cosmos · whole picture · dynamic on OpenVINO, painted at 399×640 ·" in result_caption(at)


def test_own_style_upload(page_env, shared):
    at = open_page()
    at.file_uploader(key="own_style").set_value(("mine.png", png_of(shared / "photos" / "yoga_balcony.jpg"), "image/png")).run()
    assert not at.exception and not at.error
    assert "· mine.png ·" in result_caption(at)


def png_of(path) -> bytes:
    buffer = io.BytesIO()
    Image.open(path).save(buffer, format="PNG")
    return buffer.getvalue()


def test_unreadable_upload_is_a_message_and_other_sessions_carry_on(page_env, photo_bytes):
    broken, healthy = open_page(), open_page()
    broken.file_uploader(key="photo").set_value(("notes.jpg", b"these are not pixels", "image/jpeg")).run()
    assert not broken.exception
    assert [e.value for e in broken.error] == ["The photo is not an image we can read; choose a JPEG, PNG or WEBP file."]
    healthy.file_uploader(key="photo").set_value(("boy.jpg", photo_bytes("boy.jpg"), "image/jpeg")).run()
    assert not healthy.exception and not healthy.error
    assert result_caption(healthy).startswith("640×426 px")


def test_compare_variants_shows_measured_figures(page_env):
    at = open_page()
    at.number_input(key="runs").set_value(2).run()
    at.button(key="compare").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    models = ["transfer int8", "transfer fp16", "transfer dynamic", "segment deeplabv3", "segment deeplabv3-gpu", "segment segm-lite"]
    assert list(table["variant"]) == [f"{m} · {e}" for e in ("OpenVINO", "LiteRT") for m in models]
    assert (table["runs"] == 2).all() and (table["median_ms"] > 0).all() and (table["load_ms"] > 0).all()
    assert table["size_mb"].tolist()[:3] == [0.284, 0.422, 0.244]
    assert table["reference"].tolist() == [False] * 6 + [False, True, False, True, False, False]
    assert table["psnr_db"][table["reference"]].isna().all(), "no PSNR of the reference against itself"
    assert (table["psnr_db"][[0, 1, 2, 5, 6, 8, 11]] >= 20).all(), "every other variant is measured against it"


def test_unreachable_store_is_one_clear_message(page_env, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("STYLIZE_MODEL_STORE", "s3://models/v1")
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    (message,) = [e.value for e in at.error]
    assert message == "The models are unavailable right now: the model store could not be read. Reload the page in a minute to try again."
    # the visitor sees no store name, path or exception text; the server's log has the detail
    logged = [r.getMessage() for r in caplog.records if r.name == "stylize.page"]
    assert any("could not be fetched from the bucket s3://models/v1" in m and "reachable" in m for m in logged), logged
    shown = " ".join(str(e.value) for e in [*at.error, *at.markdown, *at.caption])
    assert "s3://" not in shown and str(tmp_path) not in shown and "127.0.0.1" not in shown
