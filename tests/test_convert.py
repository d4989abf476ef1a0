"""python -m stylize convert on the real float16 transfer model: the rebuilt float32 model, the
quantized builds, their manifest entries, and the comparison that grows with them.

TensorFlow runs only in child processes (the command itself, and a script for the TensorFlow
model): imported into the test process, it makes a later import of streamlit-webrtc's libsrtp
crash the process (both bring their own OpenSSL). The page's container never has TensorFlow."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from stylize import Settings, StylizeOptions, Stylizer
from stylize.compare import compare_variants
from stylize.convert.float32 import float32_from_float16
from stylize.engine import make_engine
from stylize.engine.litert import LiteRTEngine
from stylize.engine.openvino import OpenVINOEngine
from stylize.imaging import decode_image, psnr

from .conftest import ROOT

TF_BUILDS = ("dynamic-tf", "fp16-tf", "int8-tf", "int8io-tf", "int8-floatnorm-tf")
DERIVED = ("fp32", "dynamic-aeq", "fp16-aeq", "int8-full", *TF_BUILDS)
CALIBRATED = {"int8-full", "int8-tf", "int8io-tf", "int8-floatnorm-tf"}
# Against the float32 model, on either runtime (the TensorFlow int8 builds have a bound of their
# own: the shipped int8 model's fidelity, below).
BOUND_DB = {"dynamic-aeq": 35.0, "fp16-aeq": 60.0, "int8-full": 20.0, "dynamic-tf": 35.0, "fp16-tf": 60.0, "int8-tf": 20.0, "int8io-tf": 20.0, "int8-floatnorm-tf": 20.0}


@dataclass(frozen=True)
class Written:
    key: str
    sha256: str


def run_convert(manifest, source, target) -> dict[str, Written]:
    """``python -m stylize convert`` as its user runs it, in a process of its own: what it says
    it wrote (by manifest name), with the written files' digests."""
    done = subprocess.run(
        [sys.executable, "-m", "stylize", "convert", "--from", str(source), "--to", str(target)],
        cwd=ROOT, capture_output=True, encoding="utf-8", timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    names = {a.key: a.name for a in manifest.assets}
    keys = [line.split(":", 1)[0] for line in done.stdout.splitlines() if line.startswith("models/derived/") and ": " in line]
    return {names[key]: Written(key, hashlib.sha256((target / key).read_bytes()).hexdigest()) for key in keys}


@pytest.fixture(scope="module")
def converted(shared, manifest, tmp_path_factory):
    target = tmp_path_factory.mktemp("converted-store")
    return target, run_convert(manifest, shared, target)


@pytest.fixture(scope="module")
def inputs(shared, stylizer):
    rgb = decode_image((shared / "photos" / "boy.jpg").read_bytes())
    image = np.asarray(Image.fromarray(rgb).resize((384, 384)), dtype=np.float32)[None] / 255.0
    return image, stylizer.vectors.vector(stylizer.style("Starry Night"))


def paint(model, image, vector):
    out = model.run({t.name: (image if t.shape[-1] == 3 else vector) for t in model.inputs})[0][0]
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def test_float32_rebuilt_from_float16_computes_the_same(shared, manifest, tmp_path, inputs):
    fp16 = shared / manifest.get("transfer", "fp16").key
    rebuilt = tmp_path / "fp32.tflite"
    rebuilt.write_bytes(float32_from_float16(fp16.read_bytes()))
    litert = make_engine("litert", 2)
    image, vector = inputs
    a = litert.load(fp16).run({"content_image": image, "mobilenet_conv/Conv/BiasAdd": vector})[0]
    b = litert.load(rebuilt).run({"content_image": image, "mobilenet_conv/Conv/BiasAdd": vector})[0]
    assert np.array_equal(a, b), "LiteRT computes float16-weight models in float32: the same numbers"
    openvino = make_engine("openvino", 2)
    assert psnr(paint(openvino.load(rebuilt), *inputs), paint(openvino.load(fp16), *inputs)) >= 60


def test_manifest_pins_every_derived_file(converted, manifest):
    target, derived = converted
    assert set(derived) == set(DERIVED)
    for name in derived:
        asset = manifest.get("transfer", name)
        data = (target / asset.key).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (asset.bytes, asset.sha256), name
        assert asset.derived_from == "fp16" and asset.recipe and not asset.required
        assert bool(asset.calibration) == (name in CALIBRATED)
        assert asset.recipe.startswith("TFLiteConverter: ") == (name in TF_BUILDS)


@pytest.mark.parametrize("engine", ["litert", "openvino"])
def test_derived_builds_run_on_both_runtimes_close_to_float32(converted, manifest, inputs, engine):
    target, _ = converted
    backend = make_engine(engine, 2)
    reference = paint(make_engine("litert", 2).load(target / manifest.get("transfer", "fp32").key), *inputs)
    for name, bound in BOUND_DB.items():
        got = paint(backend.load(target / manifest.get("transfer", name).key), *inputs)
        assert got.shape == (384, 384, 3)
        assert psnr(got, reference) >= bound, (name, engine, psnr(got, reference))


@pytest.mark.parametrize("size", [(384, 384), (640, 424)], ids=["384²", "640×424"])
def test_norms_on_rows_leave_every_build_painting_the_same(converted, manifest, inputs, size):
    """OpenVINO's few-channel normalisations on rows (``engine/narrow.py``) change no quantized
    build's painting, whatever its structure (the TensorFlow builds read with run-time sizes, int8
    output, float normalisations): bit for bit against the same build with none on rows. Each
    int8 build's two few-channel normalisations are on rows, or on their convolutions' phases
    where those are spread or folded. A build whose activations are float (fused too since every model's normalisations are) may round the
    multiply-add differently on rows (measured 96.8 dB for dynamic-tf): ≥ 60 dB, the issue's bound
    for a float rewrite."""
    target, _ = converted
    image = np.asarray(Image.fromarray((inputs[0][0] * 255).astype(np.uint8)).resize(size), dtype=np.float32)[None] / 255.0
    rows, columns = OpenVINOEngine(threads=2), OpenVINOEngine(threads=2, narrow=0)
    widened, phased = {}, {}
    for name in BOUND_DB:
        path = target / manifest.get("transfer", name).key
        on_rows = rows.load(path)
        widened[name], phased[name] = on_rows.norms_widened, on_rows.norms_on_phases
        a, b = paint(on_rows, image, inputs[1]), paint(columns.load(path), image, inputs[1])
        assert a.shape == b.shape == (size[1], size[0], 3), (name, a.shape, b.shape)
        assert np.array_equal(a, b) if "int8" in name else psnr(a, b) >= 60, (name, psnr(a, b))
    # each int8 build's two few-channel normalisations run on rows, or on their convolutions' phases (spread.py, fold.py)
    assert all(widened[name] + phased[name] == 2 for name in BOUND_DB if "int8" in name), (widened, phased)


def test_a_second_convert_changes_no_published_object(converted, manifest, aws_env, tmp_path):
    """Publish the converted store, convert again into the same folder, publish again: the same
    bytes, so nothing is uploaded."""
    import boto3

    target, first = converted
    boto3.client("s3").create_bucket(Bucket="converted-models")

    def publish():
        return subprocess.run(
            [sys.executable, "-m", "stylize", "publish", "--from", str(target), "--to", "s3://converted-models/v1"],
            cwd=ROOT, capture_output=True, encoding="utf-8", timeout=600,
        )

    once = publish()
    assert once.returncode == 0, once.stdout + once.stderr
    assert all(d.key in once.stdout for d in first.values()), "every derived file is published"
    again = run_convert(manifest, target, target)
    assert again == first
    twice = publish()
    assert twice.returncode == 0 and twice.stdout.strip().splitlines()[-1].startswith("0 uploaded"), twice.stdout


def test_comparison_grows_and_uses_float32_as_reference(converted, photo_bytes, tmp_path):
    target, _ = converted
    stylizer = Stylizer.from_settings(Settings(model_store=str(target), cache_dir=tmp_path))
    assert [a.name for a in stylizer.assets("transfer")] == ["int8", "fp16", "dynamic"], "the store is not asked before it is probed"
    stylizer.catalogue.derived_available(probe=True)
    assert [a.name for a in stylizer.assets("transfer")] == ["int8", "fp16", "dynamic", *DERIVED]
    comparison = compare_variants(stylizer, photo_bytes("boy.jpg"), "style19", StylizeOptions(mask="full"), runs=1, runtimes=["openvino", "litert"])
    by = {(r.name, r.runtime): r for r in comparison.reports}
    assert comparison.reference.transfer == "fp32" and by[("fp32", "litert")].is_reference
    assert math.isinf(by[("fp16", "litert")].psnr_db), "the shipped float16 model computes what the rebuilt float32 one does"
    shipped_int8 = by[("int8", "litert")]
    ours = by[("dynamic-aeq", "litert")]
    assert ours.file_bytes <= shipped_int8.file_bytes and ours.psnr_db > shipped_int8.psnr_db + 5, "a smaller variant that is more faithful"


TF_MODEL_CHECK = """
import json, sys
import numpy as np
from PIL import Image
from stylize.convert.tf_model import TransferModel
from stylize.engine import make_engine

rebuilt, photo, vector_file = sys.argv[1:4]
vector = np.load(vector_file)
model = TransferModel(open(rebuilt, "rb").read())
litert = make_engine("litert", 2).load(rebuilt)
rgb = Image.open(photo).convert("RGB")
out = {}
for name, size in (("square", (384, 384)), ("wide", (640, 428))):
    image = np.asarray(rgb.resize(size), dtype=np.float32)[None] / 255.0
    ours = model(image, vector)
    theirs = litert.run({t.name: (image if t.shape[-1] == 3 else vector) for t in litert.inputs})[0]
    mse = float(np.mean((ours.astype(np.float64) - theirs.astype(np.float64)) ** 2))
    out[name] = {"shape": list(ours.shape), "psnr": 10 * np.log10(1.0 / mse) if mse else 999.0}
print(json.dumps(out))
"""


def test_tensorflow_model_computes_what_the_float32_file_does_at_any_size(shared, manifest, tmp_path, inputs):
    """The TensorFlow model built from the float32 file's graph and weights against LiteRT running
    the file (float PSNR, peak 1): at 384² and, with height and width free, at 640×428 against
    the file with its upsampling sizes rewritten (engine/resize.py)."""
    rebuilt = tmp_path / "fp32.tflite"
    rebuilt.write_bytes(float32_from_float16((shared / manifest.get("transfer", "fp16").key).read_bytes()))
    vector_file = tmp_path / "vector.npy"
    np.save(vector_file, inputs[1])
    done = subprocess.run(
        [sys.executable, "-c", TF_MODEL_CHECK, str(rebuilt), str(shared / "photos" / "man_in_suit.jpg"), str(vector_file)],
        cwd=ROOT, capture_output=True, encoding="utf-8", timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["square"]["shape"] == [1, 384, 384, 3] and figures["square"]["psnr"] >= 100, figures
    assert figures["wide"]["shape"] == [1, 428, 640, 3] and figures["wide"]["psnr"] >= 80, figures


def sample_fidelity(model, reference, photos, vectors) -> float:
    """Mean PSNR (dB) of ``model``'s paintings against ``reference``'s over the sample photos
    (letterboxed to 384², a different gallery style each)."""
    return float(np.mean([psnr(paint(model, image, vector), paint(reference, image, vector)) for image, vector in zip(photos, vectors, strict=True)]))


@pytest.fixture(scope="module")
def sample_inputs(shared, manifest, stylizer):
    from stylize.imaging import letterbox, to_unit_float

    photos = [to_unit_float(letterbox(decode_image((shared / a.key).read_bytes()), 384)[0])[None] for a in manifest.by_role("photo")]
    vectors = [stylizer.vectors.vector(stylizer.style(name)) for name in ("Starry Night", "style19", "style3")]
    return photos, vectors


@pytest.mark.parametrize("engine", ["litert", "openvino"])
def test_tensorflow_int8_builds_are_at_least_as_faithful_as_the_shipped_int8(converted, manifest, shared, sample_inputs, engine):
    target, _ = converted
    backend = make_engine(engine, 2)
    reference = make_engine("litert", 2).load(target / manifest.get("transfer", "fp32").key)
    shipped = sample_fidelity(backend.load(shared / manifest.get("transfer", "int8").key), reference, *sample_inputs)
    for name in ("int8-tf", "int8io-tf", "int8-floatnorm-tf"):
        ours = sample_fidelity(backend.load(target / manifest.get("transfer", name).key), reference, *sample_inputs)
        print(f"{engine} {name}: {ours:.2f} dB against the shipped int8's {shipped:.2f} dB")
        assert ours >= shipped, (engine, name, ours, shipped)


@pytest.mark.parametrize("engine", ["litert", "openvino"])
def test_tensorflow_builds_paint_any_size_natively(converted, manifest, shared, inputs, engine):
    """Each TFLiteConverter build keeps height and width free: it paints 640×428 with no size
    rewriting, as faithfully there (against the float32 file) as at its native 384² on the same
    photo, within 3 dB. (A dynamic-range build's fidelity depends on the photo: LiteRT quantizes
    its activations per picture.)"""
    target, _ = converted
    backend = make_engine(engine, 2)
    reference = make_engine("litert", 2).load(target / manifest.get("transfer", "fp32").key)
    rgb = decode_image((shared / "photos" / "man_in_suit.jpg").read_bytes())
    wide = np.asarray(Image.fromarray(rgb).resize((640, 428)), dtype=np.float32)[None] / 255.0
    square = np.asarray(Image.fromarray(rgb).resize((384, 384)), dtype=np.float32)[None] / 255.0
    vector = inputs[1]
    for name in TF_BUILDS:
        model = backend.load(target / manifest.get("transfer", name).key)
        got = paint(model, wide, vector)
        assert got.shape == (428, 640, 3), name
        native = psnr(paint(model, square, vector), paint(reference, square, vector))
        assert psnr(got, paint(reference, wide, vector)) >= min(native - 3.0, 60.0), (name, engine, native)


@pytest.mark.parametrize("engine", ["litert", "openvino"])
def test_tensorflow_int8_builds_paint_the_same_picture_in_tiles(converted, shared, tmp_path, engine):
    """The tiled painting cuts the TensorFlow builds into stages like the shipped files: many
    small tiles give exactly the one-tile picture, for float and for int8 input and output."""
    from stylize.tiling import paint_tiled, tile_plan

    target, _ = converted
    stylizer = Stylizer.from_settings(Settings(model_store=str(target), cache_dir=tmp_path))
    stylizer.catalogue.derived_available(probe=True)
    vector = stylizer.vectors.vector(stylizer.style("style19"))
    rgb = np.asarray(Image.open(shared / "photos" / "boy.jpg").convert("RGB").resize((1000, 604)))
    for name in ("int8-tf", "int8io-tf"):
        plan, models = stylizer.stage_models(stylizer.manifest.get("transfer", name), engine)
        whole = paint_tiled(models, plan, rgb, vector, 4096)
        tiled = paint_tiled(models, plan, rgb, vector, 256)
        assert tile_plan(plan, 1000, 604, 256).most >= 6
        assert tiled.shape == (604, 1000, 3) and np.array_equal(tiled, whole), name
        key = target / stylizer.manifest.get("transfer", name).key
        image = rgb[None].astype(np.float32) / 255.0
        if engine == "litert":
            # Against the whole network computing the file's own arithmetic, as the tiles do on
            # LiteRT: as close as the two runtimes' whole paintings of the same file are to each
            # other (about 28 dB for these files, whose 8-bit statistics the runtimes round
            # differently; 34 dB for the shipped int8), or 30 dB.
            wholes = {
                runtime: paint(backend.load(key), image, vector)
                for runtime, backend in (("litert", LiteRTEngine(threads=2)), ("openvino", OpenVINOEngine(threads=2, fuse_norms="never")))
            }
            assert psnr(whole, wholes[engine]) >= min(30.0, psnr(wholes["litert"], wholes["openvino"]) - 1.0), name
        else:
            # OpenVINO normalises in float, whole and in tiles (test_tiling: two such int8
            # paintings differ as far as any float difference takes them): the tiles are as close
            # to the float32 build as the product's whole painting.
            reference = paint(stylizer.model(stylizer.manifest.get("transfer", "fp32"), "openvino"), image, vector)
            product_whole = paint(stylizer.model(stylizer.manifest.get("transfer", name), "openvino"), image, vector)
            assert psnr(whole, reference) >= psnr(product_whole, reference) - 0.5, (name, psnr(whole, reference), psnr(product_whole, reference))


def test_the_page_offers_every_build_by_the_name_a_visitor_reads(converted, manifest, tmp_path, monkeypatch):
    """With a converted store the page offers all twelve transfer models — in a select, not twelve
    buttons — each under its manifest label, and paints with a TensorFlow build."""
    import streamlit as st

    from .test_app import open_page, result_caption

    target, _ = converted
    monkeypatch.setenv("STYLIZE_MODEL_STORE", str(target))
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "page-cache"))
    monkeypatch.setenv("STYLIZE_ICE_SERVERS", "")
    st.cache_resource.clear()
    try:
        at = open_page()
        at.run()  # the store was probed during preparation: the derived builds are offered from now on
        select = at.selectbox(key="transfer")
        assert "Transfer model" not in [r.label for r in at.radio]
        assert select.options == [manifest.get("transfer", n).short_title + f" · {manifest.get('transfer', n).bytes / 1e6:.2f} MB" for n in ("int8", "fp16", "dynamic", *DERIVED)]
        select.set_value("int8-floatnorm-tf").run()
        assert not at.exception, at.exception
        assert "int8, norms in float (TensorFlow) on OpenVINO" in result_caption(at)
    finally:
        st.cache_resource.clear()
