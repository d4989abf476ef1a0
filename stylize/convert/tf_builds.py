"""TensorFlow Lite builds of the transfer network made by TensorFlow's own ``TFLiteConverter``.

These are the builds the seed post makes, from the TensorFlow model of ``tf_model.py``:

- dynamic-range int8 (``Optimize.DEFAULT``): int8 weights, float activations;
- float16 weights (``Optimize.DEFAULT`` with ``supported_types=[tf.float16]``);
- full-integer int8 calibrated by a ``representative_dataset`` of [content, style vector] pairs,
  with float I/O and with int8 I/O;
- the same calibration with the instance normalisations' arithmetic kept in float (selective
  quantization: TensorFlow's ``QuantizationDebugger`` route, ``denylisted_ops``), which is where
  the full-integer build's error sits (its per-layer report: the ``RSQRT``·gamma products and the
  squared differences lose more than one quantization step).

The three integer builds share one calibration: the converter is asked for its calibrated model
(``_experimental_calibrate_only``, the flag TensorFlow's own ``QuantizationDebugger`` uses), each
range is rounded outwards to three significant digits, and ``mlir_quantize`` — the quantizer
``convert()`` itself calls — quantizes it three ways. The rounding makes the bytes the same on any
CPU (the calibration's sums run in a different order on AVX2 and AVX-512, as for the
ai-edge-quantizer builds in ``quantize.py``), and a second ``convert`` writes identical files.

Every file keeps ``None`` height and width in its shape signature (each upsampling doubles its
run-time input), and records the shapes at the native 384×384 as the shipped files do, so that a
reader that allocates at load time (LiteRT) or wants a static shape (OpenVINO) starts there, and
the tiled painting can size its stages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..engine.moments import write
from ..imaging import letterbox, resize, to_unit_float
from .quantize import RANGE_DIGITS, SIDE, rounded_outwards

NATIVE = (1, SIDE, SIDE, 3)
NORM_OPS = ("MEAN", "SQUARED_DIFFERENCE", "RSQRT", "MUL", "SUB")  # kept in float by the selective build
# The calibration contents' sizes (width, height) and brightness. Measured (OpenVINO, three sample
# photos against float32): adding 256² contents and ±25 % brightness widened the ranges and cost
# 0.7–1.9 dB; these cost nothing.
CONTENT_SIDES = ((384, 384), (512, 384), (384, 512))
BRIGHTNESS = (1.0, 0.9, 1.1)


@dataclass(frozen=True)
class Build:
    name: str  # the variant's name in the manifest
    precision: str
    recipe: str  # what the converter was told, for the manifest
    label: str  # the short name a visitor reads
    calibrated: bool = False
    io: str = "float"  # the integer builds' input and output type
    denylisted_ops: tuple[str, ...] = ()


BUILDS = (
    Build("dynamic-tf", "dynamic", "TFLiteConverter: optimizations=[DEFAULT] (dynamic-range int8 weights)", "dynamic-range int8 (TensorFlow)"),
    Build("fp16-tf", "fp16", "TFLiteConverter: optimizations=[DEFAULT], supported_types=[float16]", "float16 (TensorFlow)"),
    Build("int8-tf", "int8", "TFLiteConverter: full-integer int8, float I/O, representative_dataset", "full-integer int8 (TensorFlow)", calibrated=True),
    Build("int8io-tf", "int8", "TFLiteConverter: full-integer int8, int8 I/O, representative_dataset", "int8 with int8 I/O (TensorFlow)", calibrated=True, io="int8"),
    Build(
        "int8-floatnorm-tf", "int8",
        f"TFLiteConverter: int8, representative_dataset, denylisted_ops={','.join(NORM_OPS)} (instance norms in float)",
        "int8, norms in float (TensorFlow)", calibrated=True, denylisted_ops=NORM_OPS,
    ),
)


def representative_pairs(photos: list[np.ndarray], styles: list[np.ndarray], per_style: int = 4) -> Iterator[list[np.ndarray]]:
    """[content, style vector] pairs, ``per_style`` for every gallery style, in a fixed order: each
    content a photo (taken in turn), whole or a crop of 60–100 % of it (fixed seed), mirrored every
    other time, at 100, 90 or 110 % brightness, at one of three sizes (not all square, so the
    ranges are those of the sizes the page paints)."""
    rng = np.random.default_rng(21)
    for s, vector in enumerate(styles):
        for k in range(per_style):
            i = s * per_style + k
            rgb = photos[i % len(photos)]
            if k % 2:
                h, w = rgb.shape[:2]
                fraction = rng.uniform(0.6, 1.0)
                ch, cw = max(4, int(h * fraction)), max(4, int(w * fraction))
                top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
                rgb = rgb[top : top + ch, left : left + cw]
            width, height = CONTENT_SIDES[i % len(CONTENT_SIDES)]
            content, _ = letterbox(rgb, width, height) if i % 3 else (resize(rgb, width, height), None)
            if i % 2:
                content = content[:, ::-1]
            content = np.clip(to_unit_float(content) * BRIGHTNESS[(i // 2) % len(BRIGHTNESS)], 0.0, 1.0)
            yield [content[None].astype(np.float32), np.reshape(vector, (1, 1, 1, -1)).astype(np.float32)]


def tflite_builds(float32: bytes, pairs: list[list[np.ndarray]], builds: tuple[Build, ...] = BUILDS) -> dict[str, bytes]:
    """Each of ``builds`` of the float32 transfer file, made by ``TFLiteConverter`` from its
    TensorFlow model; the integer ones calibrated once on ``pairs``."""
    import tensorflow as tf
    from tensorflow.lite.python.convert import mlir_quantize

    from .tf_model import TransferModel

    model = TransferModel(float32)

    def converter():
        made = tf.lite.TFLiteConverter.from_concrete_functions([model.function.get_concrete_function()], model.function)
        made.optimizations = [tf.lite.Optimize.DEFAULT]
        return made

    written, calibrated = {}, None
    for build in builds:
        if not build.calibrated:
            made = converter()
            if build.precision == "fp16":
                made.target_spec.supported_types = [tf.float16]
            written[build.name] = with_native_size(made.convert())
            continue
        if calibrated is None:
            made = converter()
            made.representative_dataset = lambda: iter(pairs)
            made._experimental_calibrate_only = True  # noqa: SLF001 — TensorFlow's QuantizationDebugger does the same
            calibrated = portable_calibration(made.convert())
        io = tf.int8 if build.io == "int8" else tf.float32
        quantized = mlir_quantize(calibrated, input_data_type=io, output_data_type=io, denylisted_ops=list(build.denylisted_ops) or None)
        written[build.name] = with_native_size(quantized)
    return written


def portable_calibration(calibrated: bytes) -> bytes:
    """The calibrated model with every recorded range rounded outwards to ``RANGE_DIGITS``
    significant digits (min down, max up)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(calibrated), 0)
    for graph in model.subgraphs:
        for tensor in graph.tensors:
            q = tensor.quantization
            if q is not None and q.min is not None and q.max is not None:
                q.min = rounded_outwards(np.asarray(q.min, dtype=np.float32), np.floor, RANGE_DIGITS)
                q.max = rounded_outwards(np.asarray(q.max, dtype=np.float32), np.ceil, RANGE_DIGITS)
    return write(model, len(calibrated))


def with_native_size(data: bytes) -> bytes:
    """The file with every tensor's shape written as it is at the native 384×384 (what LiteRT
    finds running it once there), its shape signature still leaving height and width free: the
    shipped files record their shapes so, and the tiled painting's stage split sizes its stages
    from them."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    interpreter = Interpreter(model_content=data, experimental_preserve_all_tensors=True)
    for detail in interpreter.get_input_details():
        if len(detail["shape"]) == 4 and detail["shape"][-1] == 3:
            interpreter.resize_tensor_input(detail["index"], list(NATIVE))
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
    interpreter.invoke()
    for detail in interpreter.get_tensor_details():
        tensor = graph.tensors[detail["index"]]
        if tensor.shape is not None and len(tensor.shape) == len(detail["shape"]):
            tensor.shape = np.asarray(detail["shape"], dtype=np.int32)
    return write(model, len(data))

