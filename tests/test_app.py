"""The page through Streamlit's AppTest: widgets, the upload flow, errors and isolation.

The webcam needs the real Streamlit server (streamlit-webrtc looks up its session there), so it is
covered by the browser test in test_e2e.py."""

from __future__ import annotations

import io
import time

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
    """The page as a new visitor gets it, run again (as its progress bar does) until the models
    are ready."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    deadline = time.monotonic() + 180
    while any("Getting the painter ready" in (p.value.get("text", "") if isinstance(p.value, dict) else str(p.proto.text)) for p in at.get("progress")):
        assert time.monotonic() < deadline, "the models were not ready in 3 minutes"
        time.sleep(0.5)
        at.run()
    assert not at.exception, at.exception
    return at


def result_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if " px · " in c.value and " · total " in c.value)


def test_page_starts_with_a_painted_sample(page_env):
    at = open_page()
    assert [r.label for r in at.radio] == ["What to paint", "Transfer model", "Runtime", "Result size", "Stroke size"]
    assert at.radio(key="runtime").value == "openvino", "the faster runtime at equal fidelity is the default"
    assert len(at.radio(key="transfer").options) == 3
    assert len(at.selectbox(key="style").options) == 26
    assert not [b for b in at.button if b.key and b.key.startswith("use-")], "the closed gallery is not drawn"
    at.session_state["gallery"] = True  # the visitor opens it
    at.run()
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
    at.session_state["gallery"] = True
    at.run()
    at.button(key="use-style6").click().run()
    assert at.selectbox(key="style").value == "Blue Cosmos"
    at.radio(key="mask").set_value("full").run()
    at.radio(key="transfer").set_value("dynamic").run()
    assert "· Blue Cosmos · whole picture · strength 1.00 · dynamic-range int8 on OpenVINO, painted at 399×640 ·" in result_caption(at)


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
    result_column, controls_column = broken.columns[:2]
    assert [e.value for e in result_column.error] == [broken.error[0].value] and not controls_column.error, "the error stands where the picture would be"
    healthy.file_uploader(key="photo").set_value(("boy.jpg", photo_bytes("boy.jpg"), "image/jpeg")).run()
    assert not healthy.exception and not healthy.error
    assert result_caption(healthy).startswith("640×426 px")


def jpeg(photo: bytes, width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(photo)).convert("RGB").resize((width, height)).save(out, "JPEG", quality=90)
    return out.getvalue()


def size_radio(at: AppTest):
    return next(r for r in at.radio if r.label == "Result size")


def test_the_chosen_size_survives_other_choices_and_a_new_photo_starts_at_the_default(page_env, photo_bytes):
    """A photo set to Full size stays at full size through a style change, a runtime switch and a
    mask change (each repaint changes the options' time estimates); a new photo starts at 1024 px."""
    at = open_page()
    at.file_uploader(key="photo").set_value(("wide.jpg", jpeg(photo_bytes("boy.jpg"), 2000, 1500), "image/jpeg")).run()
    assert size_radio(at).value == "1024" and result_caption(at).startswith("1024×768 px")
    size_radio(at).set_value("full").run()
    assert result_caption(at).startswith("2000×1500 px")
    for change in (lambda: at.selectbox(key="style").set_value("The Great Wave"), lambda: at.radio(key="runtime").set_value("litert"), lambda: at.radio(key="mask").set_value("full")):
        change().run()
        assert not at.exception
        assert size_radio(at).value == "full" and result_caption(at).startswith("2000×1500 px"), result_caption(at)
    size_radio(at).set_value("512").run()
    at.selectbox(key="style").set_value("Starry Night").run()
    at.selectbox(key="style").set_value("The Great Wave").run()
    assert result_caption(at).startswith("512×384 px"), "512 px stays through two style changes"
    at.file_uploader(key="photo").set_value(("other.jpg", jpeg(photo_bytes("man_in_suit.jpg"), 1500, 2000), "image/jpeg")).run()
    assert size_radio(at).value == "1024" and result_caption(at).startswith("768×1024 px"), "a new photo starts at the stated default"


def test_medium_strokes_on_a_small_result_say_they_paint_as_fine(page_env):
    at = open_page()  # the 640×426 sample
    at.radio(key="strokes").set_value("Medium").run()
    assert any("Medium paints as Fine" in c.value for c in at.caption)
    assert "painted at 640×426" in result_caption(at)
    at.radio(key="strokes").set_value("Coarse").run()
    assert not any("Medium paints as Fine" in c.value for c in at.caption) and "painted at 384×256" in result_caption(at)


def test_compare_variants_shows_measured_figures(page_env):
    at = open_page()
    at.number_input(key="runs").set_value(2).run()
    at.button(key="compare").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["Model", "Runtime", "Precision", "Size", "Load", "Median latency", "Whole request", "Memory", "Fidelity"]
    from stylize.engine import OpenVINOEngine

    arithmetic = {"f32": "OpenVINO", "bf16": "OpenVINO · bfloat16"}  # the transfer variants in every precision this CPU offers
    precisions = OpenVINOEngine().precisions()
    transfers = ["transfer · int8", "transfer · float16", "transfer · dynamic-range int8"]
    segments = ["segment · MediaPipe selfie", "segment · MediaPipe selfie, landscape (video)", "segment · DeepLabV3", "segment · DeepLabV3, GPU build", "segment · Meet segm_lite"]
    assert list(table["Model"]) == [t for t in transfers for _ in precisions] + segments + transfers + segments
    assert list(table["Runtime"]) == [arithmetic[p] for _ in transfers for p in precisions] + ["OpenVINO"] * 5 + ["LiteRT"] * 8
    assert (table["Median latency"] > 0).all() and (table["Load"] > 0).all()
    assert all(m == "under 1 MB" or (m.endswith(" MB") and int(m.split()[0]) >= 1) for m in table["Memory"]), "no '0 MB'"
    assert table["Size"].round(3).tolist()[:: len(precisions)][:3] == [0.284, 0.422, 0.244]
    fidelity = dict(zip(table["Model"] + " · " + table["Runtime"], table["Fidelity"], strict=True))
    assert fidelity["transfer · float16 · LiteRT"] == "float reference"
    assert all(fidelity[f"transfer · {v} · {r}"].endswith(" dB") for v in ("int8", "dynamic-range int8") for r in ("OpenVINO", "LiteRT"))
    assert fidelity["segment · MediaPipe selfie · LiteRT"].startswith("mask 100.0 % · faces "), "the best mask agrees with itself"
    assert fidelity["segment · DeepLabV3 · LiteRT"] == fidelity["segment · DeepLabV3, GPU build · LiteRT"], "the GPU build of DeepLabV3 gives the same masks"
    assert all(f.startswith("mask ") for m, f in fidelity.items() if m.startswith("segment"))
    at.selectbox(key="style").set_value("The Great Wave").run()  # another choice: the figures measured for the last one go
    assert not at.exception and not at.dataframe
    assert any("measured for another photo, style or choice" in c.value for c in at.caption)
    at.run()
    assert not at.dataframe and not any("measured for another" in c.value for c in at.caption), "said once; the button measures again"


def test_unreachable_store_is_one_clear_message(page_env, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("STYLIZE_MODEL_STORE", "s3://models/v1")
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    deadline = time.monotonic() + 60
    while not at.error and time.monotonic() < deadline:  # the page shows its progress until the fetch gives up
        time.sleep(0.5)
        at.run()
    assert not at.exception
    (message,) = [e.value for e in at.error]
    assert message == "The models are unavailable right now: the model store could not be read. Reload the page in a minute to try again."
    # the visitor sees no store name, path or exception text; the server's log has the detail
    logged = [r.getMessage() for r in caplog.records if r.name == "stylize.page"]
    assert any("could not be fetched from the bucket s3://models/v1" in m and "reachable" in m for m in logged), logged
    shown = " ".join(str(e.value) for e in [*at.error, *at.markdown, *at.caption])
    assert "s3://" not in shown and str(tmp_path) not in shown and "127.0.0.1" not in shown


def test_creative_controls_shape_the_picture_and_the_caption(page_env, photo_bytes):
    at = open_page()
    assert "Person's style" in [s.label for s in at.selectbox], "with a mask, the person can have their own artwork"
    at.selectbox(key="mix_with").set_value("Kandinsky Composition").run()
    at.slider(key="mix").set_value(0.25).run()
    at.toggle(key="keep_colors").set_value(True).run()
    at.selectbox(key="person_style_background").set_value("The Great Wave").run()
    assert not at.exception and not at.error
    caption = result_caption(at)
    assert "· Starry Night 75 % + Kandinsky Composition 25 % · the person in The Great Wave (found by MediaPipe selfie, 1 face kept) · the photo's own colours ·" in caption
    assert "transfer (person's style) " in caption and "colours " in caption
    at.radio(key="mask").set_value("full").run()
    assert "Person's style" not in [s.label for s in at.selectbox], "no person's style without a mask"
    assert "· whole picture · the photo's own colours ·" in result_caption(at)
    at.selectbox(key="mix_with").set_value("No second artwork").run()
    assert "Mix: how much" not in [s.label for s in at.slider]
    assert "· Starry Night · whole picture ·" in result_caption(at)


def test_a_partial_store_offers_what_it_has_and_names_the_rest(page_env, partial_store, monkeypatch, tmp_path, photo_bytes):
    monkeypatch.setenv("STYLIZE_MODEL_STORE", str(partial_store))
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path))
    at = open_page()
    assert [o.split(" · ")[0] for o in at.radio(key="transfer").options] == ["int8", "dynamic-range int8"], "the float16 model is not in this store"
    segmenters = at.selectbox(key="segmenter")
    assert "MediaPipe selfie" not in segmenters.options and segmenters.value == "selfie-landscape", "the default is the first segmenter the store has"
    assert at.toggle(key="keep_faces").disabled, "no face detector: faces cannot be looked for"
    note = next(c.value for c in at.caption if c.value.startswith("Not in this model store"))
    for name in ("float16", "MediaPipe selfie", "BlazeFace short range", "BlazeFace full range"):
        assert name in note, note
    assert str(partial_store) not in note and ".tflite" not in note, "the paths are the operator's (the log's), not the visitor's"
    assert any("no sample photos" in c.value for c in at.caption)
    assert not at.get("download_button"), "no sample photo to paint until the visitor brings one"
    at.file_uploader(key="photo").set_value(("boy.jpg", photo_bytes("boy.jpg"), "image/jpeg")).run()
    assert not at.exception and not at.error
    caption = result_caption(at)
    assert caption.startswith("640×426 px") and "background only" in caption and "face" not in caption.split(" · ")[2], caption
