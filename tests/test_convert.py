"""python -m stylize convert on the real float16 transfer model: the rebuilt float32 model, the
quantized builds, their manifest entries, and the comparison that grows with them."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from stylize import Settings, StylizeOptions, Stylizer
from stylize.compare import compare_variants
from stylize.convert import FULL_CALIBRATION, convert
from stylize.convert.float32 import float32_from_float16
from stylize.engine import make_engine
from stylize.imaging import decode_image, psnr

from .conftest import ROOT

DERIVED = ("fp32", "dynamic-aeq", "fp16-aeq", "int8-full")
BOUND_DB = {"dynamic-aeq": 35.0, "fp16-aeq": 60.0, "int8-full": 20.0}  # against the float32 model, on either runtime


@pytest.fixture(scope="module")
def converted(shared, manifest, tmp_path_factory):
    target = tmp_path_factory.mktemp("converted-store")
    derived = convert(manifest, shared, target, samples=FULL_CALIBRATION)
    return target, {d.name: d for d in derived}


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
        assert bool(asset.calibration) == (name == "int8-full")


@pytest.mark.parametrize("engine", ["litert", "openvino"])
def test_derived_builds_run_on_both_runtimes_close_to_float32(converted, manifest, inputs, engine):
    target, _ = converted
    backend = make_engine(engine, 2)
    reference = paint(make_engine("litert", 2).load(target / manifest.get("transfer", "fp32").key), *inputs)
    for name, bound in BOUND_DB.items():
        got = paint(backend.load(target / manifest.get("transfer", name).key), *inputs)
        assert got.shape == (384, 384, 3)
        assert psnr(got, reference) >= bound, (name, engine, psnr(got, reference))


def test_a_second_convert_changes_no_published_object(converted, manifest, aws_env, tmp_path):
    """Publish the converted store, convert again into the same folder, publish again: the same
    bytes, so nothing is uploaded."""
    import boto3

    target, first = converted
    boto3.client("s3").create_bucket(Bucket="converted-models")

    def publish():
        return subprocess.run(
            [sys.executable, "-m", "stylize", "publish", "--from", str(target), "--to", "s3://converted-models/v1"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )

    once = publish()
    assert once.returncode == 0, once.stdout + once.stderr
    assert all(d.key in once.stdout for d in first.values()), "every derived file is published"
    again = convert(manifest, target, target, samples=FULL_CALIBRATION)
    assert {d.name: d.sha256 for d in again} == {name: d.sha256 for name, d in first.items()}
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
