"""A few-channel convolution whose picture is read by a strided convolution, computed over its
output's phases and read as they are, for OpenVINO.

The transfer network's first convolution makes 8 channels at full resolution (a 9×9 kernel over
the 3 colours), and the next one reads that picture mirrored by a pixel with a 3×3 kernel of
stride 2. On its own phases the first convolution fills its vectors (``spread.py``), but putting
the phases back cost what it saved.

They need not be put back: output ``i`` of the strided convolution reads rows ``2i − 1``, ``2i``
and ``2i + 1`` of the mirrored picture — phase 1's row ``i − 1``, phase 0's row ``i`` and phase
1's row ``i``.
``fold_into_strided_convolutions`` computes the first convolution over its 2×2 phases (32
channels) and gives the second a 2×2 kernel over the phases, each of its 3×3 taps on its phase
and offset and zeros elsewhere (``fold_kernel``); the mirrored row above row 0 is row 1, which is
phase 1's row 0, so the phases are padded by repeating their edge. The int8 weights stay int8 and
keep their per-channel scales (one per output channel, as before), and the int8 painting comes
out bit-identical; the full-resolution picture between the two is never made. Measured
(``scripts/measure_commits.py``, interleaved): 0.90–1.00× for the int8 model, 0.95–0.96× for the
float16 model in float32 and 0.93–0.96× in bfloat16, at 384², 640×480 and 1024×768.
"""

from __future__ import annotations

import numpy as np

from .narrow import i64
from .spread import constant_operand, on_its_phases, phase_chain, thin_candidate, weights_of

FOLD = 8  # output channels at most for a convolution to be folded into the strided one after it


def fold_into_strided_convolutions(model, max_channels: int = FOLD) -> int:
    """Rewrite, in a statically shaped OpenVINO ``model``, every stride-1 convolution with at most
    ``max_channels`` output channels and a kernel of at least 3 whose picture (after its
    per-channel chain) is mirrored by one pixel and read by a 3×3 convolution of stride 2 — the
    transfer network's first two convolutions: the first is computed over its output's 2×2 phases
    and the second reads the phases directly, as a 2×2 convolution of stride 1 (``fold_kernel``);
    the full-resolution picture between them is never made. Returns how many pairs were
    rewritten."""
    import openvino.opset11 as ops

    if max_channels <= 0:
        return 0
    rewritten = 0
    for conv in list(model.get_ordered_ops()):
        found = thin_candidate(conv, max_channels, 2)
        if found is None:
            continue
        chain = phase_chain(conv, found[0].shape[0])
        strided = _strided_reader(chain[-1] if chain else conv)
        if strided is None:
            continue
        between, second, (base, path) = strided
        phases, _ = on_its_phases(conv, *found, 2)
        x = ops.pad(phases, i64([0, 0, 1, 1]), i64([0, 0, 0, 0]), "edge")  # the mirrored row above row 0 is row 1: phase 1's row 0
        for node in between:  # the quantization the second convolution's input had
            x = ops.convert(x, node.get_destination_type()) if node.get_type_name() == "Convert" else ops.fake_quantize(x, *(node.input_value(i) for i in range(1, 5)), node.get_levels())
        weights = ops.constant(fold_kernel(base))
        for node in path:  # its weights' own dequantization, per output channel as before
            weights = ops.convert(weights, node.get_destination_type()) if node.get_type_name() == "Convert" else (ops.multiply if node.get_type_name() == "Multiply" else ops.subtract)(weights, node.input_value(1))
        folded = ops.convolution(x, weights, [1, 1], [0, 0], [0, 0], [1, 1], auto_pad="valid")
        folded.set_friendly_name(second.get_friendly_name())
        second.output(0).replace(folded.output(0))
        rewritten += 1
    if rewritten:
        model.validate_nodes_and_infer_types()
    return rewritten


def fold_kernel(weights: np.ndarray) -> np.ndarray:
    """A 3×3 kernel ``[O, C, 3, 3]`` of stride 2 over a picture mirrored by one pixel, as the 2×2
    kernel ``[O, C·4, 2, 2]`` of stride 1 over the picture's 2×2 phases (channel ``c·4 + a·2 + b``
    holds pixels ``(2i + a, 2j + b)``) padded by one row and column above and left: output ``i``
    reads rows ``2i − 1`` (phase 1, row ``i − 1``), ``2i`` (phase 0, row ``i``) and ``2i + 1``
    (phase 1, row ``i``)."""
    out_channels, in_channels, k, _ = weights.shape
    if k != 3:
        raise ValueError("only a 3×3 kernel folds into a 2×2 one")
    taps = ((1, 0), (0, 1), (1, 1))  # kernel row d → (phase, row offset in the padded phases)
    folded = np.zeros((out_channels, in_channels, 2, 2, 2, 2), dtype=weights.dtype)
    for dy, (a, ky) in enumerate(taps):
        for dx, (b, kx) in enumerate(taps):
            folded[:, :, a, b, ky, kx] = weights[:, :, dy, dx]
    return folded.reshape(out_channels, in_channels * 4, 2, 2)


def _strided_reader(node):
    """(the ``Convert``/one-range ``FakeQuantize`` nodes between, the convolution, its weights'
    base and path) if ``node``'s only reader is a one-pixel mirror ``Pad`` read only by a 3×3,
    stride-2 convolution through such nodes; else None."""
    readers = [t.get_node() for t in node.output(0).get_target_inputs()]
    if len(readers) != 1 or readers[0].get_type_name() != "Pad" or readers[0].get_attributes()["pad_mode"] != "reflect":
        return None
    pad = readers[0]
    begin, end = (constant_operand(pad.input_value(i)) for i in (1, 2))
    if begin is None or end is None or list(begin) != [0, 0, 1, 1] or list(end) != [0, 0, 1, 1]:
        return None
    between, current = [], pad
    while True:
        readers = [t.get_node() for t in current.output(0).get_target_inputs()]
        if len(readers) != 1:
            return None
        current = readers[0]
        kind = current.get_type_name()
        if kind == "Convolution":
            break
        if kind == "Convert" or (kind == "FakeQuantize" and all(int(np.prod(current.get_input_partial_shape(i).to_shape())) == 1 for i in range(1, 5))):
            between.append(current)
            continue
        return None
    attributes = current.get_attributes()
    if list(attributes["strides"]) != [2, 2] or list(attributes["dilations"]) != [1, 1] or any(attributes["pads_begin"]) or any(attributes["pads_end"]):
        return None
    kernel = current.get_input_partial_shape(1)
    if not kernel.is_static or tuple(kernel.to_shape())[2:] != (3, 3):
        return None
    weights = weights_of(current.input_value(1), int(kernel.to_shape()[0]))
    return None if weights is None else (between, current, weights)
