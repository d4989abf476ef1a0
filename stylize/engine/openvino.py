"""OpenVINO (reads the same .tflite files): one compiled model per input shape, each with a small
pool of infer requests so that concurrent callers never share one.

Threads and latency are set per compiled model (``INFERENCE_NUM_THREADS``,
``PERFORMANCE_HINT=LATENCY``); inference precision is pinned to f32 so that a CPU with bf16 units
computes what this one does. Compiled blobs are kept in ``CACHE_DIR`` when a cache folder is
given, so a new process compiles each shape once per machine, not once per start.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .base import IntegerIO, Model, ShapeCache, Shapes, TensorInfo, feed_shapes
from .resize import interpolate_sizes_to_scales

REQUESTS_PER_MODEL = 2  # callers that may run one compiled model at once; others wait


class _Compiled:
    """A compiled model and its idle infer requests."""

    def __init__(self, compiled):
        self.compiled = compiled
        self._idle: list = []
        self._slots = threading.Semaphore(REQUESTS_PER_MODEL)
        self._lock = threading.Lock()

    def infer(self, feeds: Mapping[int, np.ndarray]) -> list[np.ndarray]:
        with self._slots:
            with self._lock:
                request = self._idle.pop() if self._idle else self.compiled.create_infer_request()
            try:
                request.infer(feeds)
                return [request.get_output_tensor(i).data.copy() for i in range(len(self.compiled.outputs))]
            finally:
                with self._lock:
                    self._idle.append(request)


class OpenVINOModel:
    engine = "openvino"

    def __init__(self, path: Path, core, config: dict):
        self.path = Path(path)
        self.runs = 0
        self._core, self._config = core, config
        self._runs_lock = threading.Lock()
        try:
            self._model = core.read_model(str(self.path))
            interpolate_sizes_to_scales(self._model)
            self._io = IntegerIO(self.path.read_bytes())
        except (RuntimeError, OSError) as exc:
            raise ModelError(f"{self.path.name} could not be read by OpenVINO ({_first_line(exc)}); delete it from the cache so it is fetched again.") from None
        self.inputs = tuple(TensorInfo(p.get_any_name(), tuple(p.get_shape())) for p in self._model.inputs)
        self._shapes = ShapeCache(self._build)
        self._shapes.get(feed_shapes(self.inputs, {t.name: t.shape for t in self.inputs}))

    def _build(self, shapes: Shapes) -> _Compiled:
        model = self._model
        if shapes != tuple(t.shape for t in self.inputs):
            model = model.clone()
            try:
                model.reshape({t.name: list(s) for t, s in zip(self.inputs, shapes, strict=True)})
            except RuntimeError as exc:
                raise ModelError(f"{self.path.name} cannot run at input shapes {shapes} ({_first_line(exc)}); use sizes that are multiples of 4.") from None
        try:
            return _Compiled(self._core.compile_model(model, "CPU", self._config))
        except RuntimeError as exc:
            raise ModelError(f"{self.path.name} could not be compiled by OpenVINO ({_first_line(exc)}).") from None

    def prepare_shape(self, shapes: Mapping[str, tuple[int, ...]]) -> float:
        return self._shapes.get(feed_shapes(self.inputs, shapes))[1]

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        compiled, _ = self._shapes.get(feed_shapes(self.inputs, {k: np.shape(v) for k, v in feeds.items()}))
        arrays = {i: self._io.feed(t.name, feeds[t.name]) for i, t in enumerate(self.inputs)}
        outputs = compiled.infer(arrays)
        with self._runs_lock:
            self.runs += 1
        return [self._io.result(n, out) for n, out in enumerate(outputs)]


@dataclass(frozen=True)
class OpenVINOEngine:
    threads: int = 2
    cache_dir: Path | None = None
    name: str = "openvino"
    _core: list = field(default_factory=list, compare=False, repr=False)

    @property
    def config(self) -> dict:
        config = {"INFERENCE_NUM_THREADS": self.threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        if self.cache_dir is not None:
            config["CACHE_DIR"] = str(Path(self.cache_dir) / "openvino")
        return config

    def core(self):
        if not self._core:
            import openvino as ov

            self._core.append(ov.Core())
        return self._core[0]

    def load(self, path: Path) -> Model:
        return OpenVINOModel(path, self.core(), self.config)


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
