"""The interface every inference backend implements, and the parts they share.

A ``Model`` is loaded once and run many times. Its ``run`` takes the inputs at the shapes the
caller has: when those differ from the file's own (a transfer network asked to paint 1024×768
instead of 384×384), the backend builds the model for that shape once — with its fixed resize
sizes rewritten, see ``resize.py`` — and keeps the last few shapes in an LRU, so a webcam's fixed
frame size never rebuilds. Every model serialises its own runs: no interpreter or infer request is
ever run by two callers at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import numpy as np

from ..names import BF16, F32, PRECISION_TITLES, PRECISIONS  # noqa: F401 - re-exported: the arithmetic a runtime may compute a float network in

SHAPES_KEPT = 4  # builds kept per model: the native shape, a webcam frame, a photo or two…
PIXELS_KEPT = 3_000_000  # …while their image inputs add up to at most this (each holds its activations' memory);
# a build larger than this on its own (a 12 MP photo painted at 2048×1536) serves its call and is dropped

Shapes = tuple[tuple[int, ...], ...]  # the input shapes of one run, in input order


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]


class Model(Protocol):
    path: Path
    engine: str
    inputs: tuple[TensorInfo, ...]
    runs: int
    float_inputs: frozenset[str]  # inputs a quantized file rounds that this model takes unrounded (a fused normalisation's statistics)

    def run(self, feeds: Mapping[str, np.ndarray], raw: bool = False) -> list[np.ndarray]:
        """Run once on ``feeds`` (input name → array, at any shape the model can take); returns
        the outputs in model order — as real values, or with ``raw`` as the file stores them
        (a quantized output's integers). An input already in its quantized type is taken as is."""
        ...

    def build_for_shapes(self, shapes: Mapping[str, tuple[int, ...]]) -> float:
        """Build the model for these input shapes now (not at the first run); returns the
        milliseconds it took (0 when it was already built)."""
        ...

    def release(self) -> None:
        """Free the working memory its runs hold (the activations of each shape built), keeping
        what was compiled: a stage of a tiled painting holds none between paintings."""
        ...




class Engine(Protocol):
    name: str
    threads: int

    def load(self, path: Path, threads: int | None = None, precision: str = F32, graph: str | None = None) -> Model:
        """The model in ``path``, run on ``threads`` threads (None: the engine's own number), its
        float arithmetic in ``precision`` (one of ``precisions()``); ``graph`` names a rewrite of
        the file to run instead (``rewrites.rewrite``: its normalisations' statistics as outputs
        or as inputs), None the file as it is."""
        ...

    def precisions(self) -> tuple[str, ...]:
        """The inference precisions this engine offers on this machine, ``F32`` first."""
        ...


T = TypeVar("T")


class ShapeCache(Generic[T]):
    """The last ``size`` builds of a model, one per input shape; building is serialised per key
    and never holds up runs of other shapes."""

    def __init__(self, build: Callable[[Shapes], T], size: int = SHAPES_KEPT, pixels: int = PIXELS_KEPT):
        self._build, self._size, self._pixels = build, size, pixels
        self._items: OrderedDict[Shapes, T] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Shapes, threading.Lock] = {}
        self.builds = 0

    def drop_all_but(self, shapes: Shapes) -> None:
        """Forget every build but the one for ``shapes``."""
        with self._lock:
            for key in [k for k in self._items if k != shapes]:
                del self._items[key]

    def seed(self, shapes: Shapes, item: T) -> None:
        """Keep an item built elsewhere (the file's own shape, built while loading)."""
        with self._lock:
            self._items[shapes] = item

    def get(self, shapes: Shapes) -> tuple[T, float]:
        """The build for ``shapes``, and the milliseconds this call spent building it (0 when it
        was there already)."""
        with self._lock:
            if shapes in self._items:
                self._items.move_to_end(shapes)
                return self._items[shapes], 0.0
            key_lock = self._building.setdefault(shapes, threading.Lock())
        with key_lock:
            with self._lock:
                if shapes in self._items:
                    return self._items[shapes], 0.0
            started = time.perf_counter()
            try:
                item = self._build(shapes)
            except BaseException:
                with self._lock:
                    self._building.pop(shapes, None)  # a failed build leaves nothing behind
                raise
            elapsed = (time.perf_counter() - started) * 1000.0
            with self._lock:
                self.builds += 1
                self._building.pop(shapes, None)
                if _pixels(shapes) <= self._pixels:
                    self._items[shapes] = item
                    while len(self._items) > self._size or sum(map(_pixels, self._items)) > self._pixels:
                        self._items.popitem(last=False)
            return item, elapsed


