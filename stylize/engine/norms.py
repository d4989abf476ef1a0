"""Instance normalisation as one operation, for OpenVINO.

Magenta's transfer network normalises each layer by its own mean and variance over the picture
(conditional instance normalisation, the scale and shift computed from the style vector). TFLite
writes each as ten element-wise operations on the full activation::

    m = MEAN(x)   v = MEAN(SQUARED_DIFFERENCE(x, m))   s = RSQRT(v + eps) · gamma
    y = x · s + (beta − m · s)

which OpenVINO runs as two reductions and a chain of per-pixel passes — in the int8 file with a
FakeQuantize between every two of them (OpenVINO's per-layer counters: the element-wise subgraphs
and reductions took more of the int8 model's time than its convolutions). The same arithmetic is
OpenVINO's own ``MVN`` operation (mean and variance in one reduction, the normalisation in one
pass) followed by a per-channel multiply-add, which its CPU plugin fuses into the MVN kernel::

    y = MVN(x, eps inside the square root) · gamma + beta

``fuse_instance_norms`` finds each such chain in a model read from a .tflite file — stepping over
the FakeQuantize and Convert nodes of a quantized file — and replaces it. In a float model the
result is the same up to rounding; in the int8 model the chain's own intermediate quantization
steps (the mean, the variance, the scale, each rounded to 8 bits) are no longer made, while the
quantization of what goes in and what comes out is kept.

``fuse_fed_norms`` does the same for the stages of a tiled painting (``stages.py``), whose
normalisations are fed the whole picture's statistics instead of computing them: the statistics
become float inputs and the chain float arithmetic, so the tiles normalise as the fused whole
network does.
"""

from __future__ import annotations

import numpy as np

PASS_THROUGH = ("FakeQuantize", "Convert")  # nodes a quantized file puts between the chain's operations


def fuse_instance_norms(model) -> int:
    """Rewrite every instance normalisation chain of an OpenVINO ``model`` into ``MVN`` followed
    by a per-channel multiply-add; returns how many were rewritten."""
    import openvino.opset11 as ops

    rewritten = 0
    for node in model.get_ordered_ops():
        if node.get_type_name() != "SquaredDifference":
            continue
        chain = _match(node)
        if chain is None:
            continue
        x, axes, eps, gamma, beta, out = chain
        normalised = ops.mvn(x, ops.constant(np.array(axes, dtype=np.int64)), normalize_variance=True, eps=eps, eps_mode="inside_sqrt")
        replacement = ops.add(ops.multiply(normalised, gamma), beta)
        replacement.set_friendly_name(out.get_node().get_friendly_name())
        out.replace(replacement.output(0))
        rewritten += 1
    if rewritten:
        model.validate_nodes_and_infer_types()
    return rewritten


def _match(squared_difference):
    """(x, axes, eps, gamma, beta, output) of the normalisation chain through ``squared_difference``,
    or None where the graph is not that chain."""
    first, second = (_source(squared_difference.input_value(i)) for i in range(2))
    mean = second.get_node()
    if mean.get_type_name() != "ReduceMean" or _origin(mean.input_value(0)) != _origin(first):
        return None
    axes = constant(mean.input_value(1))
    variance = _only_consumer(squared_difference.output(0), "ReduceMean")
    if axes is None or variance is None or not np.array_equal(np.sort(constant(variance.input_value(1)).ravel()), np.sort(axes.ravel())):
        return None
    plus_eps = _only_consumer(variance.output(0), "Add")
    if plus_eps is None:
        return None
    eps = constant(_other_input(plus_eps, variance.output(0)))
    mean_key, x_key = (mean.get_friendly_name(), 0), _origin(first)
    affine = _affine(plus_eps, lambda v: _origin(v) == mean_key, lambda v: _origin(v) == x_key)
    if eps is None or eps.size != 1 or affine is None:
        return None
    gamma, x, _, beta, total = affine
    return x, [int(a) for a in axes.ravel()], float(eps.ravel()[0]), gamma, beta, total


