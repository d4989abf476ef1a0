"""What the graph-rewrite measurements share (``measure_narrow.py``, ``measure_spread.py``,
``measure_fused_floats.py``): models or stylizers run interleaved in one process (A, B, A, B …),
so that a noisy machine's drift falls on all of them alike, and a 12 MP photo painted in tiles by
stylizers that differ in their OpenVINO engine only."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stylize import StylizeOptions, Stylizer  # noqa: E402
from stylize.engine.openvino import OpenVINOEngine  # noqa: E402
from stylize.manifest import load_manifest  # noqa: E402
from stylize.store import ModelStore  # noqa: E402


def photo_feeds(store: Path, sizes) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
    """(height, width, the transfer network's inputs) for each size: boy.jpg resized (Lanczos) and
    one fixed style vector."""
    photo = Image.open(store / "photos" / "boy.jpg").convert("RGB")
    style = (np.random.default_rng(0).standard_normal((1, 1, 1, 100)) * 0.5).astype(np.float32)
    for height, width in sizes:
        yield height, width, {"content_image": np.asarray(photo.resize((width, height), Image.LANCZOS), dtype=np.float32)[None] / 255.0, "mobilenet_conv/Conv/BiasAdd": style}


def medians(calls: Mapping[object, Callable[[], object]], runs: int) -> dict[object, float]:
    """Each call run ``runs`` times, interleaved; the median seconds of each."""
    times: dict[object, list[float]] = {key: [] for key in calls}
    for _ in range(runs):
        for key, call in calls.items():
            start = time.perf_counter()
            call()
            times[key].append(time.perf_counter() - start)
    return {key: float(np.median(values)) for key, values in times.items()}


def compare(a: np.ndarray, b: np.ndarray) -> str:
    """How far apart two outputs are: bit-identical, or their PSNR (values in 0..1)."""
    if np.array_equal(a, b):
        return "bit-identical"
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return f"{10 * np.log10(1.0 / mse):.1f} dB apart"


def tiled(store: Path, runs: int, engines: Mapping[object, OpenVINOEngine]) -> tuple[dict[object, float], int, bool]:
    """A 4000×3000 photo painted in tiles, int8 on OpenVINO, by a stylizer per engine, interleaved
    after a warm-up that compiles the stages: the median seconds of each one's transfer, the tiles,
    and whether every painting is the first one's."""
    rgb = np.asarray(Image.open(store / "photos" / "man_in_suit.jpg").convert("RGB").resize((4000, 3000), Image.LANCZOS))
    options = StylizeOptions(transfer="int8", runtime="openvino", mask="full", max_side=None)
    with tempfile.TemporaryDirectory() as cache:
        stylizers = {key: Stylizer(load_manifest(), ModelStore.from_spec(str(store), Path(cache) / str(n)), engine) for n, (key, engine) in enumerate(engines.items())}
        results = {key: s.stylize(rgb, "style19", options) for key, s in stylizers.items()}
        times: dict[object, list[float]] = {key: [] for key in stylizers}
        for _ in range(runs):
            for key, s in stylizers.items():
                times[key].append(s.stylize(rgb, "style19", options).timings_ms["transfer"] / 1000)
    first = next(iter(results.values()))
    identical = all(np.array_equal(first.image, r.image) for r in results.values())
    return {key: float(np.median(values)) for key, values in times.items()}, first.tiles, identical
