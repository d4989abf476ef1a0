"""How much the transfer networks gain on OpenVINO from computing their few-channel convolutions
over their output's phases (``stylize/engine/spread.py``): for each transfer model and inference
precision, the model compiled with and without the rewrite in this process and run interleaved
(A, B, A, B …) on a sample photo at 384² and at the webcam's and the 1024 px photo's sizes: the
median times, their ratio, and how the outputs compare (bit-identical, or their PSNR). Then a
4000×3000 photo painted in tiles, int8, by a stylizer with the rewrite and one without,
interleaved: the median time of the transfer and whether the paintings are identical.

    .venv/bin/python scripts/measure_spread.py [--store ../shared] [--runs 30] [--tiled-runs 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stylize import StylizeOptions, Stylizer  # noqa: E402
from stylize.engine.openvino import OpenVINOEngine  # noqa: E402
from stylize.manifest import load_manifest  # noqa: E402
from stylize.store import ModelStore  # noqa: E402

MODELS = {
    "int8": "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite",
    "float16": "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite",
}
SIZES = ((384, 384), (480, 640), (768, 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path(__file__).resolve().parents[2] / "shared", help="a folder holding models/ and photos/ (default ../shared)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tiled-runs", type=int, default=4)
    args = parser.parse_args()
    precisions = OpenVINOEngine().precisions()
    photo = Image.open(args.store / "photos" / "boy.jpg").convert("RGB")
    style = (np.random.default_rng(0).standard_normal((1, 1, 1, 100)) * 0.5).astype(np.float32)
    for height, width in SIZES:
        feeds = {"content_image": np.asarray(photo.resize((width, height), Image.LANCZOS), dtype=np.float32)[None] / 255.0, "mobilenet_conv/Conv/BiasAdd": style}
        for name, file in MODELS.items():
            for precision in precisions:
                if name == "int8" and precision != "f32":
                    continue  # its convolutions are int8 whatever the hint
                pair = {thin: OpenVINOEngine(threads=2, thin=thin).load(args.store / "models" / file, precision=precision) for thin in (0, 4)}
                outputs = {thin: m.run(feeds)[0] for thin, m in pair.items()}
                times: dict[int, list[float]] = {thin: [] for thin in pair}
                for _ in range(args.runs):
                    for thin, m in pair.items():
                        start = time.perf_counter()
                        m.run(feeds)
                        times[thin].append(time.perf_counter() - start)
                before, after = float(np.median(times[0])), float(np.median(times[4]))
                print(
                    f"{width}x{height}  {name:8s} {precision}: {pair[4].convs_spread} spread, {before * 1e3:6.2f} -> {after * 1e3:6.2f} ms ({after / before:.3f}x), "
                    f"outputs {_compare(outputs[0], outputs[4])}"
                )
    tiled(args.store, args.tiled_runs)


def _compare(a: np.ndarray, b: np.ndarray) -> str:
    if np.array_equal(a, b):
        return "bit-identical"
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return f"{10 * np.log10(1.0 / mse):.1f} dB apart"


def tiled(store: Path, runs: int) -> None:
    """A 12 MP photo painted in tiles, int8 on OpenVINO, with the rewrite and without."""
    rgb = np.asarray(Image.open(store / "photos" / "man_in_suit.jpg").convert("RGB").resize((4000, 3000), Image.LANCZOS))
    options = StylizeOptions(transfer="int8", runtime="openvino", mask="full", max_side=None)
    with tempfile.TemporaryDirectory() as cache:
        stylizers = {n: Stylizer(load_manifest(), ModelStore.from_spec(str(store), Path(cache) / str(n)), OpenVINOEngine(threads=2, thin=n)) for n in (0, 4)}
        results = {n: s.stylize(rgb, "style19", options) for n, s in stylizers.items()}  # warm-up: the stages compiled
        times: dict[int, list[float]] = {n: [] for n in stylizers}
        for _ in range(runs):
            for n, s in stylizers.items():
                times[n].append(s.stylize(rgb, "style19", options).timings_ms["transfer"] / 1000)
    before, after = float(np.median(times[0])), float(np.median(times[4]))
    identical = np.array_equal(results[0].image, results[4].image)
    print(f"4000x3000 in {results[4].tiles} tiles, transfer: {before:.2f} -> {after:.2f} s ({after / before:.3f}x), identical: {identical}")


if __name__ == "__main__":
    main()
