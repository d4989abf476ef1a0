"""``python -m stylize bench``: every model on every runtime, and three end-to-end figures.

0. The CPU as the runtimes see it (model name, OpenVINO's capabilities, VNNI, AVX-512): every figure below
   is read against the hardware that made it.
1. Each model file on each engine at its own input size, 2 threads (``STYLIZE_THREADS``; the
   person and face networks 1), each transfer network on OpenVINO in every inference precision
   the CPU offers: one warm-up run, then runs interleaved (A, B, A, B …); medians and the ratio of
   each engine's median to LiteRT's. Loading (read + compile) is timed once per model. With
   ``profile``, the layer types that take each OpenVINO model's time (its per-layer counters).
2. End to end on the default engine, after a warm-up: a 640×480 webcam frame in background mode
   at 384 on the long side (frames per second), the webcam's flicker with and without steadiness
   and its ghosting (``flicker.flicker_figures``), a photo at 1024 on the long side (ms), and a
   4000×3000 photo at full resolution (seconds; the process's peak memory during it).
3. Per engine, in a fresh process with nothing compiled before: the time to load all seven
   models and the memory then resident.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .engine import BF16, ENGINES, F32
from .engine.cpu import cpu_has_avx512, cpu_has_vnni, cpu_model_name
from .flicker import flicker_figures
from .imaging import decode_image, jpeg_bytes, resize
from .memory import peak_rss_mb, reset_peak, rss_mb
from .options import StylizeOptions
from .pipeline import Stylizer
from .webcam import WEBCAM_OPTIONS, LiveStylizer, frame_pixels

Say = Callable[[str], None]


@dataclass
class ModelFigure:
    name: str
    role: str
    runtime: str
    load_ms: float
    median_ms: float
    ratio_vs_litert: float | None = None
    inference_precision: str = F32


@dataclass
class BenchReport:
    runtimes: list[str]
    threads: int
    default_runtime: str
    cpu: dict = field(default_factory=dict)  # model name, OpenVINO's capabilities, VNNI, AVX-512
    models: list[ModelFigure] = field(default_factory=list)
    profiles: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)  # "model · runtime · precision" → (layer type, ms, %)
    webcam_fps: float = 0.0
    webcam_frame_ms: float = 0.0
    webcam_flicker_raw: float = 0.0  # mean |frame-to-frame change| (0–255) of a still, noisy picture's painting
    webcam_flicker_steady: float = 0.0  # …with the default steadiness
    webcam_ghost_db: float = 0.0  # a panning picture: steady output against the unsmoothed painting
    photo_1024_ms: float = 0.0
    photo_12mp_s: float = 0.0
    photo_12mp_paint: str = ""
    photo_12mp_tiles: int = 0  # tiles of the full-resolution stages (0: painted whole)
    peak_rss_mb: float | None = None
    rss_all_loaded_mb: dict[str, float | None] = field(default_factory=dict)
    load_all_cold_ms: dict[str, float | None] = field(default_factory=dict)

    def as_json(self) -> dict:
        body = {k: v for k, v in self.__dict__.items() if k != "models"}
        body["models"] = [m.__dict__ for m in self.models]
        return body


def _inputs(model, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {t.name: rng.random(t.shape, dtype=np.float32) for t in model.inputs}


def cpu_figures(stylizer: Stylizer) -> dict:
    """What the CPU offers the runtimes: its model name, OpenVINO's optimisation capabilities, VNNI,
    AVX-512."""
    engine = stylizer.engine_for("openvino")
    return {"model_name": cpu_model_name(), "cores": os.cpu_count(), "openvino_capabilities": list(engine.capabilities()), "vnni": cpu_has_vnni(), "avx512": cpu_has_avx512(), "precisions": list(engine.precisions())}


def bench_models(stylizer: Stylizer, runtimes: list[str], runs: int, say: Say, profile: dict | None = None) -> list[ModelFigure]:
    """Every model on every runtime (each transfer network in every precision offered), interleaved.
    With ``profile`` (a dict), it is filled with each OpenVINO model's top layer types by time."""
    rng = np.random.default_rng(0)
    assets = [stylizer.manifest.predict, *stylizer.assets("transfer"), *stylizer.assets("segment"), *stylizer.assets("face")]
    settings = [
        (asset, runtime, precision)
        for asset in assets
        for runtime in runtimes
        for precision in (stylizer.precisions(runtime) if asset.role == "transfer" else (F32,))
    ]
    loaded, figures, times = {}, {}, {}
    for setting in settings:
        asset, runtime, precision = setting
        model = stylizer.model(asset, runtime, precision)
        feeds = _inputs(model, rng)
        model.run(feeds)  # warm-up
        loaded[setting] = (model, feeds)
        times[setting] = []
    for _ in range(runs):
        for key, (model, feeds) in loaded.items():
            started = time.perf_counter()
            model.run(feeds)
            times[key].append((time.perf_counter() - started) * 1000.0)
    for asset, runtime, precision in settings:
        figures[(asset.name, runtime, precision)] = ModelFigure(
            asset.name, asset.role, runtime, stylizer.load_ms[(runtime, asset.key, precision)], statistics.median(times[(asset, runtime, precision)]), None, precision
        )
    if "litert" in runtimes:
        for f in figures.values():
            f.ratio_vs_litert = round(figures[(f.name, "litert", F32)].median_ms / f.median_ms, 2)
    say(f"{'model':<16}{'role':<10}{'runtime':<10}{'precision':<11}{'load ms':>9}{'median ms':>11}{'× vs LiteRT':>13}")
    for f in figures.values():
        ratio = "" if f.ratio_vs_litert is None else f"{f.ratio_vs_litert:.2f}×"
        say(f"{f.name:<16}{f.role:<10}{f.runtime:<10}{f.inference_precision:<11}{f.load_ms:>9.0f}{f.median_ms:>11.1f}{ratio:>13}")
    fp16 = figures.get(("fp16", "openvino", F32))
    if fp16 is not None:
        against = [(label, figures.get(key)) for label, key in (("int8, f32", ("int8", "openvino", F32)), ("int8, bf16", ("int8", "openvino", BF16)), ("float16, bf16", ("fp16", "openvino", BF16)))]
        say("transfer at 384² on OpenVINO against float16 in f32: " + ", ".join(f"{label} {f.median_ms / fp16.median_ms:.2f}×" for label, f in against if f is not None))
    if profile is not None:
        for (asset, runtime, precision), (model, feeds) in loaded.items():
            if hasattr(model, "profile"):
                top = model.profile(feeds, runs=max(3, runs // 4))
                profile[f"{asset.name} · {runtime} · {precision}"] = top
                say(f"{asset.name} on {runtime} in {precision}, by layer type: " + ", ".join(f"{kind} {ms:.1f} ms ({share:.0f} %)" for kind, ms, share in top[:PROFILE_TOP]))
        say("LiteRT: its Python API has no per-operator profiler (the benchmark_model tool of the TensorFlow tree has one); its rows above are whole-model times.")
    return list(figures.values())


PROFILE_TOP = 6  # layer types printed per model


def bench_end_to_end(stylizer: Stylizer, report: BenchReport, photo: np.ndarray, frames: int, say: Say, flicker_frames: int = 100) -> None:
    style = "style19"
    frame = frame_pixels(resize(photo, 640, 480), WEBCAM_OPTIONS.max_side)  # as a live frame reaches the painter
    webcam = WEBCAM_OPTIONS
    stylizer.warm_up(640, 480, webcam)
    live = LiveStylizer(stylizer, style, webcam)  # the page's own path: video face detector, steadiness
    live.paint_newest(frame)
    started = time.perf_counter()
    latencies = []
    for _ in range(frames):
        began = time.perf_counter()
        painted = live.paint_newest(frame)
        latencies.append((time.perf_counter() - began) * 1000.0)
    report.webcam_fps = round(frames / (time.perf_counter() - started), 1)
    report.webcam_frame_ms = round(statistics.median(latencies), 1)
    say(
        f"webcam 640×480 → {painted.shape[1]}×{painted.shape[0]}, {webcam.mask}, {webcam.segmenter}, {webcam.transfer}, steadiness {live.steadiness}: "
        f"{report.webcam_fps} frames/s (median {report.webcam_frame_ms} ms a frame)"
    )

    flicker = flicker_figures(stylizer, photo, style, webcam, frames=flicker_frames)
    report.webcam_flicker_raw, report.webcam_flicker_steady, report.webcam_ghost_db = flicker.flicker_raw, flicker.flicker_steady, flicker.ghost_db
    say(
        f"webcam steadiness {flicker.steadiness}, {flicker.frames} frames: flicker {flicker.flicker_raw} raw → {flicker.flicker_steady} steady "
        f"({flicker.flicker_raw / max(flicker.flicker_steady, 1e-9):.1f}× less) on a still picture with σ=3 camera noise; "
        f"ghosting on a picture panning 4 px a frame: {flicker.ghost_db} dB against the unsmoothed painting"
    )

    photo_bytes = jpeg_bytes(resize(photo, 1536, 1024), quality=92)
    options = StylizeOptions(max_side=1024)
    stylizer.stylize(photo_bytes, style, options)
    totals = [stylizer.stylize(photo_bytes, style, options).total_ms for _ in range(5)]
    report.photo_1024_ms = round(statistics.median(totals), 1)
    say(f"photo 1536×1024 JPEG → 1024×683, background, {options.transfer}: median {report.photo_1024_ms} ms end to end (decode included)")

    big = jpeg_bytes(resize(photo, 4000, 3000), quality=92)
    full = StylizeOptions(max_side=None)
    measured = reset_peak()
    stylizer.stylize(big, style, full)  # builds the paint size once
    started = time.perf_counter()
    result = stylizer.stylize(big, style, full)
    report.photo_12mp_s = round(time.perf_counter() - started, 2)
    report.peak_rss_mb = round(peak_rss_mb()) if measured else None
    paint_w, paint_h = result.paint_size
    report.photo_12mp_paint = f"{paint_w}×{paint_h}"
    report.photo_12mp_tiles = result.tiles
    tiles = f" in {result.tiles} tiles of {stylizer.tile_side}" if result.tiles else ""
    say(
        f"photo 4000×3000 JPEG at full resolution → {result.image.shape[1]}×{result.image.shape[0]} (painted at {paint_w}×{paint_h}{tiles}): "
        f"{report.photo_12mp_s} s, peak RSS {report.peak_rss_mb} MB"
    )


LOAD_CHILD = """
import json, sys, tempfile, time
from dataclasses import replace
from stylize import Settings, Stylizer
from stylize.memory import rss_mb
settings = replace(Settings.from_env(), runtime=sys.argv[1])
with tempfile.TemporaryDirectory() as empty:
    s = Stylizer.from_settings(settings, compile_cache=empty)  # nothing compiled yet
    started = time.perf_counter()
    for asset in (*s.assets("transfer"), *s.assets("segment")):
        s.model(asset)
    s.vectors  # the predict model, on LiteRT whatever the engine (see catalogue.PREDICT_RUNTIME)
    print(json.dumps([rss_mb(), (time.perf_counter() - started) * 1000]))
"""


def load_all_fresh(runtime: str) -> tuple[float | None, float | None]:
    """(RSS in MB, ms to read and compile them) of a fresh process that loads all seven models as
    the page does — on ``runtime``, the predict model on LiteRT — with nothing compiled before."""
    done = subprocess.run([sys.executable, "-c", LOAD_CHILD, runtime], capture_output=True, encoding="utf-8", timeout=300)
    if done.returncode != 0 or not done.stdout.strip():
        return None, None
    rss, ms = json.loads(done.stdout.strip().splitlines()[-1])
    return round(rss), round(ms)


def run_bench(stylizer: Stylizer, runs: int = 20, frames: int = 60, say: Say = print, flicker_frames: int = 100, profile: bool = False) -> BenchReport:
    runtimes = list(ENGINES)
    report = BenchReport(runtimes, stylizer.engine.threads, stylizer.engine.name)
    stylizer.prepare()
    report.cpu = cpu_figures(stylizer)
    say(
        f"CPU {report.cpu['model_name']}, {report.cpu['cores']} cores; OpenVINO capabilities {', '.join(report.cpu['openvino_capabilities'])}; "
        f"VNNI {'yes' if report.cpu['vnni'] else 'no'}; AVX-512 {'yes' if report.cpu['avx512'] else 'no'}; inference precisions offered {', '.join(report.cpu['precisions'])}"
    )
    say(f"runtimes {', '.join(runtimes)}; {report.threads} threads; default runtime {report.default_runtime}, transfer {StylizeOptions.transfer} in {stylizer.precision_for(StylizeOptions())}; RSS after prepare {rss_mb():.0f} MB")
    photo = decode_image(stylizer.store.fetch(stylizer.manifest.get("photo", "boy")).read_bytes())
    bench_end_to_end(stylizer, report, photo, frames, say, flicker_frames)  # first, while only the default engine is loaded
    report.models = bench_models(stylizer, runtimes, runs, say, report.profiles if profile else None)
    for runtime in runtimes:
        report.rss_all_loaded_mb[runtime], report.load_all_cold_ms[runtime] = load_all_fresh(runtime)
    say(
        "all the models loaded in a fresh process, nothing compiled before: "
        + ", ".join(f"{k} {report.rss_all_loaded_mb[k]} MB RSS after {report.load_all_cold_ms[k]} ms" for k in runtimes)
    )
    return report
