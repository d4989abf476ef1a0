"""Normalisations of few channels, rewritten so that their per-channel arithmetic runs along whole
rows, for OpenVINO.

OpenVINO's CPU plugin keeps the int8 transfer network's activations channels-last (NHWC), so an
element-wise operation with a per-channel operand (the normalisation's scale and shift, ``y =
MVN(x) · gamma + beta`` after ``norms.py``) is vectorised along the channels. Where a layer has
only a few — the last normalisation's 3 channels (then the quantization and the sigmoid that make
the picture) and the one before it's 8 — each AVX-512 vector holds 3 or 8 useful values of 16:
OpenVINO's per-layer counters gave that single 3-channel chain 3.5 ms of the int8 model's 24 ms
at 384², more than the 13 normalisations' reductions together.

The stages of a tiled painting normalise by fed statistics (``norms.fuse_fed_norms``: subtract
the mean, scale, multiply, add), the last two on 8 and 3 channels too; their chains are rewritten
the same way.

``widen_narrow_norms`` lays such a chain out as the memory already is: the normalised activation
is transposed to channels-last and reshaped to rows of ``width × channels`` values (OpenVINO
copies it once for that: a reorder of about 0.4 ms at 384², against the 3.5 + 1.2 ms the two
chains took), the scale and shift are tiled to a row, the chain runs on those rows, and the result
is reshaped and transposed back. The arithmetic is the same operations on the same values in the
same order, so a quantized model's output is bit-identical (tested); in a model whose activations
are float, OpenVINO may round the multiply-add differently once it is no longer fused into the
``MVN`` kernel (one TensorFlow build: 96.8 dB apart, tested ≥ 60 dB). The operations that do not fit (a
per-channel quantization range, a second consumer) end the chain, and so does the quantization
in front of a convolution, which OpenVINO fuses into that convolution where it stays (on rows it
cost more than it saved: its padding ran in float).

It is done when a shape is built, after ``spread.py`` and ``fold.py``: where the last
convolution runs on its output's phases, the 3-channel normalisation and its chain run there too
(48 channels, no rows needed), and where the one before it is folded into it, the 8-channel one
runs on its phases (32 channels); what is left for rows is the chains at sizes the phases do not
fit, and a tiled painting's stages that end between the two.
"""

from __future__ import annotations

import numpy as np

from .norms import fed_statistic

NARROW = 8  # channels at most for a chain to be rewritten (measured: ``scripts/measure_narrow.py``)
_ELEMENTWISE = ("Subtract", "Multiply", "Add", "FakeQuantize", "Relu", "Sigmoid")


def widen_narrow_norms(model, max_channels: int = NARROW) -> int:
    """Rewrite the element-wise chain of every normalisation of at most ``max_channels`` channels
    in an OpenVINO ``model`` (4-D, channels second; after an ``MVN``, or from the subtraction of a
    fed mean in a stage) to run on rows; returns how many were rewritten.
    The sizes are taken from the tensors' shapes in the graph, so the model can still be reshaped."""
    import openvino.opset11 as ops

    rewritten = 0
    for source, chain, channels in _narrow_norms(model, max_channels):
        while chain and chain[-1].get_type_name() == "FakeQuantize" and not _is_output(chain[-1]):
            chain.pop()  # the quantization before a convolution stays where OpenVINO fuses it into that convolution
        if not any(node.get_type_name() in ("Multiply", "Add") for node in chain):
            continue
        last = chain[-1].output(0)
        after = list(last.get_target_inputs())
        nhwc = ops.transpose(source, i64([0, 2, 3, 1]))
        y = ops.reshape(nhwc, i64([0, 0, -1]), special_zero=True)  # N, H, W·C
        width = ops.gather(ops.shape_of(nhwc), i64([2]), i64(0))
        repeats = ops.concat([i64([1, 1]), width], 0)
        for node in chain:
            kind = node.get_type_name()
            if kind in ("Subtract", "Multiply", "Add"):
                row = ops.tile(ops.reshape(node.input(1).get_source_output(), i64([1, 1, channels]), special_zero=False), repeats)
                y = {"Subtract": ops.subtract, "Multiply": ops.multiply, "Add": ops.add}[kind](y, row)
            elif kind == "FakeQuantize":
                # one range for the whole tensor, as rank 3: a 4-D range would broadcast the rows to 4-D
                limits = (ops.reshape(node.input(i).get_source_output(), i64([1, 1, 1]), special_zero=False) for i in range(1, 5))
                y = ops.fake_quantize(y, *limits, node.get_levels())
            elif kind == "Relu":
                y = ops.relu(y)
            else:
                y = ops.sigmoid(y)
        y = ops.transpose(ops.reshape(y, ops.shape_of(nhwc), special_zero=False), i64([0, 3, 1, 2]))
        y.set_friendly_name(last.get_node().get_friendly_name())
        for target in after:
            target.replace_source_output(y.output(0))
        rewritten += 1
    if rewritten:
        model.validate_nodes_and_infer_types()
    return rewritten


