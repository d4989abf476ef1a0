"""Graph rewriting that lets a fixed-size network run at any height × width.

Magenta's transfer networks upsample three times with nearest-neighbour resizes whose output
sizes are constants (192², 384², 384²), so resizing only the input still returns 384×384. Each
backend rewrites those constants when it builds the model for a new shape:

- LiteRT: the sizes live in the flatbuffer as small int32 buffers. ``TFLiteResizeSizes`` finds
  each RESIZE_* operator's constant size buffer once (with the flatbuffer schema that ships in
  ``ai_edge_litert``) and writes scaled sizes into a copy of the file's bytes; nothing else in the
  file changes, so at the native size the bytes — and the outputs — are the original's.
- OpenVINO: ``interpolate_sizes_to_scales`` replaces every ``Interpolate`` that has constant
  sizes with one that has the equivalent constant scales, after which ``Model.reshape`` to any
  size propagates through the whole graph.

Sizes must scale to whole numbers: the transfer networks want multiples of 4 (the caller pads).
A model whose resize sizes are computed at run time (the dynamic-range file) needs no rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

RESIZE_OPS = ("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")


@dataclass(frozen=True)
class SizeBuffer:
    offset: int  # byte offset of the two int32 values (height, width) in the file
    height: int
    width: int


class TFLiteResizeSizes:
    """The constant output sizes of a .tflite file's resize operators, and copies of the file
    with those sizes scaled."""

    def __init__(self, data: bytes):
        from ai_edge_litert import schema_py_generated as schema

        self.data = bytes(data)
        model = schema.Model.GetRootAsModel(self.data, 0)
        wanted = {getattr(schema.BuiltinOperator, name) for name in RESIZE_OPS}
        codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
        found: dict[int, SizeBuffer] = {}
        for s in range(model.SubgraphsLength()):
            graph = model.Subgraphs(s)
            for i in range(graph.OperatorsLength()):
                op = graph.Operators(i)
                code = codes[op.OpcodeIndex()]
                if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) not in wanted:
                    continue
                buffer_index = graph.Tensors(op.Inputs(1)).Buffer()
                buffer = model.Buffers(buffer_index)
                if buffer.DataLength() != 8:
                    continue  # computed at run time: it follows the input by itself
                offset = buffer._tab.Vector(buffer._tab.Offset(4))
                height, width = (int(v) for v in np.frombuffer(self.data, dtype="<i4", count=2, offset=offset))
                found[buffer_index] = SizeBuffer(offset, height, width)
        self.sizes = tuple(found.values())

    def scaled(self, scale_h: Fraction, scale_w: Fraction) -> bytes:
        """The file's bytes with every constant resize size multiplied by the scales."""
        if (scale_h, scale_w) == (1, 1) or not self.sizes:
            return self.data
        patched = bytearray(self.data)
        for size in self.sizes:
            height, width = size.height * scale_h, size.width * scale_w
            if height.denominator != 1 or width.denominator != 1:
                raise ValueError(f"a resize to {size.height}×{size.width} cannot be scaled by {scale_h}×{scale_w} to whole pixels")
            patched[size.offset : size.offset + 8] = np.array([int(height), int(width)], dtype="<i4").tobytes()
        return bytes(patched)


def interpolate_sizes_to_scales(model) -> int:
    """Rewrite every ``Interpolate`` of an OpenVINO model whose output size is a constant into
    the same ``Interpolate`` driven by scales; returns how many were rewritten."""
    import openvino.opset11 as ops

    rewritten = 0
    for node in model.get_ops():
        if node.get_type_name() != "Interpolate" or node.input_value(1).get_node().get_type_name() != "Constant":
            continue
        attrs = node.get_attributes()
        if attrs["shape_calculation_mode"] != "sizes":
            continue
        axes = [int(a) for a in node.input_value(2).get_node().get_data()] if node.get_input_size() > 2 else list(range(node.get_input_partial_shape(0).rank.get_length()))
        before, after = node.get_input_partial_shape(0), node.get_output_partial_shape(0)
        scales = np.array([after[a].get_length() / before[a].get_length() for a in axes], dtype=np.float32)
        replacement = ops.interpolate(
            node.input_value(0),
            ops.constant(scales),
            mode=attrs["mode"],
            shape_calculation_mode="scales",
            axes=ops.constant(np.array(axes, dtype=np.int64)),
            coordinate_transformation_mode=attrs["coordinate_transformation_mode"],
            nearest_mode=attrs["nearest_mode"],
            antialias=attrs["antialias"],
            cube_coeff=attrs["cube_coeff"],
            pads_begin=attrs["pads_begin"],
            pads_end=attrs["pads_end"],
        )
        replacement.set_friendly_name(node.get_friendly_name())
        node.output(0).replace(replacement.output(0))
        rewritten += 1
    if rewritten:
        model.validate_nodes_and_infer_types()
    return rewritten


_SHIFTING = {"tf_half_pixel_for_nn": ("round_prefer_ceil", "ceil")}  # coordinate x + ½, rounded up: x + 1


def drop_identity_interpolations(model) -> int:
    """Remove every nearest-neighbour ``Interpolate`` of a statically shaped OpenVINO model whose
    output is its input's size at scale 1 — the transfer networks' third upsampling, whose output
    size is its input's: each output pixel is the input pixel at its own coordinates, so it only
    copies the tensor (0.2 ms in the int8 model at 384², 0.9 ms in float32); returns how many
    were removed. Done per built shape: in the dynamic-range file the sizes are computed."""
    removed = 0
    for node in list(model.get_ops()):
        if node.get_type_name() != "Interpolate" or not _copies(node):
            continue
        node.output(0).replace(node.input_value(0))
        removed += 1
    if removed:
        model.validate_nodes_and_infer_types()
    return removed


def _copies(node) -> bool:
    attrs = node.get_attributes()
    if attrs["mode"] != "nearest" or any(attrs["pads_begin"]) or any(attrs["pads_end"]):
        return False
    if attrs["nearest_mode"] in _SHIFTING.get(attrs["coordinate_transformation_mode"], ()):
        return False
    before, after = node.get_input_partial_shape(0), node.get_output_partial_shape(0)
    if not before.is_static or not after.is_static or before.to_shape() != after.to_shape():
        return False
    if attrs["shape_calculation_mode"] == "sizes":
        return True
    scales = node.input_value(1).get_node()  # a scale of 1.1 can keep a side of 5 at 5 pixels, but not its coordinates
    return scales.get_type_name() == "Constant" and bool(np.all(scales.get_data() == 1))