def _affine(plus_eps, is_mean, is_x):
    """(gamma, x, mean, beta, output) of the rest of a normalisation chain from its ``variance + eps``
    node: ``RSQRT`` (a power of -1/2) times the style's scale, which multiplies both the activation
    (the input ``is_x`` accepts) and the mean (``is_mean``), subtracted from the style's shift and
    added up; None where the graph is not that."""
    power = _only_consumer(plus_eps.output(0), "Power")
    if power is None:
        return None
    exponent = constant(_other_input(power, plus_eps.output(0)))
    scale = _only_consumer(power.output(0), "Multiply")
    if exponent is None or exponent.size != 1 or abs(float(exponent.ravel()[0]) + 0.5) > 1e-6 or scale is None:
        return None
    gamma = _other_input(scale, power.output(0))
    scaled_x = scaled_mean = None
    for consumer in _consumers(scale.output(0)):
        if consumer.get_type_name() != "Multiply":
            return None
        other = _other_input(consumer, scale.output(0))
        if other is None:
            return None
        if is_mean(other) and scaled_mean is None:
            scaled_mean = (consumer, other)
        elif is_x(other) and scaled_x is None:
            scaled_x = (consumer, other)
        else:
            return None
    if scaled_x is None or scaled_mean is None or gamma is None:
        return None
    shift = _only_consumer(scaled_mean[0].output(0), "Subtract")
    if shift is None or _origin(shift.input_value(1)) != (scaled_mean[0].get_friendly_name(), 0):
        return None
    total = _only_consumer(shift.output(0), "Add")
    if total is None or {_source(total.input_value(i)).get_node().get_friendly_name() for i in range(2)} != {
        scaled_x[0].get_friendly_name(),
        shift.get_friendly_name(),
    }:
        return None
    return gamma, scaled_x[1], scaled_mean[1], shift.input_value(0), total.output(0)


def fuse_fed_norms(model) -> tuple[str, ...]:
    """Rewrite every normalisation of an OpenVINO ``model`` that takes its statistics as inputs
    (a stage of a tiled painting, ``stages.py``) into the float arithmetic ``fuse_instance_norms``
    gives the whole network: the mean and variance become float32 inputs, and the activation is
    normalised by them in float in MVN's order — ``(x − mean) / √(variance + eps) · gamma + beta``
    — with no 8-bit rounding of the statistics, the scale or the shift. Returns the names of the
    inputs now taken as float (the statistics are then computed unrounded: ``norm_moments``)."""
    import openvino as ov
    import openvino.opset11 as ops

    floated: list[str] = []
    for node in model.get_ordered_ops():
        if node.get_type_name() != "Power":
            continue
        plus_eps = _source(node.input_value(0)).get_node()
        if plus_eps.get_type_name() != "Add" or _only_consumer(plus_eps.output(0), "Power") is not node:
            continue
        fed = [(fed_statistic(plus_eps.input_value(i)), plus_eps.input_value(1 - i)) for i in range(2)]
        fed = [(found, other) for found, other in fed if found is not None]
        if len(fed) != 1:
            continue
        (variance, variance_order), eps_value = fed[0]
        eps = constant(eps_value)
        affine = _affine(plus_eps, lambda v: fed_statistic(v) is not None, lambda v: fed_statistic(v) is None)
        if eps is None or eps.size != 1 or affine is None:
            continue
        gamma, x, mean_value, beta, total = affine
        mean, mean_order = fed_statistic(mean_value)
        taken = {}
        for old, order in ((mean, mean_order), (variance, variance_order)):
            name = old.output(0).get_any_name()
            new = ops.parameter(old.get_partial_shape(), ov.Type.f32, name=old.get_friendly_name())
            new.output(0).get_tensor().set_names({name})
            model.replace_parameter(model.get_parameter_index(old), new)
            taken[name] = new if order is None else ops.transpose(new, order)
            floated.append(name)
        mean_f, variance_f = taken.values()
        inverse = ops.power(ops.add(variance_f, ops.constant(np.float32(eps.ravel()[0]))), ops.constant(np.float32(-0.5)))
        replacement = ops.add(ops.multiply(ops.multiply(ops.subtract(x, mean_f), inverse), gamma), beta)
        replacement.set_friendly_name(total.get_node().get_friendly_name())
        total.replace(replacement.output(0))
    if floated:
        model.validate_nodes_and_infer_types()
    return tuple(floated)


