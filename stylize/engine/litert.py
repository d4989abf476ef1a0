"""LiteRT (``ai_edge_litert``, XNNPACK on the CPU): one interpreter per input shape."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .base import F32, IntegerIO, Model, ShapeCache, Shapes, TensorInfo, feed_shapes, spatial_scale
from .resize import TFLiteResizeSizes
from .rewrites import rewrite

# LiteRT's interpreters hold their activations per input pixel for the transfer network (a
# photo's build is most of a gigabyte: README, limits), so only small builds — the file's own
# size and a webcam frame — are kept; a photo's build serves its request and is freed.
PIXELS_KEPT = 400_000


@dataclass
class _Interpreter:
    interpreter: object
    inputs: dict[str, int]
    outputs: list[int]
    lock: threading.Lock


class LiteRTModel:
    engine = "litert"
    float_inputs: frozenset[str] = frozenset()  # the file's own arithmetic, rounding and all

    def __init__(self, path: Path, threads: int, graph: str | None = None):
        self.path = Path(path)
        self.threads = threads
        self.runs = 0
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise ModelError(f"{self.path.name} could not be read ({exc.strerror or exc}); delete it from the cache so it is fetched again.") from exc
        if graph is not None:
            data = rewrite(data, graph, self.path.name)
        try:
            native = self._interpreter(data, None)
            self._sizes = TFLiteResizeSizes(data)
            self._io = IntegerIO(data)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"{self.path.name} could not be loaded by LiteRT ({exc}); delete it from the cache so it is fetched again.") from exc
        details = native.interpreter.get_input_details()
        self.inputs = tuple(TensorInfo(d["name"], tuple(int(v) for v in d["shape"])) for d in details)
        self._shapes = ShapeCache(self._build, pixels=PIXELS_KEPT)
        self._native = feed_shapes(self.inputs, {t.name: t.shape for t in self.inputs})
        self._shapes.seed(self._native, native)

    def _interpreter(self, data: bytes, shapes: Shapes | None) -> _Interpreter:
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_content=data, num_threads=self.threads)
        inputs = {d["name"]: d["index"] for d in interpreter.get_input_details()}
        if shapes is not None:
            for index, shape in zip(inputs.values(), shapes, strict=True):
                interpreter.resize_tensor_input(index, list(shape), strict=False)
        interpreter.allocate_tensors()
        outputs = [d["index"] for d in interpreter.get_output_details()]
        return _Interpreter(interpreter, inputs, outputs, threading.Lock())

    def _build(self, shapes: Shapes) -> _Interpreter:
        try:
            data = self._sizes.scaled(*spatial_scale(self.inputs, shapes))
            return self._interpreter(data, shapes)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.path.name} cannot run at input shapes {shapes} ({exc}); use sizes that are multiples of 4.") from exc

    def build_for_shapes(self, shapes: Mapping[str, tuple[int, ...]]) -> float:
        return self._shapes.get(feed_shapes(self.inputs, shapes))[1]

    def release(self) -> None:
        self._shapes.drop_all_but(self._native)  # an interpreter's arena is its own: only dropping it frees it

    def run(self, feeds: Mapping[str, np.ndarray], raw: bool = False) -> list[np.ndarray]:
        runner, _ = self._shapes.get(feed_shapes(self.inputs, {k: np.shape(v) for k, v in feeds.items()}))
        interpreter = runner.interpreter
        with runner.lock:
            for name, array in feeds.items():
                interpreter.set_tensor(runner.inputs[name], self._io.feed(name, array))
            interpreter.invoke()
            self.runs += 1
            return [self._io.result(n, interpreter.get_tensor(i), raw) for n, i in enumerate(runner.outputs)]


@dataclass(frozen=True)
class LiteRTEngine:
    threads: int = 2
    cache_dir: Path | None = None  # LiteRT keeps nothing on disk
    name: str = "litert"

    def load(self, path: Path, threads: int | None = None, precision: str = F32, graph: str | None = None) -> Model:
        if precision != F32:
            raise ModelError(f"LiteRT computes in float32 only, not {precision}; choose OpenVINO for {precision}.")
        return LiteRTModel(path, threads or self.threads, graph)

    def precisions(self) -> tuple[str, ...]:
        return (F32,)
