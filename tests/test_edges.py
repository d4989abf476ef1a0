"""The layout transposes at a network's ends (``engine/edges.py``): an input's transpose moved
after the padding and quantization that follow it, and the output's ``DepthToSpace`` and
transpose done as one; each on toy models against the model as it was, and on the transfer
models, whose paintings stay bit-identical in float32 (where the engine does it) and are left as
they are in bfloat16."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from stylize.engine import BF16
from stylize.engine.edges import merge_output_depth_to_space, sink_input_transposes
from stylize.engine.openvino import OpenVINOEngine

TRANSFERS = {
    "int8": "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite",
    "fp16": "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite",
    "dynamic": "style_transfer_quantized_dynamic.tflite",
}


def run(model, *inputs):
    import openvino as ov

    return ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(list(inputs))[0]


def kinds(model) -> Counter:
    return Counter(node.get_type_name() for node in model.get_ops())


def input_model(per_channel_range: bool = False):
    """An NHWC input transposed to NCHW, mirrored by 2 rows and 3 columns, converted and quantized
    (one range, or one per channel) — as OpenVINO reads an int8 .tflite file's input."""
    import openvino as ov
    import openvino.opset11 as ops

    x = ops.parameter([1, 10, 12, 3], np.float32, name="x")
    y = ops.transpose(x, ops.constant(np.array([0, 3, 1, 2], np.int64)))
    y = ops.pad(y, ops.constant(np.array([0, 0, 2, 3], np.int64)), ops.constant(np.array([0, 0, 2, 3], np.int64)), "reflect")
    y = ops.convert(y, np.float32)
    low, high = quantization_range(per_channel_range)
    y = ops.fake_quantize(y, ops.constant(low), ops.constant(high), ops.constant(low), ops.constant(high), 256)
    return ov.Model([ops.result(y)], [x])


def quantization_range(per_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    if per_channel:
        return np.full((1, 3, 1, 1), -0.5, np.float32), np.array([1.5, 1.0, 0.7], np.float32).reshape(1, 3, 1, 1)
    return np.float32(-0.5), np.float32(1.5)


@pytest.mark.parametrize("per_channel_range", [False, True], ids=["one range", "a range per channel"])
def test_an_input_is_padded_and_quantized_as_it_comes_then_transposed(per_channel_range):
    """The transpose moves past the padding (its sides permuted) and the conversion, and past a
    quantization of one range, which then runs before the mirror, so that the mirror copies
    levels; a quantization of a range per channel ends the move. The same values at the
    same places, each quantized to the same level (OpenVINO's kernels for a quantization may
    dequantize a level to floats one unit in the last place apart; an int8 convolution reads the
    level, so the transfer models' paintings are bit-identical, below)."""
    model = input_model(per_channel_range)
    x = np.random.default_rng(0).uniform(-1, 2, (1, 10, 12, 3)).astype(np.float32)
    before = run(model, x)
    assert sink_input_transposes(model) == 1
    order = [n.get_type_name() for n in model.get_ordered_ops() if n.get_type_name() in ("Pad", "Convert", "FakeQuantize", "Transpose")]
    if per_channel_range:
        assert order == ["Convert", "Pad", "Transpose", "FakeQuantize"], "converted and padded as it comes"
    else:
        assert order == ["Convert", "FakeQuantize", "Pad", "Transpose"], "converted and quantized as it comes, then its levels padded"
    transpose = next(n for n in model.get_ops() if n.get_type_name() == "Transpose")
    after_transpose = [t.get_node().get_type_name() for t in transpose.output(0).get_target_inputs()]
    assert after_transpose == (["FakeQuantize"] if per_channel_range else ["Result"])
    after = run(model, x)
    low, high = quantization_range(per_channel_range)
    level = lambda y: np.rint((y - low) / (high - low) * 255)  # noqa: E731
    np.testing.assert_array_equal(level(after), level(before))
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-6)
    assert len(np.unique(level(before))) > 100, "the levels are many, not a few clipped ones"


def test_an_input_read_by_anything_else_is_left_as_it_is():
    """An input transposed and then read by anything but a mirror — an activation, or (the int8
    model's style vector) a quantization and a convolution — is left as it is; so is one
    transposed in another order."""
    import openvino as ov
    import openvino.opset11 as ops

    x = ops.parameter([1, 6, 6, 3], np.float32)
    y = ops.transpose(x, ops.constant(np.array([0, 3, 1, 2], np.int64)))
    model = ov.Model([ops.result(ops.relu(y))], [x])
    assert sink_input_transposes(model) == 0
    vector = ops.parameter([1, 1, 1, 100], np.float32)
    limits = [ops.constant(np.float32(v)) for v in (-3, 3, -3, 3)]
    quantized = ops.fake_quantize(ops.transpose(vector, ops.constant(np.array([0, 3, 1, 2], np.int64))), *limits, 256)
    scaled = ops.convolution(quantized, ops.constant(np.ones((8, 100, 1, 1), np.float32)), [1, 1], [0, 0], [0, 0], [1, 1])
    assert sink_input_transposes(ov.Model([ops.result(scaled)], [vector])) == 0
    other = ops.transpose(x, ops.constant(np.array([0, 3, 2, 1], np.int64)))  # not NHWC → NCHW
    padded = ops.pad(other, ops.constant(np.array([0, 0, 1, 1], np.int64)), ops.constant(np.array([0, 0, 1, 1], np.int64)), "reflect")
    assert sink_input_transposes(ov.Model([ops.result(padded)], [x])) == 0


