"""Convolutions of few output channels, rewritten as strided convolutions of many, for OpenVINO.

The transfer network's last convolution makes the picture: a 9×9 kernel from 8 channels to 3, at
full resolution. OpenVINO's convolution kernels vectorise along the output channels, so its 3
channels fill 3 lanes of a 16-lane AVX-512 vector: its per-layer counters put that single layer at
4.5 ms of the int8 model's 22 ms at 384², and at 18 of the float16 model's 62 ms in float32 —
more than the ten 32-channel convolutions of the residual blocks together.

``spread_thin_convolutions`` computes the same sums with the output's B×B phases as channels
(B = 4): output pixel ``(B·i + a, B·j + b)`` of channel ``o`` is channel ``o·B² + a·B + b`` of a
convolution with stride B whose kernel is the original one placed at offset ``(a, b)`` in a
``(K + B − 1)²`` kernel of zeros; ``DepthToSpace`` puts the phases back in place. 3 channels become
48, and the layer does 1.8 times the multiplications (the zeros) in about a third of the time
(4.5 → 1.3 ms in the int8 model at 384²). The sums are the same products, plus zeros: in float32
the paintings came out bit-identical, and int8 sums are exact.

What follows the convolution channel by channel runs on the phases too, before they are put back:
its bias (a float16 file's is a converted constant, followed through), an activation, a
quantization of one range and — as ``norms.py`` writes it — the instance normalisation (one
``MVN`` over height and width), its statistics taken over each channel's B² phases together: the
mean of the phases' means, then the mean of their squared differences from it, which are the
picture's own. On 3 channels at full resolution the ``MVN`` had the same narrow vectors as the
convolution (1.2 ms at 384²); on the phases it is a fraction of that. (An ``MVN`` over a 5-D
reshape of the phases made OpenVINO reorder the whole float tensor first, 1.5 ms; so the phases
keep the convolution's layout and only their statistics are reshaped.)
Its sums are added in another order, so a value at the edge of a quantization step can come out on
the other side, and the int8 painting moves as a quantized network's does (51 dB from the one
without at 384² on a sample photo, bit-identical at 640×480); it is tested against the float
reference as the issue bounds it.

The weights are rearranged as the file stores them — the int8 constant, its per-channel scale
repeated for each phase — so that OpenVINO's low-precision transformations still see a quantized
convolution. A ``SpaceToDepth`` in front of an ordinary convolution would do the same arithmetic,
but those transformations do not pass through it, and the convolution ran in float (1.5× slower).

The phases need the output's height and width to be multiples of B; the rewrite is done per
compiled shape (``OpenVINOModel._build``) and leaves a convolution whose sizes are not as it is.
Measured (``scripts/measure_spread.py`` and the per-layer counters): a convolution with 8 output
channels put back in place gained nothing — the first one's convolution went from 2.05 to 1.20 ms
at 384² in 2×2 phases, and its ``DepthToSpace`` took the difference back — so only convolutions
of at most ``THIN`` output channels are put back.
(They need not be, before a strided convolution: ``fold.py``.)
"""

from __future__ import annotations

import numpy as np

from .narrow import i64, one_range, same_on
from .norms import constant

THIN = 4  # output channels at most for a convolution to be spread
BLOCK = 4  # phases a side: 3 output channels become 48, three full AVX-512 vectors


def spread_thin_convolutions(model, max_channels: int = THIN, block: int = BLOCK) -> int:
    """Rewrite, in a statically shaped OpenVINO ``model``, every stride-1 convolution with at most
    ``max_channels`` output channels, a kernel of at least 3 and an output whose sides are
    multiples of ``block``, into a ``block``-strided convolution over ``block``² times the channels
    followed by ``DepthToSpace``; returns how many were rewritten."""
    import openvino.opset11 as ops

    if max_channels <= 0 or block < 2:
        return 0
    rewritten = 0
    for conv in list(model.get_ordered_ops()):
        found = thin_candidate(conv, max_channels, block)
        if found is None:
            continue
        phases, last = on_its_phases(conv, *found, block)
        picture = ops.depth_to_space(phases, "depth_first", block)
        picture.set_friendly_name(last.get_friendly_name())
        for target in list(last.output(0).get_target_inputs()):
            target.replace_source_output(picture.output(0))
        rewritten += 1
    if rewritten:
        model.validate_nodes_and_infer_types()
    return rewritten


