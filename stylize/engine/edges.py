"""The layout transposes at a network's two ends, placed where OpenVINO's CPU plugin can drop
them, for OpenVINO.

A .tflite file's tensors are channels-last (NHWC); OpenVINO's TFLite frontend reads each
operation channels-first (NCHW) and puts a ``Transpose`` after every input and before every
output. Inside the network its CPU plugin keeps the activations channels-last again, so the
transposes at the ends are copies that the plugin then undoes with a reorder.

- **At an input**, the transfer network's picture is transposed, then mirrored by 4 pixels (a
  reference ``Pad`` kernel), quantized (int8 model) and reordered back to channels-last for the
  first convolution: four passes over the picture. ``sink_input_transposes`` quantizes and pads
  the picture as it comes (channels-last; the padding's sides permuted; the mirror after the
  quantization, so that it copies bytes, not floats) and transposes after that; a ``Transpose``
  followed by a reorder that undoes it is then dropped by the plugin. Measured with the
  per-layer counters at 384², int8: 0.95 → 0.21 ms. Only an input that is mirrored is moved:
  the int8 model's style vector (100 values, quantized) has nothing to gain, and moved it made
  OpenVINO fail to compile the model with oneDNN held to AVX2 and the low-precision
  transformations off, as the engine runs on a CPU without VNNI (an inner product it could not
  create; tested).
- **At the output**, the last convolution's phases are put in place by ``DepthToSpace``
  (``spread.py``) and transposed to channels-last; in the int8 model OpenVINO then dequantizes
  and reorders the picture once more. ``merge_output_depth_to_space`` does both moves as one
  ``Transpose`` of the channels-last phases (a 6-D permutation), which the plugin reads straight
  from the convolution's layout: 1.12 → 0.49 ms (int8, 384²).

In bfloat16 the plugin keeps the tensors at both ends channels-first and converts the picture to
bfloat16 as it comes in, so the moved transposes become copies of their own (the float16 model:
1.02–1.05× slower, interleaved) and the int8 model's input is quantized from other roundings;
the engine rewrites the ends in float32 only.

Every value is moved, none is computed: the outputs are bit-identical (tested). Only element-wise
operations that treat every value alike are moved past a transpose (``Pad``, ``Convert``, a
``FakeQuantize`` of one range); a per-channel one ends the chain.
"""

from __future__ import annotations

from .narrow import i64, one_range, same_on
from .spread import constant_operand

TO_NCHW = (0, 3, 1, 2)
TO_NHWC = (0, 2, 3, 1)


def sink_input_transposes(model) -> int:
    """Move, after every 4-D input's NHWC → NCHW ``Transpose`` that is followed by a padding,
    the ``Pad``, ``Convert`` and one-range ``FakeQuantize`` operations that follow it to before it
    (on the NHWC input); returns how many inputs were rewritten."""
    import openvino.opset11 as ops

    rewritten = 0
    for parameter in model.get_parameters():
        for target in list(parameter.output(0).get_target_inputs()):
            transpose = target.get_node()
            if transpose.get_type_name() != "Transpose" or _order(transpose) != TO_NCHW:
                continue
            chain = _movable_chain(transpose)
            if not any(node.get_type_name() == "Pad" for node in chain):
                continue  # only a picture mirrored as it comes is worth it (and a style vector quantized before its transpose failed to compile on AVX2 without the low-precision transformations)
            x = parameter.output(0)
            for node in sorted(chain, key=_copies_values):  # the values quantized before a mirror copies them
                x = _channels_last(node, x, ops)
            chain[-1].output(0).replace(ops.transpose(x, i64(TO_NCHW)).output(0))
            rewritten += 1
    if rewritten:
        model.validate_nodes_and_infer_types()
    return rewritten


def merge_output_depth_to_space(model) -> int:
    """Replace every ``DepthToSpace`` followed (only) by an NCHW → NHWC ``Transpose`` with one
    transpose of the phases: channels-last, then each channel's block × block phases moved beside
    their pixel. Returns how many were replaced."""
    import openvino.opset11 as ops

    rewritten = 0
    for node in list(model.get_ordered_ops()):
        if node.get_type_name() != "DepthToSpace" or not node.get_output_partial_shape(0).is_static:
            continue
        consumers = [t.get_node() for t in node.output(0).get_target_inputs()]
        if len(consumers) != 1 or consumers[0].get_type_name() != "Transpose" or _order(consumers[0]) != TO_NHWC:
            continue
        transpose = consumers[0]
        attributes = node.get_attributes()
        block = int(attributes["block_size"])
        n, channels, height, width = (int(d) for d in node.input_value(0).get_shape())
        colours = channels // (block * block)
        phases = ops.transpose(node.input_value(0), i64(TO_NHWC))
        if attributes["mode"] == "depth_first":  # channel c·B² + a·B + b
            split, order = [n, height, width, colours, block, block], [0, 1, 4, 2, 5, 3]
        else:  # blocks_first: channel (a·B + b)·C + c
            split, order = [n, height, width, block, block, colours], [0, 1, 3, 2, 4, 5]
        moved = ops.transpose(ops.reshape(phases, i64(split), False), i64(order))
        picture = ops.reshape(moved, i64([n, height * block, width * block, colours]), False)
        picture.set_friendly_name(transpose.get_friendly_name())
        transpose.output(0).replace(picture.output(0))
        rewritten += 1
    if rewritten:
        model.validate_nodes_and_infer_types()
    return rewritten


def _order(transpose) -> tuple[int, ...] | None:
    order = constant_operand(transpose.input_value(1))
    return None if order is None else tuple(int(v) for v in order.reshape(-1))


def _movable_chain(transpose) -> list:
    """The operations after ``transpose``, each the only consumer of the one before, that can be
    done on the untransposed tensor."""
    chain, node = [], transpose
    while True:
        consumers = [t.get_node() for t in node.output(0).get_target_inputs()]
        if len(consumers) != 1 or not _movable(consumers[0]):
            return chain
        node = consumers[0]
        chain.append(node)


def _copies_values(node) -> bool:
    """Whether ``node`` is a padding that only copies values (not a constant's): it may run after
    the element-wise operations that follow it."""
    return node.get_type_name() == "Pad" and node.get_attributes()["pad_mode"] != "constant"


def _movable(node) -> bool:
    kind = node.get_type_name()
    if kind == "Convert":
        return True
    if kind == "Pad":
        return all(node.input_value(i).get_node().get_type_name() == "Constant" for i in range(1, node.get_input_size()))
    return one_range(node)


def _channels_last(node, x, ops):
    """``node`` (of ``_movable_chain``) applied to the channels-last ``x``."""
    if node.get_type_name() != "Pad":
        return same_on(node, x).output(0)
    begin, end = (node.input_value(i).get_node().get_data()[list(TO_NHWC)] for i in (1, 2))
    value = node.input_value(3) if node.get_input_size() > 3 else None
    return ops.pad(x, ops.constant(begin), ops.constant(end), node.get_attributes()["pad_mode"], value).output(0)