def _narrow_norms(model, max_channels: int):
    """(the activation, the normalisation's element-wise chain on it, its channels) for every
    normalisation of at most ``max_channels`` channels: an ``MVN`` (the chain after it), or in a
    stage of a tiled painting one fed its statistics (``norms.fuse_fed_norms``: the chain from its
    subtraction of the fed mean)."""
    for node in model.get_ordered_ops():
        kind = node.get_type_name()
        shape = node.get_output_partial_shape(0)
        if kind not in ("MVN", "Subtract") or shape.rank.is_dynamic or shape.rank.get_length() != 4 or not shape[1].is_static or shape[1].get_length() > max_channels:
            continue
        channels = shape[1].get_length()
        if kind == "MVN":
            yield node.output(0), _chain(node, channels), channels
        elif fed_statistic(node.input_value(1)) is not None and _per_channel(node, channels):
            yield node.input_value(0), [node, *_chain(node, channels)], channels


def _per_channel(node, channels: int) -> bool:
    operand = node.get_input_partial_shape(1)
    return operand.is_static and tuple(operand.to_shape()) == (1, channels, 1, 1)


def _chain(start, channels: int) -> list:
    """The element-wise operations after ``start`` that can run on rows: each the only consumer of
    the one before, its other operands per channel (``[1, C, 1, 1]``) or, for a quantization, one
    range for the whole tensor."""
    chain, node = [], start
    while True:
        consumers = [t.get_node() for t in node.output(0).get_target_inputs()]
        if len(consumers) != 1 or consumers[0].get_type_name() not in _ELEMENTWISE:
            return chain
        step = consumers[0]
        if step.input(0).get_source_output() != node.output(0):  # the activation is its first operand
            return chain
        kind = step.get_type_name()
        operands = [step.get_input_partial_shape(i) for i in range(1, step.get_input_size())]
        if not all(s.is_static for s in operands):
            return chain
        if kind in ("Subtract", "Multiply", "Add") and not _per_channel(step, channels):
            return chain
        if kind == "FakeQuantize" and not one_range(step):
            return chain
        chain.append(step)
        node = step


def _is_output(node) -> bool:
    """Whether ``node`` only feeds the model's outputs (directly or through a transpose)."""
    consumers = [t.get_node() for t in node.output(0).get_target_inputs()]
    return bool(consumers) and all(c.get_type_name() == "Result" or (c.get_type_name() == "Transpose" and _is_output(c)) for c in consumers)


def one_range(node) -> bool:
    """Whether ``node`` is a ``FakeQuantize`` of one range: each of its four limits a single value."""
    limits = [node.get_input_partial_shape(i) for i in range(1, node.get_input_size())]
    return node.get_type_name() == "FakeQuantize" and all(s.is_static and int(np.prod(s.to_shape())) == 1 for s in limits)


def same_on(node, x):
    """``node`` — a ``Convert`` or a ``FakeQuantize`` — done again on ``x`` (its limits as they are)."""
    import openvino.opset11 as ops

    if node.get_type_name() == "Convert":
        return ops.convert(x, node.get_destination_type())
    return ops.fake_quantize(x, *(node.input_value(i) for i in range(1, 5)), node.get_levels(), node.get_attributes()["auto_broadcast"])


def i64(values) -> object:
    """An OpenVINO int64 constant (shapes, axes, orders) for the graph rewrites."""
    import openvino.opset11 as ops

    return ops.constant(np.array(values, dtype=np.int64))
