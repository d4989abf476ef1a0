"""Inference backends behind one small interface: load a model file, then run it at any shape.

``litert`` (``ai_edge_litert``, XNNPACK) and ``openvino`` (which reads the same .tflite files)
implement ``Engine``; ``make_engine`` picks one by name. Each keeps its own copy of a model per
input shape (see ``base.ShapeCache``) built from a graph whose fixed resize sizes are rewritten
(``resize.py``), and never runs one interpreter or infer request from two callers at once.
"""

from __future__ import annotations

from pathlib import Path

from ..names import RUNTIME_TITLES, RUNTIMES, one_of
from .base import BF16, F32, PRECISION_TITLES, PRECISIONS, Engine, Model, TensorInfo
from .litert import LiteRTEngine
from .openvino import OpenVINOEngine

ENGINES: dict[str, type] = {"openvino": OpenVINOEngine, "litert": LiteRTEngine}  # runtime → its engine

__all__ = ["BF16", "ENGINES", "RUNTIME_TITLES", "F32", "PRECISIONS", "PRECISION_TITLES", "Engine", "LiteRTEngine", "Model", "OpenVINOEngine", "TensorInfo", "check_runtime", "check_precision", "make_engine"]


def check_runtime(name: str) -> str:
    """``name`` if it is a known runtime, else one clear sentence."""
    return one_of(name, RUNTIMES, "a known inference runtime", "STYLIZE_ENGINE or --runtime")


def make_engine(name: str, threads: int, cache_dir: Path | None = None) -> Engine:
    return ENGINES[check_runtime(name)](threads=threads, cache_dir=cache_dir)


def check_precision(name: str) -> str:
    """``name`` if it is a known inference precision, else one clear sentence."""
    return one_of(name, PRECISIONS, "an inference precision", "--precision")
