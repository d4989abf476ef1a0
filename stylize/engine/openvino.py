"""OpenVINO (reads the same .tflite files): one compiled model per input shape, each with a small
pool of infer requests so that concurrent callers never share one.

Threads and latency are set per compiled model (``INFERENCE_NUM_THREADS``,
``PERFORMANCE_HINT=LATENCY``). Inference precision is a choice (``INFERENCE_PRECISION_HINT``):
f32 everywhere, and bf16 where the CPU reports it in OpenVINO's ``OPTIMIZATION_CAPABILITIES``
(AVX-512 BF16 or AMX), which computes the float layers about twice as fast; without the hint
OpenVINO would pick bf16 on such a CPU by itself, so it is always set. Compiled blobs are kept in ``CACHE_DIR`` when a cache folder is
given, so a new process compiles each shape once per machine, not once per start. Each shape is
compiled from a copy of the model whose few-channel convolutions are computed over their output's
phases where that shape allows (``spread.py``), and whose layout transposes at the inputs and
the output are moved where the CPU plugin drops them (``edges.py``). MediaPipe's
selfie segmenters end in a custom operator OpenVINO does not know; it is rewritten into TFLite
builtins as the file is read (``custom_ops.py``).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .base import BF16, F32, IntegerIO, Model, ShapeCache, Shapes, TensorInfo, feed_shapes
from .cpu import cpu_has_avx512, cpu_has_vnni
from .custom_ops import builtin_transpose_conv, has_custom_transpose_conv
from .edges import merge_output_depth_to_space, sink_input_transposes
from .fold import FOLD, fold_into_strided_convolutions
from .narrow import NARROW, widen_narrow_norms
from .norms import fuse_fed_norms, fuse_instance_norms
from .resize import drop_identity_interpolations, interpolate_sizes_to_scales
from .rewrites import rewrite
from .spread import THIN, spread_thin_convolutions

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

    def __init__(self, path: Path, core, config: dict, fuse_norms: str = "always", graph: str | None = None, narrow: int = NARROW, thin: int = THIN, fold: int = FOLD, edges: bool = True):
        self.path = Path(path)
        self.runs = 0
        self.norms_fused = self.norms_widened = 0
        self.narrow, self.thin, self.fold, self.edges = narrow, thin, fold, edges
        self.copies_dropped = 0  # nearest-neighbour resizes at scale 1 removed, the most in any shape built
        self.norms_on_phases = 0  # normalisations run on a spread or folded convolution's phases, the most in any shape built
        self.convs_folded = 0  # convolution pairs folded over the first one's phases, the most in any shape built
        self.convs_spread = 0  # convolutions computed over their phases (spread.py), the most in any shape built
        self.edges_moved = 0  # layout transposes at the inputs and the output moved where OpenVINO drops them (edges.py), the most in any shape built
        self.float_inputs: frozenset[str] = frozenset()
        self._core, self._config = core, config
        self._runs_lock = threading.Lock()
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise ModelError(f"{self.path.name} could not be read ({exc.strerror or exc}); delete it from the cache so it is fetched again.") from exc
        if graph is not None:
            data = rewrite(data, graph, self.path.name)
        try:
            self._model = _read_model(core, self.path, data, rewritten=graph is not None)
            interpolate_sizes_to_scales(self._model)
            if fuse_norms == "always" or (fuse_norms == "quantized" and _quantized(self._model)):
                self.norms_fused = fuse_instance_norms(self._model)
                # A stage of a tiled painting normalises by statistics it is fed: in float too, so
                # that its tiles paint what the fused whole network paints (``tiling.py``).
                self.float_inputs = frozenset(fuse_fed_norms(self._model))
                self.norms_fused += len(self.float_inputs) // 2
            self._io = IntegerIO(data, float_inputs=self.float_inputs)
            _fix_run_time_sizes(self._model, self._io.shapes)
        except (RuntimeError, OSError) as exc:
            raise ModelError(f"{self.path.name} could not be read by OpenVINO ({_first_line(exc)}); delete it from the cache so it is fetched again.") from exc
        self.inputs = tuple(TensorInfo(p.get_any_name(), tuple(p.get_shape())) for p in self._model.inputs)
        self._shapes = ShapeCache(self._build)
        self._shapes.get(feed_shapes(self.inputs, {t.name: t.shape for t in self.inputs}))

    def _build(self, shapes: Shapes, extra: dict | None = None) -> _Compiled:
        model = self._model.clone()  # rewritten below for these shapes; the model as read stays as it is
        if shapes != tuple(t.shape for t in self.inputs):
            try:
                model.reshape({t.name: list(s) for t, s in zip(self.inputs, shapes, strict=True)})
            except RuntimeError as exc:
                raise ModelError(f"{self.path.name} cannot run at input shapes {shapes} ({_first_line(exc)}); use sizes that are multiples of 4.") from exc
        self.copies_dropped = max(self.copies_dropped, drop_identity_interpolations(model))  # upsamplings by 1 (resize.py)
        norms = _count(model, "MVN")
        # the few-channel convolutions as strided ones over their phases, where these sizes allow (spread.py)
        self.convs_spread = max(self.convs_spread, spread_thin_convolutions(model, self.thin))
        # and the first and the one before the last over their phases, read as they are by the strided one after each (fold.py)
        self.convs_folded = max(self.convs_folded, fold_into_strided_convolutions(model, self.fold))
        self.norms_on_phases = max(self.norms_on_phases, norms - _count(model, "MVN"))  # normalised on the phases instead
        if self.norms_fused:  # the few-channel normalisations not on phases now, on rows (narrow.py)
            self.norms_widened = max(self.norms_widened, widen_narrow_norms(model, self.narrow))
        if self.edges:  # the inputs padded and quantized as they come, the phases moved to the output's layout at once (edges.py)
            self.edges_moved = max(self.edges_moved, sink_input_transposes(model) + merge_output_depth_to_space(model))
        try:
            return _Compiled(self._core.compile_model(model, "CPU", {**self._config, **(extra or {})}))
        except RuntimeError as exc:
            raise ModelError(f"{self.path.name} could not be compiled by OpenVINO ({_first_line(exc)}).") from exc

    def build_for_shapes(self, shapes: Mapping[str, tuple[int, ...]]) -> float:
        return self._shapes.get(feed_shapes(self.inputs, shapes))[1]

    def release(self) -> None:
        """Nothing to free: OpenVINO's CPU plugin holds a compiled model's working memory with the
        compiled model, not its infer requests (measured: dropping them freed nothing), so a tiled
        painting bounds it by the size of its crops instead."""

    def profile(self, feeds: Mapping[str, np.ndarray], runs: int = 5) -> list[tuple[str, float, float]]:
        """Where this model's time goes at ``feeds``' shapes, from OpenVINO's per-layer counters
        (a build of its own with ``PERF_COUNT`` on): (layer type and kernel, ms a run, % of the
        layers' total), the largest first."""
        compiled = self._build(feed_shapes(self.inputs, {k: np.shape(v) for k, v in feeds.items()}), {"PERF_COUNT": True}).compiled
        request = compiled.create_infer_request()
        arrays = {i: self._io.feed(t.name, feeds[t.name]) for i, t in enumerate(self.inputs)}
        request.infer(arrays)  # warm-up
        totals: dict[str, float] = {}
        for _ in range(max(1, runs)):
            request.infer(arrays)
            for layer in request.profiling_info:
                ms = layer.real_time.total_seconds() * 1000.0
                if ms > 0:
                    kind = f"{layer.node_type} ({layer.exec_type})"
                    totals[kind] = totals.get(kind, 0.0) + ms / max(1, runs)
        whole = sum(totals.values()) or 1.0
        return sorted(((kind, ms, 100.0 * ms / whole) for kind, ms in totals.items()), key=lambda row: -row[1])

    def run(self, feeds: Mapping[str, np.ndarray], raw: bool = False) -> list[np.ndarray]:
        compiled, _ = self._shapes.get(feed_shapes(self.inputs, {k: np.shape(v) for k, v in feeds.items()}))
        arrays = {i: self._io.feed(t.name, feeds[t.name]) for i, t in enumerate(self.inputs)}
        outputs = compiled.infer(arrays)
        with self._runs_lock:
            self.runs += 1
        return [self._io.result(n, out, raw) for n, out in enumerate(outputs)]


@dataclass(frozen=True)
class OpenVINOEngine:
    threads: int = 2
    cache_dir: Path | None = None
    name: str = "openvino"
    fuse_norms: str = "always"  # instance normalisations as one MVN each (norms.py): "always" (measured), only in "quantized" models, or "never"
    narrow: int = NARROW  # fused normalisations of at most this many channels run on rows (narrow.py); 0: none
    thin: int = THIN  # convolutions of at most this many output channels computed over their phases (spread.py); 0: none
    fold: int | None = None  # ... and, before a strided one, of at most this many, read over their phases by it; 0: none; None: FOLD with AVX-512 (cpu.py), else 0
    edges: bool = True  # the layout transposes at the inputs and the output moved where OpenVINO drops them, in f32 (edges.py)
    _core: list = field(default_factory=list, compare=False, repr=False)
    _capabilities: list = field(default_factory=list, compare=False, repr=False)

    @property
    def config(self) -> dict:
        config = {"INFERENCE_NUM_THREADS": self.threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        if not cpu_has_vnni():
            # Without VNNI, OpenVINO's int8 convolutions multiply u8 × s8 pairs into saturating
            # 16-bit sums (vpmaddubsw), which loses the file's own accuracy for no speed; with the
            # low-precision transformations off it computes the file's quantization exactly, in
            # f32 (the figures: README, the runtimes).
            config["LP_TRANSFORMS_MODE"] = False
        if self.cache_dir is not None:
            config["CACHE_DIR"] = str(Path(self.cache_dir) / "openvino")
        return config

    def core(self):
        if not self._core:
            import openvino as ov

            self._core.append(ov.Core())
        return self._core[0]

    def load(self, path: Path, threads: int | None = None, precision: str = F32, graph: str | None = None) -> Model:
        if precision not in self.precisions():
            raise ModelError(f"This CPU cannot compute in {precision} (OpenVINO reports {', '.join(self.capabilities())}); choose {F32}.")
        config = {**self.config, "INFERENCE_PRECISION_HINT": precision}
        if threads is not None:
            config["INFERENCE_NUM_THREADS"] = threads
        fold = self.fold if self.fold is not None else FOLD if cpu_has_avx512() else 0
        return OpenVINOModel(path, self.core(), config, self.fuse_norms, graph, self.narrow, self.thin, fold, self.edges and precision == F32)

    def capabilities(self) -> tuple[str, ...]:
        """The CPU's capabilities as OpenVINO reports them (``FP32``, ``INT8``, ``BF16``, …)."""
        if not self._capabilities:
            self._capabilities.append(tuple(self.core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")))
        return self._capabilities[0]

    def precisions(self) -> tuple[str, ...]:
        return offered_precisions(self.capabilities())


def _quantized(model) -> bool:
    """Whether the model computes on 8-bit activations (OpenVINO reads a TFLite int8 file's
    quantization as FakeQuantize nodes): ``fuse_norms="quantized"`` fuses only such a model's
    instance normalisations (``norms.py``). That was the default while the fusion alone was
    measured: the int8 transfer model ran 9 % faster at 384² and came 2.4 dB closer to the float
    reference, the float models ran no faster in f32 and slower in bf16. With the few-channel
    normalisations on rows (``narrow.py``) and the last one on the phases of the convolution before
    it (``spread.py``), fused float models run faster in both precisions (README), so every model's
    are fused."""
    return any(node.get_type_name() == "FakeQuantize" for node in model.get_ops())


def offered_precisions(capabilities: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The inference precisions a CPU with OpenVINO's ``capabilities`` offers: bf16 only where it
    reports BF16 (elsewhere OpenVINO would emulate it, slower than f32)."""
    return (F32, BF16) if "BF16" in capabilities else (F32,)


def _read_model(core, path: Path, data: bytes, rewritten: bool = False):
    """The file read by OpenVINO (``data``: its bytes, ``rewritten`` when they are no longer the
    file's); one with MediaPipe's custom transposed convolution is first rewritten into builtin
    operators (``custom_ops.py``) — OpenVINO reads .tflite only from a file, so a rewritten copy
    is written to a temporary one, read and removed."""
    if has_custom_transpose_conv(data):
        data, rewritten = builtin_transpose_conv(data), True
    if not rewritten:
        return core.read_model(str(path))
    with tempfile.TemporaryDirectory(prefix="stylize-openvino-") as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(data)
        return core.read_model(str(copy))


def _fix_run_time_sizes(model, recorded: dict[str, tuple[int, ...]]) -> None:
    """OpenVINO reads inputs whose height and width are set at run time as dynamic; fix them to the
    size the file records (its native size), as for every other model: a new size is a
    ``reshape`` of its own, compiled and cached by shape."""
    if all(p.get_partial_shape().is_static for p in model.inputs):
        return
    model.reshape({p.get_any_name(): list(recorded[p.get_any_name()]) for p in model.inputs})


def _count(model, kind: str) -> int:
    return sum(1 for node in model.get_ops() if node.get_type_name() == kind)


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
