"""Quantized builds of the float32 transfer model, made with Google's ai-edge-quantizer.

ai-edge-quantizer reads a float .tflite and writes a quantized one from a recipe, calibrating
full-integer builds on a representative dataset it runs through LiteRT. It works on the file
itself; TensorFlow's ``TFLiteConverter`` needs a TensorFlow model, which ``tf_model.py`` rebuilds
from the same file for the builds in ``tf_builds.py``. Both sets are kept, side by side in the
comparison.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..engine.moments import write
from ..imaging import letterbox, to_unit_float

SIDE = 384


@dataclass(frozen=True)
class Recipe:
    name: str  # the variant's name in the manifest
    precision: str
    recipe: str  # what the quantizer was told, for the manifest
    calibrated: bool
    label: str = ""  # the short name a visitor reads (the manifest's label)

    def build(self):
        from ai_edge_quantizer import recipe as recipes

        if self.recipe == "dynamic_wi8_afp32":
            return recipes.dynamic_wi8_afp32()
        if self.recipe == "float_casting_wf16_afp32":
            return [
                {
                    "regex": ".*",
                    "operation": "*",
                    "algorithm_key": "float_casting",
                    "op_config": {"weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"}, "compute_precision": "FLOAT", "explicit_dequantize": True},
                }
            ]
        if self.recipe == "static_wi8_ai8":
            return recipes.static_wi8_ai8()
        raise ValueError(f"unknown recipe {self.recipe}")


RECIPES = (
    Recipe("dynamic-aeq", "dynamic", "dynamic_wi8_afp32", calibrated=False, label="dynamic-range int8 (ours)"),
    Recipe("fp16-aeq", "fp16", "float_casting_wf16_afp32", calibrated=False, label="float16 (ours)"),
    Recipe("int8-full", "int8", "static_wi8_ai8", calibrated=True, label="full-integer int8 (ours)"),
)
# Not made: int16 activations with int8 weights (static_wi8_ai16). The quantizer writes it and
# LiteRT runs it, but OpenVINO 2026.4 cannot read it ("Chosen Builtin Option is not accessible for
# this node"), and every variant here is compared on both runtimes.


def calibration_pairs(photos: list[np.ndarray], styles: list[np.ndarray], count: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``count`` (content image, style vector) pairs: each photo letterboxed to 384×384 (and its
    mirror image), each with a different gallery style, in a fixed order."""
    contents = []
    for rgb in photos:
        square, _ = letterbox(rgb, SIDE)
        contents += [square, square[:, ::-1]]
    for i in range(count):
        yield to_unit_float(contents[i % len(contents)])[None], styles[(i * 7) % len(styles)]


def quantized(float32: bytes, recipe: Recipe, pairs: list[tuple[np.ndarray, np.ndarray]], input_names: tuple[str, str]) -> bytes:
    """The float32 model quantized by ``recipe`` (calibrated on ``pairs`` where it needs it)."""
    from ai_edge_quantizer import quantizer

    q = quantizer.Quantizer(bytearray(float32), recipe.build())
    calibration = None
    if q.need_calibration:
        image_name, vector_name = input_names
        data = [{image_name: image.astype(np.float32), vector_name: vector.astype(np.float32)} for image, vector in pairs]
        calibration = portable_ranges(q.calibrate({"serving_default": data}, num_threads=2))
    return portable(bytes(q.quantize(calibration, enable_progress_report=False).quantized_model))


RANGE_DIGITS = 3  # significant digits kept of each calibrated min and max


def portable_ranges(calibration: dict) -> dict:
    """The calibrated ranges rounded outwards to ``RANGE_DIGITS`` significant digits (min down,
    max up). The ranges come from LiteRT's float kernels, which sum in a different order on an
    AVX2 and an AVX-512 CPU, so their last bits — and so the quantized file's bytes and its pinned
    sha256 — depended on the machine that ran ``convert``; rounded, they do not (and a range a
    thousandth wider changes no picture)."""
    rounded = {}
    for name, values in calibration.items():
        rounded[name] = dict(values)
        for key, direction in (("min", np.floor), ("max", np.ceil)):
            if key in values:
                rounded[name][key] = rounded_outwards(np.asarray(values[key]), direction)
    return rounded


def rounded_outwards(values: np.ndarray, direction, digits: int = RANGE_DIGITS) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits by ``direction`` (``np.floor`` for a
    minimum, ``np.ceil`` for a maximum), in their own dtype."""
    array = np.asarray(values, dtype=np.float64)
    scale = 10.0 ** (np.floor(np.log10(np.maximum(np.abs(array), 1e-30))) - (digits - 1))
    return (direction(array / scale) * scale).astype(np.asarray(values).dtype)


def portable(data: bytes) -> bytes:
    """The model as every reader takes it: buffers stored after the flatbuffer (which the quantizer
    writes for float16 weights) inlined, and operators listed producers first. OpenVINO's reader
    reads neither ("should be either input, constant or already produced by previous operators")."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for buffer in model.buffers:  # data kept after the flatbuffer (offset/size): inline, which every reader takes
        if buffer.offset and buffer.size:
            buffer.data = np.frombuffer(data[buffer.offset : buffer.offset + buffer.size], dtype=np.uint8)
            buffer.offset = buffer.size = 0
    for graph in model.subgraphs:
        produced = set(graph.inputs) | {i for i, t in enumerate(graph.tensors) if t.buffer and model.buffers[t.buffer].data is not None}
        pending, ordered = list(graph.operators), []
        while pending:
            ready = [op for op in pending if all(i < 0 or i in produced for i in op.inputs)]
            if not ready:
                return data  # not a graph we can order; leave it as the quantizer wrote it
            for op in ready:
                ordered.append(op)
                produced.update(op.outputs)
            pending = [op for op in pending if not any(op is r for r in ready)]
        graph.operators = ordered
    return write(model, len(data))
