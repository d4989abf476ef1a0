"""The transfer network cut at its instance normalisations, so that a picture of any size can be
painted in tiles and still be normalised by the whole picture's statistics.

With its statistics taken as inputs (``moments.py``), what lies between two normalisations is
local: convolutions, pads, activations, residual adds, upsamplings. Cut there, each piece — a
*stage* — can be run tile by tile over the whole picture, with margins past its reach so that each
tile's core comes out as the whole picture's would. After a stage that ends at a normalised
activation, that activation's mean and variance are computed over the whole picture (``norm_moments``)
and fed to the stages after it. One pass over the picture, no statistics guessed.

``stage_plan`` says what each stage takes and gives; ``stage_bytes`` writes one stage as its own
.tflite file (the operations of its part of the picture, plus the per-channel ones it needs: the
style's scale and shift, the normalisations' arithmetic on their statistics). Both runtimes read
these files like any other; the engines load them with ``graph=STAGE + str(index)``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
import threading
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .base import Quantized
from .moments import builtin_code, opened, remove_unused, write

STAGE = "stage:"
_LOCK = threading.Lock()  # a split's graph is rewritten in place while one stage is written
ROWS_PER_CHUNK = 64  # rows of an activation reduced at once (bounds the temporary copies)


@dataclass(frozen=True)
class Norm:
    """One normalisation as the stages see it: the activation it normalises, the inputs that
    take its statistics, and how the file rounds them (None: in float)."""

    x: str
    mean: str
    variance: str
    x_q: Quantized | None
    mean_q: Quantized | None
    squared_q: Quantized | None


@dataclass(frozen=True)
class Stage:
    index: int
    spatial: tuple[str, ...]  # picture-sized inputs, all at one resolution
    channels: tuple[str, ...]  # per-channel inputs: the style vector, statistics
    outputs: tuple[str, ...]  # picture-sized outputs
    resolution: Fraction  # of the spatial inputs, relative to the picture
    scale: Fraction  # of the outputs, relative to the inputs
    norm: Norm | None  # the normalisation whose activation this stage ends at (None: the last stage)
    width: int = 0  # values its inputs and outputs hold per input pixel (channels, scaled by resolution): what its memory grows with
    reach: int | None = None  # input pixels past a pixel that its outputs there can depend on (None: not known, e.g. an operation it cannot read)


@dataclass(frozen=True)
class StagePlan:
    image: str
    vector: str
    output: str
    stages: tuple[Stage, ...]


def stage_plan(data: bytes) -> StagePlan:
    """How the .tflite ``data`` (a transfer network) divides into stages."""
    return _split(data).plan


def stage_bytes(data: bytes, index: int) -> bytes:
    """Stage ``index`` of the .tflite ``data`` as a .tflite file of its own."""
    split = _split(data)
    if not 0 <= index < len(split.plan.stages):
        raise ValueError(f"the network has {len(split.plan.stages)} stages, not a stage {index}")
    with _LOCK:
        return split.stage_bytes(index, len(data))


@functools.lru_cache(maxsize=2)
def _split(data: bytes) -> _Split:
    """The network read and divided once, for its plan and every stage's file (a stage's model
    is loaded 14 times from the same bytes)."""
    return _Split(data)


def norm_moments(x: np.ndarray, norm: Norm) -> tuple[np.ndarray, np.ndarray]:
    """The mean and variance of activation ``x`` (1 × H × W × C: real values, or the file's
    integers where it is quantized) over the picture, per channel, rounded where the file rounds
    them: the mean to its 8 bits, the squared differences to theirs before they are averaged."""
    if norm.x_q is not None and x.dtype == norm.x_q.dtype:
        return _quantized_moments(x, norm)
    count = x.shape[1] * x.shape[2]
    total = np.zeros(x.shape[-1], dtype=np.float64)
    for row in range(0, x.shape[1], ROWS_PER_CHUNK):
        total += x[:, row : row + ROWS_PER_CHUNK].sum(axis=(0, 1, 2), dtype=np.float64)
    mean = _rounded(total / count, norm.mean_q).astype(np.float32)
    total[:] = 0.0
    for row in range(0, x.shape[1], ROWS_PER_CHUNK):
        squared = _rounded(np.square(x[:, row : row + ROWS_PER_CHUNK] - mean), norm.squared_q)
        total += squared.sum(axis=(0, 1, 2), dtype=np.float64)
    return mean.reshape(1, 1, 1, -1), (total / count).astype(np.float32).reshape(1, 1, 1, -1)


def _quantized_moments(x: np.ndarray, norm: Norm) -> tuple[np.ndarray, np.ndarray]:
    """``norm_moments`` of an 8-bit activation, from how often each of its 256 values occurs in
    each channel: the same arithmetic on 256 values a channel instead of on every pixel."""
    q = norm.x_q
    info = np.iinfo(q.dtype)
    counts = channel_histograms(x).astype(np.float64)
    values = ((np.arange(info.min, info.max + 1, dtype=np.float64) - q.zero_point) * q.scale)[None]
    pixels = x.shape[1] * x.shape[2]
    mean = _rounded((counts * values).sum(axis=1) / pixels, norm.mean_q).astype(np.float32)
    squared = _rounded(np.square(values.astype(np.float32) - mean[:, None]), norm.squared_q)
    variance = (counts * squared).sum(axis=1) / pixels
    return mean.reshape(1, 1, 1, -1), variance.astype(np.float32).reshape(1, 1, 1, -1)


def channel_histograms(x: np.ndarray) -> np.ndarray:
    """How often each of the 256 values occurs in each channel of an 8-bit activation (1 × H × W × C,
    int8 or uint8): C × 256 counts, in the order of the values (-128…127 for int8).

    Two neighbouring channels are counted at once, as the 16-bit number their two bytes make:
    one ``bincount`` of 65,536 bins a pair, which is about three times faster than offsetting each
    value by its channel into one index (a 12 MP picture's 13 activations: 0.54 s instead of 0.94 s)."""
    channels = x.shape[-1]
    pairs = channels // 2
    raw = x.view(np.uint8)
    joint = np.zeros((pairs, 1 << 16), dtype=np.int64)
    counts = np.zeros((channels, 256), dtype=np.int64)
    for row in range(0, x.shape[1], ROWS_PER_CHUNK):
        chunk = np.ascontiguousarray(raw[0, row : row + ROWS_PER_CHUNK]).reshape(-1, channels)
        both = chunk[:, : 2 * pairs].view(np.uint16)  # (pixels, pairs): one channel in each byte
        for pair in range(pairs):
            joint[pair] += np.bincount(both[:, pair], minlength=1 << 16)
        if channels % 2:
            counts[-1] += np.bincount(chunk[:, -1], minlength=256)
    low, high = (0, 1) if sys.byteorder == "little" else (1, 0)
    for pair in range(pairs):
        table = joint[pair].reshape(256, 256)  # [second byte, first byte] of the 16-bit number
        counts[2 * pair + low] += table.sum(axis=0)
        counts[2 * pair + high] += table.sum(axis=1)
    if x.dtype == np.int8:  # byte 128…255 is the value -128…-1
        counts = np.roll(counts, 128, axis=1)
    return counts


def _rounded(values: np.ndarray, q: Quantized | None) -> np.ndarray:
    if q is None:
        return values
    info = np.iinfo(q.dtype)
    return (np.clip(np.rint(values / q.scale) + q.zero_point, info.min, info.max) - q.zero_point) * q.scale


# Operations whose output at a pixel depends on their inputs at that pixel alone (and per-channel
# constants); a pad only adds a border, which the convolution after it is counted for.
_PER_PIXEL = (
    "ADD", "SUB", "MUL", "DIV", "RSQRT", "SQRT", "SQUARED_DIFFERENCE", "QUANTIZE", "DEQUANTIZE", "LOGISTIC", "TANH",
    "RELU", "RELU6", "LEAKY_RELU", "MAXIMUM", "MINIMUM", "CAST", "MIRROR_PAD", "PAD", "PADV2",
)


class _Split:
    """The network with its statistics as inputs, its operations assigned to stages."""

    def __init__(self, data: bytes):
        self.schema, self.model, self.graph, found = opened(data)
        graph = self.graph
        ops = graph.operators
        image, vector = (int(t) for t in graph.inputs[:2])
        self.inputs = [int(t) for t in graph.inputs]
        self.producer = producer = {int(t): i for i, op in enumerate(ops) for t in op.outputs}
        spatial_tensors, self.spatial_ops = {image}, set()
        for i, op in enumerate(ops):
            if any(int(t) in spatial_tensors for t in op.inputs):
                self.spatial_ops.add(i)
                spatial_tensors.update(int(t) for t in op.outputs)
        ends = [producer[m.x] for m in found]
        if ends != sorted(ends) or any(m.x not in spatial_tensors for m in found):
            raise ValueError("its normalisations are not in the order the picture flows through them")
        self.stage_of = {}
        for i in sorted(self.spatial_ops):
            self.stage_of[i] = sum(1 for end in ends if end < i)
        count = len(ends) + 1
        consumed_in: dict[int, set[int]] = {}
        for i in self.spatial_ops:
            for t in ops[i].inputs:
                consumed_in.setdefault(int(t), set()).add(self.stage_of[i])
        output = int(graph.outputs[0])
        native = self._shape(image)
        stages = []
        self.stage_io: list[tuple[list[int], list[int]]] = []
        for s in range(count):
            mine = [i for i in self.spatial_ops if self.stage_of[i] == s]
            made = {int(t) for i in mine for t in ops[i].outputs}
            taken = sorted({int(t) for i in mine for t in ops[i].inputs if int(t) in spatial_tensors and int(t) not in made})
            given = sorted(t for t in made if t == output or any(later > s for later in consumed_in.get(t, ())))
            if not taken or not given:
                raise ValueError(f"stage {s} of the network takes or gives no picture")
            resolution = {Fraction(self._shape(t)[1], native[1]) for t in taken}
            out_resolution = {Fraction(self._shape(t)[1], native[1]) for t in given}
            if len(resolution) != 1 or len(out_resolution) != 1:
                raise ValueError(f"stage {s} of the network mixes resolutions")
            self.stage_io.append((taken, given))
            norm = None
            if s < len(found):
                m = found[s]
                norm = Norm(self._name(m.x), self._name(m.mean), self._name(m.variance), *map(self._quantized, (m.x, m.mean, m.squared)))
                if m.x not in given:
                    raise ValueError(f"stage {s} does not end at its normalisation")
            (r_in,), (r_out,) = resolution, out_resolution
            width = max(self._shape(t)[-1] * (r_out / r_in) ** 2 if t in given else self._shape(t)[-1] for t in (*taken, *given))
            reach = self._reach(s, taken)
            stages.append(Stage(s, tuple(map(self._name, taken)), (), tuple(map(self._name, given)), r_in, r_out / r_in, norm, math.ceil(width), reach))
        self.kept = [self._kept(s) for s in range(count)]  # each stage's operations, found once
        channel_inputs = [self._channel_inputs(s) for s in range(count)]
        self.plan = StagePlan(
            self._name(image),
            self._name(vector),
            self._name(output),
            tuple(dataclasses.replace(st, channels=tuple(map(self._name, ch))) for st, ch in zip(stages, channel_inputs, strict=True)),
        )

    def _reach(self, s: int, taken: list[int]) -> int | None:
        """How far (in the stage's input pixels) the stage's outputs at a pixel can see: each
        convolution adds half its kernel and its stride, at its own input's resolution (a VALID one
        that no pad centres, its whole kernel), and an upsampling one input pixel; per-pixel
        operations add nothing. None for an operation of any other kind."""
        ops, kinds = self.graph.operators, self.schema.BuiltinOperator
        convs = {kinds.CONV_2D, kinds.DEPTHWISE_CONV_2D}
        upsampling = {kinds.RESIZE_NEAREST_NEIGHBOR: 1, kinds.RESIZE_BILINEAR: 2}
        per_pixel = {getattr(kinds, n) for n in _PER_PIXEL}
        pads = {kinds.MIRROR_PAD, kinds.PAD, kinds.PADV2}
        producer = self.producer

        def kind_of(i: int) -> int:
            return builtin_code(self.model.operatorCodes[ops[i].opcodeIndex])

        def padded(tensor: int) -> bool:  # made by a pad, perhaps then (de)quantized
            while tensor in producer:
                kind = kind_of(producer[tensor])
                if kind in pads:
                    return True
                if kind not in (kinds.QUANTIZE, kinds.DEQUANTIZE, kinds.CAST):
                    return False
                tensor = int(ops[producer[tensor]].inputs[0])
            return False

        side = self._shape(taken[0])[1]
        reach = dict.fromkeys(taken, Fraction(0))
        for i in sorted(i for i in self.spatial_ops if self.stage_of[i] == s):
            op = ops[i]
            kind = kind_of(i)
            inputs = [int(t) for t in op.inputs if int(t) in reach]
            if not inputs:
                continue
            before = max(reach[t] for t in inputs)
            # one of this operation's input pixels, in the stage's (the network halves and doubles; a pad adds a border)
            pixel = Fraction(2) ** round(math.log2(side / self._shape(inputs[0])[1]))
            if kind in convs:
                options = op.builtinOptions
                kernel = self._shape(int(op.inputs[1]))[1:3]
                dilation = max(getattr(options, "dilationHFactor", 1), getattr(options, "dilationWFactor", 1), 1)
                span = (max(kernel) - 1) * dilation
                centred = options.padding == self.schema.Padding.SAME or padded(inputs[0])
                grows = (span // 2 if centred else span) + max(options.strideH, options.strideW) - 1
            elif kind in upsampling:
                grows = upsampling[kind]
            elif kind in per_pixel:
                grows = 0
            else:
                return None
            for t in op.outputs:
                reach[int(t)] = before + grows * pixel
        return math.ceil(max(reach.values()))

    def _kept(self, s: int) -> list[int]:
        """Indices of the operations stage ``s``'s file keeps: its own and the per-channel ones it uses."""
        ops = self.graph.operators
        _, given = self.stage_io[s]
        keep = [i for i in range(len(ops)) if (i not in self.spatial_ops) or self.stage_of[i] == s]
        used = set(given)
        kept = []
        for i in reversed(keep):
            if any(int(t) in used for t in ops[i].outputs):
                kept.append(i)
                used.update(int(t) for t in ops[i].inputs)
        return sorted(kept)

    def _channel_inputs(self, s: int) -> list[int]:
        ops = self.graph.operators
        consumed = {int(t) for i in self.kept[s] for t in ops[i].inputs}
        return [t for t in self.inputs[1:] if t in consumed]

    def stage_bytes(self, s: int, size_hint: int) -> bytes:
        graph = self.graph
        whole = (graph.operators, graph.inputs, graph.outputs)
        taken, given = self.stage_io[s]
        channels = self._channel_inputs(s)
        try:
            graph.operators = [graph.operators[i] for i in self.kept[s]]
            graph.inputs = [*taken, *channels]
            graph.outputs = list(given)
            remove_unused(graph)
            return write(self.model, size_hint)
        finally:
            graph.operators, graph.inputs, graph.outputs = whole

    def _shape(self, tensor: int) -> tuple[int, ...]:
        shape = self.graph.tensors[tensor].shape
        if shape is None or len(shape) != 4 or min(shape) <= 0:
            raise ValueError("its shapes are set at run time, so its stages cannot be sized")
        return tuple(int(v) for v in shape)

    def _name(self, tensor: int) -> str:
        name = self.graph.tensors[tensor].name
        return name.decode() if isinstance(name, bytes) else name

    def _quantized(self, tensor: int) -> Quantized | None:
        t = self.graph.tensors[tensor]
        types = {self.schema.TensorType.INT8: np.int8, self.schema.TensorType.UINT8: np.uint8, self.schema.TensorType.INT16: np.int16}
        q = t.quantization
        if t.type not in types or q is None or q.scale is None or len(q.scale) != 1:
            return None
        return Quantized(types[t.type], float(q.scale[0]), int(q.zeroPoint[0]) if q.zeroPoint is not None and len(q.zeroPoint) else 0)
