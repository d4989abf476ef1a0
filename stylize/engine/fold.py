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

The same holds at the other end. The convolution before the last makes 8 channels at full
resolution (3×3, from the upsampled 16), normalised there (an ``MVN`` of 8 channels: half-empty
vectors, then laid on rows by ``narrow.py``), and the last one, once spread, reads that picture
mirrored by 4 pixels with a 12×12 kernel of stride 4. Tap ``(2u + a, 2v + b)`` of an even kernel
of an even stride reads phase ``(a, b)`` at offset ``(u, v)``, so the last convolution reads the
2×2 phases with a 6×6 kernel of stride 2 (``halve_kernel``: the int8 taps rearranged, none
summed, so they stay int8); the phases are mirrored by 2 each (``mirrored_phases``: the mirror
keeps a row's phase but reflects the two phases by different rules); and the normalisation, its
scale and shift run on the phases (``spread.py``'s chain), 32 channels wide. Measured
(``scripts/measure_commits.py``, interleaved, against the build before it): 0.87–0.93× for the
int8 model, 0.94–0.95× for the float16 model in float32 and 0.90–0.94× in bfloat16 at the same
sizes; the int8 painting bit-identical at 384² and 1024×768 (93.8 dB apart at 640×480, where the
normalisation's sums, now over the phases, put a value on the other side of a quantization
step), the float ones 109–128 dB.
"""

from __future__ import annotations

import numpy as np

from .narrow import i64, one_range, same_on
from .spread import constant_operand, on_its_phases, phase_chain, thin_candidate, weights_of

FOLD = 8  # output channels at most for a convolution to be folded into the strided one after it


def fold_into_strided_convolutions(model, max_channels: int = FOLD) -> int:
    """Rewrite, in a statically shaped OpenVINO ``model``, every stride-1 convolution with at most
    ``max_channels`` output channels and a kernel of at least 3 whose picture (after its
    per-channel chain) is mirrored and read by a strided convolution: the first is computed over
    its output's 2×2 phases and the second reads the phases — a mirror of one pixel read by a
    3×3 kernel of stride 2 (the transfer network's first two convolutions) as a 2×2 convolution of
    stride 1 (``fold_kernel``); a mirror of an even width read by an even kernel of an even
    stride (the last two, once the last is spread) as half the kernel and half the stride over
    the phases mirrored by half the width (``halve_kernel``, ``mirrored_phases``). The picture at
    full resolution between them is never made. Returns how many pairs were rewritten."""
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
        mirror, between, second, (base, path) = strided
        phases, _ = on_its_phases(conv, *found, 2)
        if mirror == 1:  # the mirrored row above row 0 is row 1: phase 1's row 0
            x, kernel, stride = ops.pad(phases, i64([0, 0, 1, 1]), i64([0, 0, 0, 0]), "edge"), fold_kernel(base), 1
        else:  # a mirror is narrower than the picture, so half of it fits in a phase
            x, kernel, stride = mirrored_phases(phases, mirror // 2), halve_kernel(base), int(second.get_attributes()["strides"][0]) // 2
        for node in between:  # the quantization the second convolution's input had (after the padding, where OpenVINO fuses it into that convolution)
            x = same_on(node, x)
        weights = ops.constant(kernel)
        for node in path:  # its weights' own dequantization, per output channel as before
            weights = ops.convert(weights, node.get_destination_type()) if node.get_type_name() == "Convert" else (ops.multiply if node.get_type_name() == "Multiply" else ops.subtract)(weights, node.input_value(1))
        folded = ops.convolution(x, weights, [stride, stride], [0, 0], [0, 0], [1, 1], auto_pad="valid")
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


def halve_kernel(weights: np.ndarray) -> np.ndarray:
    """A ``K×K`` kernel ``[O, C, K, K]`` (``K`` even) of stride ``S`` (even) over a picture, as the
    ``K/2 × K/2`` kernel ``[O, C·4, K/2, K/2]`` of stride ``S/2`` over the picture's 2×2 phases
    (channel ``c·4 + a·2 + b`` holds pixels ``(2i + a, 2j + b)``): tap ``(2u + a, 2v + b)`` reads
    phase ``(a, b)`` at offset ``(u, v)``."""
    out_channels, in_channels, k, _ = weights.shape
    if k % 2:
        raise ValueError("only an even kernel halves over 2×2 phases")
    taps = weights.reshape(out_channels, in_channels, k // 2, 2, k // 2, 2)  # o, c, u, a, v, b
    return taps.transpose(0, 1, 3, 5, 2, 4).reshape(out_channels, in_channels * 4, k // 2, k // 2)


def mirrored_phases(phases, width: int):
    """The 2×2 phases of a picture (channel ``c·4 + a·2 + b``, sides even) padded to be the
    phases of the picture mirrored by ``2 · width`` pixels. The mirror keeps a row's phase but not
    its rule: row ``−k`` is row ``k``, so phase 0's row ``−j`` is its row ``j`` (mirrored about
    its first row) and phase 1's is its row ``j − 1`` (its first row repeated); at the far side
    the two swap. Each side is cut from the phases by both rules and each channel takes its own
    phase's rows (``Select``), so the phases keep their layout (a ``Gather`` made OpenVINO
    reorder them to channels-first and back, 2.3 ms in float32 at 384²)."""
    import openvino.opset8 as ops8
    import openvino.opset11 as ops

    channels = int(phases.get_output_partial_shape(0)[1].get_length())
    x = phases
    for axis, bit in ((2, 2), (3, 1)):  # rows: the phase's a (bit 2 of its channel); columns: its b
        n = int(x.get_output_partial_shape(0)[axis].get_length())
        first_phase = ops.constant(np.array([not channel & bit for channel in range(channels)]).reshape(1, channels, 1, 1))

        def cut(start: int, last: int, x=x, axis=axis, n=n):  # lines start, start − 1, …, last
            return ops8.slice(x, i64([start]), i64([last - 1 if last > 0 else -(n + 1)]), i64([-1]), i64([axis]))

        before = ops.select(first_phase, cut(width, 1), cut(width - 1, 0))
        after = ops.select(first_phase, cut(n - 1, n - width), cut(n - 2, n - width - 1))
        x = ops.concat([before, x, after], axis)
    return x


def _strided_reader(node):
    """(the mirror's width, the ``Convert``/one-range ``FakeQuantize`` nodes between, the
    convolution, its weights' base and path) if ``node``'s only reader is a ``Pad`` mirroring it
    alike on all four sides, read only by a convolution through such nodes that ``fold`` can
    read phases with: a mirror of 1 and a 3×3 kernel of stride 2, or an even mirror and an even
    kernel of an even stride; else None."""
    node = _past_undone_transposes(node)
    readers = [t.get_node() for t in node.output(0).get_target_inputs()]
    if len(readers) != 1 or readers[0].get_type_name() != "Pad" or readers[0].get_attributes()["pad_mode"] != "reflect":
        return None
    pad = readers[0]
    begin, end = (constant_operand(pad.input_value(i)) for i in (1, 2))
    if begin is None or end is None or list(begin) != list(end) or len(begin) != 4 or list(begin[:2]) != [0, 0] or begin[2] != begin[3] or begin[2] < 1:
        return None
    mirror = int(begin[2])
    between, current = [], pad
    while True:
        readers = [t.get_node() for t in current.output(0).get_target_inputs()]
        if len(readers) != 1:
            return None
        current = readers[0]
        kind = current.get_type_name()
        if kind == "Convolution":
            break
        if kind == "Convert" or one_range(current):
            between.append(current)
            continue
        return None
    attributes = current.get_attributes()
    strides = list(attributes["strides"])
    if strides[0] != strides[1] or list(attributes["dilations"]) != [1, 1] or any(attributes["pads_begin"]) or any(attributes["pads_end"]):
        return None
    kernel = current.get_input_partial_shape(1)
    if not kernel.is_static:
        return None
    height, width = tuple(kernel.to_shape())[2:]
    fits = (mirror, strides[0], height) == (1, 2, 3) or (mirror % 2 == 0 and strides[0] % 2 == 0 and height % 2 == 0)
    if height != width or not fits:
        return None
    weights = weights_of(current.input_value(1), int(kernel.to_shape()[0]))
    return None if weights is None else (mirror, between, current, weights)


def _past_undone_transposes(node):
    """``node``, or the second of two transposes after it that undo each other (OpenVINO's
    reading of a channels-last operation removed between them: ``resize.drop_identity_interpolations``)."""
    readers = [t.get_node() for t in node.output(0).get_target_inputs()]
    if len(readers) != 1 or readers[0].get_type_name() != "Transpose":
        return node
    first = readers[0]
    seconds = [t.get_node() for t in first.output(0).get_target_inputs()]
    if len(seconds) != 1 or seconds[0].get_type_name() != "Transpose":
        return node
    orders = [constant_operand(t.input_value(1)) for t in (first, seconds[0])]
    if any(order is None for order in orders) or list(orders[0][orders[1]]) != list(range(len(orders[0]))):
        return node
    return seconds[0]