def output_model(mode: str, order=(0, 2, 3, 1)):
    """Phases (12 channels, blocks of 2) put in place by ``DepthToSpace`` in ``mode`` and
    transposed by ``order``."""
    import openvino as ov
    import openvino.opset11 as ops

    x = ops.parameter([1, 12, 5, 7], np.float32)
    y = ops.depth_to_space(ops.relu(x), mode, 2)
    return ov.Model([ops.result(ops.transpose(y, ops.constant(np.array(order, np.int64))))], [x])


@pytest.mark.parametrize("mode", ["depth_first", "blocks_first"])
def test_phases_are_put_in_place_and_channels_last_in_one_move(mode):
    model = output_model(mode)
    x = np.random.default_rng(0).standard_normal((1, 12, 5, 7)).astype(np.float32)
    before = run(model, x)
    assert before.shape == (1, 10, 14, 3)
    assert merge_output_depth_to_space(model) == 1
    assert kinds(model)["DepthToSpace"] == 0
    np.testing.assert_array_equal(run(model, x), before)


def test_phases_transposed_any_other_way_are_left_as_they_are():
    model = output_model("depth_first", order=(0, 3, 2, 1))
    assert merge_output_depth_to_space(model) == 0
    assert kinds(model)["DepthToSpace"] == 1


@pytest.fixture(scope="module")
def photo(shared):
    from PIL import Image

    return Image.open(shared / "photos" / "boy.jpg").convert("RGB")


@pytest.mark.parametrize("size", [(384, 384), (424, 640)], ids=["384²", "640×424"])
@pytest.mark.parametrize("variant", list(TRANSFERS))
def test_transfer_models_paint_the_same_with_their_ends_moved(shared, photo, variant, size):
    """In float32 the picture's and the style vector's transposes move (and, where the last
    convolution runs on its phases, the output's), and the painting is bit-identical to the one
    without; in bfloat16, where moving them costs, nothing is moved."""
    from PIL import Image

    height, width = size
    image = np.asarray(photo.resize((width, height), Image.LANCZOS), dtype=np.float32)[None] / 255.0
    vector = (np.random.default_rng(0).standard_normal((1, 1, 1, 100)) * 0.5).astype(np.float32)
    path = shared / "models" / TRANSFERS[variant]
    moved, kept = (replace(OpenVINOEngine(), edges=edges).load(path) for edges in (True, False))
    inputs = {t.name: (image if t.shape[-1] == 3 else vector) for t in moved.inputs}
    np.testing.assert_array_equal(moved.run(inputs)[0], kept.run(inputs)[0])
    assert kept.edges_moved == 0
    # the picture's input and the output (its last convolution is spread at both sizes); not the
    # style vector's, which is not mirrored
    assert moved.convs_spread == 1
    assert moved.edges_moved == 2, f"{variant}: {moved.edges_moved} moved"
    if BF16 in OpenVINOEngine().precisions():
        assert OpenVINOEngine().load(path, precision=BF16).edges_moved == 0


AS_WITHOUT_VNNI = """
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

import stylize.engine.openvino as openvino

openvino.cpu_has_vnni = lambda cpuinfo=None: False  # the engine's configuration on a CPU without VNNI
engine = openvino.OpenVINOEngine()
assert engine.config["LP_TRANSFORMS_MODE"] is False
image = np.random.default_rng(0).random((1, 384, 384, 3), dtype=np.float32)
vector = (np.random.default_rng(1).standard_normal((1, 1, 1, 100)) * 0.5).astype(np.float32)
for name in sys.argv[1:]:
    moved, kept = (replace(engine, edges=edges).load(Path(name)) for edges in (True, False))
    feeds = {t.name: (image if t.shape[-1] == 3 else vector) for t in moved.inputs}
    assert moved.edges_moved == 2 and kept.edges_moved == 0, (name, moved.edges_moved)
    assert np.array_equal(moved.run(feeds)[0], kept.run(feeds)[0]), name
print("ok")
"""


def test_the_ends_moved_compile_and_paint_the_same_as_on_a_cpu_without_vnni(shared):
    """oneDNN held to AVX2 and the engine configured as without VNNI (the low-precision
    transformations off): the int8 and float16 transfer models compile with their ends moved and
    paint bit-identically. (With the int8 model's style vector moved too, this failed to compile:
    an inner product OpenVINO could not create; it is left as it is. The dynamic-range model fails
    to compile under this cap with or without any rewrite — the cap holds oneDNN to AVX2, not the
    plugin's own choice of kernels — so it is not run here.)"""
    import os
    import subprocess
    import sys

    names = [str(shared / "models" / TRANSFERS[v]) for v in ("int8", "fp16")]
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", AS_WITHOUT_VNNI, *names], capture_output=True, encoding="utf-8", env=env, cwd=root, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