def fed_statistic(value):
    """(parameter, transpose order or None) where ``value`` is a per-channel input of the model
    (1 × 1 × 1 × C, perhaps transposed, converted and quantized on its way), else None."""
    order = None
    while True:
        node = value.get_node()
        kind = node.get_type_name()
        if kind in PASS_THROUGH:
            value = node.input_value(0)
        elif kind == "Transpose" and order is None:
            order, value = node.input_value(1), node.input_value(0)
        elif kind == "Parameter":
            shape = node.get_partial_shape()
            per_channel = shape.rank.is_static and shape.rank.get_length() == 4 and all(shape[i].is_static and shape[i].get_length() == 1 for i in range(3))
            return (node, order) if per_channel else None
        else:
            return None


def _source(value):
    """``value`` with the quantize/convert nodes in front of it stepped over: the output that made it."""
    while value.get_node().get_type_name() in PASS_THROUGH:
        value = value.get_node().input_value(0)
    return value


def _origin(value):
    """A key for the tensor behind ``value``: two inputs quantized differently from one tensor
    have the same origin."""
    source = _source(value)
    return (source.get_node().get_friendly_name(), source.get_index())


def _consumers(output) -> list:
    """The nodes reading ``output``, with quantize/convert nodes stepped through."""
    found = []
    for target in output.get_target_inputs():
        node = target.get_node()
        if node.get_type_name() in PASS_THROUGH:
            found += _consumers(node.output(0))
        else:
            found.append(node)
    return found


def _only_consumer(output, kind: str):
    consumers = _consumers(output)
    return consumers[0] if len(consumers) == 1 and consumers[0].get_type_name() == kind else None


def _other_input(node, mine):
    """The input of a two-input ``node`` that does not come from ``mine`` (through quantize/convert)."""
    key = (mine.get_node().get_friendly_name(), mine.get_index())
    inputs = [node.input_value(i) for i in range(node.get_input_size())]
    others = [v for v in inputs if _origin(v) != key]
    return others[0] if len(inputs) == 2 and len(others) == 1 else None


def constant(value) -> np.ndarray | None:
    """The value of ``value`` where it is a constant (through Convert, Multiply, Subtract, Unsqueeze,
    Reshape, FakeQuantize of constants), else None."""
    node = value.get_node()
    kind = node.get_type_name()
    if kind == "Constant":
        return np.asarray(node.get_data(), dtype=np.float64)
    if kind in ("Convert", "Unsqueeze", "Reshape", "Squeeze"):
        return constant(node.input_value(0))
    if kind == "FakeQuantize":  # a quantized constant (TFLiteConverter's int8 builds quantize even the epsilon)
        inner, *limits = (constant(node.input_value(i)) for i in range(5))
        if inner is None or any(limit is None for limit in limits):
            return None
        in_low, in_high, out_low, out_high = limits
        steps = node.get_levels() - 1
        q = np.round((np.clip(inner, in_low, in_high) - in_low) / (in_high - in_low) * steps)
        return q / steps * (out_high - out_low) + out_low
    if kind in ("Multiply", "Subtract"):  # also an int8 constant's dequantization: (q − zero point) × scale
        a, b = constant(node.input_value(0)), constant(node.input_value(1))
        return None if a is None or b is None else (a * b if kind == "Multiply" else a - b)
    return None