def _pixels(shapes: Shapes) -> int:
    return max((s[1] * s[2] for s in shapes if len(s) == 4), default=0)


def feed_shapes(inputs: tuple[TensorInfo, ...], shapes: Mapping[str, tuple[int, ...]]) -> Shapes:
    """The input shapes of a run, in the model's input order."""
    return tuple(tuple(int(v) for v in shapes[t.name]) for t in inputs)


def spatial_scale(inputs: tuple[TensorInfo, ...], shapes: Shapes) -> tuple[Fraction, Fraction]:
    """How much larger (height, width) the image input of ``shapes`` is than the file's own: the
    factor by which every fixed resize size in the graph must change."""
    scales = {
        (Fraction(new[1], info.shape[1]), Fraction(new[2], info.shape[2]))
        for info, new in zip(inputs, shapes, strict=True)
        if len(info.shape) == 4 and tuple(new[1:3]) != info.shape[1:3]
    }
    if len(scales) > 1:
        raise ValueError("inputs resized by different factors")
    return scales.pop() if scales else (Fraction(1), Fraction(1))


@dataclass(frozen=True)
class Quantized:
    """How a model's integer input or output maps to real values: real = scale × (q − zero_point)."""

    dtype: type
    scale: float
    zero_point: int


class IntegerIO:
    """The integer inputs and outputs of a full-integer .tflite (read from the file), so every
    backend takes and returns float arrays whatever the file's I/O types."""

    def __init__(self, data: bytes, float_inputs: frozenset[str] = frozenset()):
        from ai_edge_litert import schema_py_generated as schema

        types = {schema.TensorType.INT8: np.int8, schema.TensorType.UINT8: np.uint8, schema.TensorType.INT16: np.int16}
        graph = schema.Model.GetRootAsModel(data, 0).Subgraphs(0)

        def quantized(index: int) -> Quantized | None:
            tensor = graph.Tensors(index)
            q = tensor.Quantization()
            if tensor.Type() not in types or q is None or q.ScaleLength() != 1:
                return None
            return Quantized(types[tensor.Type()], float(q.Scale(0)), int(q.ZeroPoint(0)) if q.ZeroPointLength() else 0)

        self.inputs = {graph.Tensors(graph.Inputs(i)).Name().decode(): quantized(graph.Inputs(i)) for i in range(graph.InputsLength())}
        self.inputs.update(dict.fromkeys(float_inputs))  # rewritten to take float values (``norms.fuse_fed_norms``)
        self.outputs = [quantized(graph.Outputs(i)) for i in range(graph.OutputsLength())]
        # The shape each input is written with: a file with run-time height and width (a
        # TFLiteConverter build of a model with ``None`` sizes) records its native size here.
        self.shapes = {graph.Tensors(graph.Inputs(i)).Name().decode(): tuple(int(d) for d in graph.Tensors(graph.Inputs(i)).ShapeAsNumpy()) for i in range(graph.InputsLength())}

    def feed(self, name: str, array: np.ndarray) -> np.ndarray:
        q = self.inputs.get(name)
        if q is None:
            return np.ascontiguousarray(array, dtype=np.float32)
        if array.dtype == q.dtype:
            return np.ascontiguousarray(array)  # quantized already (a raw output of another model)
        info = np.iinfo(q.dtype)
        return np.clip(np.rint(np.asarray(array, dtype=np.float32) / q.scale) + q.zero_point, info.min, info.max).astype(q.dtype)

    def result(self, index: int, array: np.ndarray, raw: bool = False) -> np.ndarray:
        q = self.outputs[index] if index < len(self.outputs) else None
        return array if q is None or raw else (array.astype(np.float32) - q.zero_point) * np.float32(q.scale)