def on_its_phases(conv, base: np.ndarray, path: list, block: int):
    """``conv`` (its weights' base constant and dequantization ``path``) computed over its
    output's ``block``² phases, and what follows it channel by channel (``phase_chain``) applied
    to them: (the phases, the last node they stand for)."""
    import openvino.opset11 as ops

    channels = base.shape[0]
    weights = ops.constant(phase_kernel(base, block))
    for node in path:  # the weights' own dequantization, each per-channel operand repeated per phase
        if node.get_type_name() == "Convert":
            weights = ops.convert(weights, node.get_destination_type())
            continue
        operand = _per_phase(node.input_value(1).get_node().get_data(), channels, block, axis=0)
        weights = (ops.multiply if node.get_type_name() == "Multiply" else ops.subtract)(weights, ops.constant(operand))
    phases = ops.convolution(conv.input_value(0), weights, [block, block], [0, 0], [0, 0], [1, 1], auto_pad="valid")
    last = conv
    for node in phase_chain(conv, channels):
        phases, last = _on_phases(phases, node, channels, block), node
    return phases, last


def phase_kernel(weights: np.ndarray, block: int) -> np.ndarray:
    """``weights`` ``[O, C, K, K]`` as the kernel of the strided convolution that computes each of
    the output's ``block``² phases as a channel: ``[O·B², C, K + B − 1, K + B − 1]``, output channel
    ``o·B² + a·B + b`` holding the original kernel at offset ``(a, b)`` and zeros elsewhere."""
    out_channels, in_channels, k, _ = weights.shape
    size = k + block - 1
    phases = np.zeros((out_channels, block, block, in_channels, size, size), dtype=weights.dtype)
    for a in range(block):
        for b in range(block):
            phases[:, a, b, :, a : a + k, b : b + k] = weights
    return phases.reshape(out_channels * block * block, in_channels, size, size)


def thin_candidate(conv, max_channels: int, block: int):
    """(the weights' base constant, the nodes between it and the convolution) if ``conv`` is one
    to spread, else None."""
    if conv.get_type_name() != "Convolution":
        return None
    attributes = conv.get_attributes()
    if list(attributes["strides"]) != [1, 1] or list(attributes["dilations"]) != [1, 1]:
        return None
    if any(attributes["pads_begin"]) or any(attributes["pads_end"]) or attributes["auto_pad"] not in ("valid", "explicit", "notset"):
        return None
    kernel, output = conv.get_input_partial_shape(1), conv.get_output_partial_shape(0)
    if not kernel.is_static or not output.is_static:
        return None
    out_channels, _, height, width = (int(d) for d in kernel.to_shape())
    if out_channels > max_channels or height != width or height < 3:
        return None
    if any(int(side) % block for side in tuple(output.to_shape())[2:]):
        return None
    return weights_of(conv.input_value(1), out_channels)


_PER_CHANNEL = {"Add": "add", "Multiply": "multiply", "Subtract": "subtract"}


def phase_chain(conv, channels: int) -> list:
    """The operations after ``conv`` that can run on its phases before they are put back, each
    the only consumer of the one before: adding, multiplying or subtracting a per-channel (or
    single) constant or a per-channel value computed in the graph, ``Relu``, ``Sigmoid``, a
    quantization of one range, and an instance normalisation (``MVN`` over height and width)."""
    chain, node = [], conv
    while True:
        consumers = [target.get_node() for target in node.output(0).get_target_inputs()]
        if len(consumers) != 1 or consumers[0].input_value(0) != node.output(0):
            return chain
        step, kind = consumers[0], consumers[0].get_type_name()
        if kind in _PER_CHANNEL:
            operand = constant_operand(step.input_value(1))
            shape = step.get_input_partial_shape(1)
            computed = operand is None and shape.is_static and tuple(shape.to_shape()) == (1, channels, 1, 1)  # the style's scale or shift
            if not computed and (operand is None or operand.shape not in ((1, channels, 1, 1), (), (1,), (1, 1, 1, 1))):
                return chain
        elif kind == "FakeQuantize":
            if not one_range(step):
                return chain
        elif kind == "MVN":
            axes = step.input_value(1).get_node()
            if axes.get_type_name() != "Constant" or sorted(int(a) % 4 for a in axes.get_data().ravel()) != [2, 3]:
                return chain
        elif kind not in ("Relu", "Sigmoid"):
            return chain
        chain.append(step)
        node = step


