"""Inference backends behind one small interface: load a model file, then run it.

LiteRT (``ai_edge_litert``) is the backend today; another (OpenVINO reads the same .tflite files)
can join by implementing ``Engine`` and registering in ``ENGINES``. A TFLite interpreter is not
thread-safe, so every ``Model`` serialises its own runs with a lock: page sessions, the webcam
callback thread and benchmark loops may share one model object safely.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ModelError


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]


class Model(Protocol):
    path: Path
    inputs: tuple[TensorInfo, ...]

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Run once on ``feeds`` (input name → array); returns the outputs in model order."""
        ...


class Engine(Protocol):
    name: str

    def load(self, path: Path) -> Model: ...


class LiteRTModel:
    def __init__(self, path: Path, threads: int):
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        try:
            self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.path.name} could not be loaded by LiteRT ({exc}); delete it from the cache so it is fetched again.") from None
        self._lock = threading.Lock()
        self._input_index = {d["name"]: d["index"] for d in self._interpreter.get_input_details()}
        self._output_index = [d["index"] for d in self._interpreter.get_output_details()]
        self.inputs = tuple(TensorInfo(d["name"], tuple(int(v) for v in d["shape"])) for d in self._interpreter.get_input_details())
        self.runs = 0

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        with self._lock:
            for name, array in feeds.items():
                self._interpreter.set_tensor(self._input_index[name], np.ascontiguousarray(array, dtype=np.float32))
            self._interpreter.invoke()
            self.runs += 1
            return [self._interpreter.get_tensor(i) for i in self._output_index]


@dataclass(frozen=True)
class LiteRTEngine:
    threads: int = 2
    name: str = "litert"

    def load(self, path: Path) -> Model:
        return LiteRTModel(path, self.threads)


ENGINES = {"litert": LiteRTEngine}


def make_engine(name: str, threads: int) -> Engine:
    try:
        return ENGINES[name](threads=threads)
    except KeyError:
        raise ModelError(f"STYLIZE_ENGINE={name!r} is not a known engine; use one of: {', '.join(ENGINES)}.") from None