def _on_phases(phases, node, channels: int, block: int):
    """``node`` (from ``phase_chain``) applied to the phases: a per-channel operand repeated for
    each channel's ``block``² phases; an instance normalisation over each channel's phases
    together (``_normalised``)."""
    import openvino.opset11 as ops

    kind = node.get_type_name()
    if kind in _PER_CHANNEL:
        constant = constant_operand(node.input_value(1))
        if constant is not None:
            operand = ops.constant(_per_phase(constant, channels, block, axis=1))
        else:  # computed per channel (the style's scale or shift): each value repeated for its phases in the graph
            operand = _each_phase(ops.reshape(node.input_value(1), i64([1, channels, 1]), special_zero=False), 1, channels, block)
        return getattr(ops, _PER_CHANNEL[kind])(phases, operand)
    if kind == "FakeQuantize":
        return same_on(node, phases)
    if kind == "Relu":
        return ops.relu(phases)
    if kind == "Sigmoid":
        return ops.sigmoid(phases)
    return _normalised(phases, node.get_attributes(), channels, block)


def _normalised(phases, attributes: dict, channels: int, block: int):
    """An instance normalisation (``MVN`` over height and width with ``attributes``) of each
    channel's ``block``² phases together: the mean of the phases' means, then the mean of the
    squared differences from it — the picture's own two passes. The big tensor stays in the
    convolution's layout; only the per-phase statistics are reshaped (an ``MVN`` over a 5-D
    reshape of the phases made OpenVINO reorder the whole tensor, 1.5 ms in float32 at 384²)."""
    import openvino.opset11 as ops

    n = int(phases.get_output_partial_shape(0)[0].get_length())

    def grouped_mean(tensor):
        per_phase = ops.reduce_mean(tensor, i64([2, 3]), keep_dims=True)
        return _each_phase(ops.reduce_mean(ops.reshape(per_phase, i64([n, channels, block * block]), special_zero=False), i64([2]), keep_dims=True), n, channels, block)

    centred = ops.subtract(phases, grouped_mean(phases))
    if not attributes["normalize_variance"]:
        return centred
    variance = grouped_mean(ops.multiply(centred, centred))
    eps = np.array(attributes["eps"], dtype=np.float32)
    spread = ops.sqrt(ops.add(variance, eps)) if attributes["eps_mode"].lower() == "inside_sqrt" else ops.add(ops.sqrt(variance), eps)
    return ops.divide(centred, spread)


def _each_phase(per_channel, n: int, channels: int, block: int):
    """A per-channel value ``[n, channels, 1]`` in the graph as a per-phase operand
    ``[n, channels·block², 1, 1]``: each channel's value repeated for its ``block``² phases."""
    import openvino.opset11 as ops

    repeated = ops.broadcast(per_channel, i64([n, channels, block * block]))
    return ops.reshape(repeated, i64([n, channels * block * block, 1, 1]), special_zero=False)


def constant_operand(value) -> np.ndarray | None:
    """The values of the constant ``value`` in its own shape and type, seen through the
    ``Convert``s and reshapes a model keeps unfolded (a float16 file's bias is
    ``Unsqueeze(Convert(Constant))``); None if it is not a constant."""
    data = constant(value)
    shape = value.get_partial_shape()
    if data is None or not shape.is_static:
        return None
    return data.reshape(tuple(shape.to_shape())).astype(value.get_element_type().to_dtype())


def _per_phase(values: np.ndarray, channels: int, block: int, axis: int) -> np.ndarray:
    """A per-channel operand (``channels`` values along ``axis`` of a 4-D shape) with each value
    repeated for the channel's ``block``² phases; a single value is returned as it is."""
    if values.size != channels:
        return values
    shape = [1, 1, 1, 1]
    shape[axis] = channels * block * block
    return np.repeat(values.reshape(channels), block * block).reshape(shape)


def weights_of(value, out_channels: int):
    """Follow a convolution's weights through ``Convert`` and per-channel (or scalar) ``Multiply``
    or ``Subtract`` by constants to a ``[O, C, K, K]`` constant: (its values, the nodes on the way,
    nearest the constant first), or None for weights made any other way."""
    path, node = [], value.get_node()
    while True:
        kind = node.get_type_name()
        if kind == "Constant":
            data = node.get_data()
            return (data, path[::-1]) if data.ndim == 4 and data.shape[0] == out_channels else None
        if kind == "Convert":
            path.append(node)
            node = node.input_value(0).get_node()
            continue
        if kind in ("Multiply", "Subtract"):
            operand = node.input_value(1).get_node()
            if operand.get_type_name() != "Constant" or operand.get_data().size not in (1, out_channels):
                return None
            if operand.get_data().size == out_channels and operand.get_data().shape[0] != out_channels:
                return None
            path.append(node)
            node = node.input_value(0).get_node()
            continue
        return None
