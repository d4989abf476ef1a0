"""How much the int8 transfer network gains on OpenVINO from running its few-channel
normalisations on rows (``stylize/engine/narrow.py``), by the most channels rewritten: each
setting's model compiled in this process and run interleaved (A, B, C, A, B, C …), with the float16
model (float32 inference) among them, at 384² and at the webcam's and the 1024 px photo's sizes:
the median time per setting, its ratio to none and to the float16 model, and whether the output
is bit-identical to none's. Then a 4000×3000 photo painted in tiles (whose last two stages' fed
normalisations have 8 and 3 channels) by a stylizer with the norms on rows and one without,
interleaved: the median time of the transfer and whether the paintings are identical.

    .venv/bin/python scripts/measure_narrow.py [--store ../shared] [--runs 30] [--tiled-runs 4]
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

INT8 = "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite"
FP16 = "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite"
SETTINGS = (0, 3, 8, 16)
SIZES = ((384, 384), (480, 640), (768, 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path(__file__).resolve().parents[2] / "shared", help="a folder holding models/ (default ../shared)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tiled-runs", type=int, default=4)
    args = parser.parse_args()
    path = args.store / "models" / INT8
    models = {n: OpenVINOEngine(threads=2, narrow=n).load(path) for n in SETTINGS}
    models[-1] = OpenVINOEngine(threads=2).load(args.store / "models" / FP16)  # the float16 model, the yardstick
    rng = np.random.default_rng(0)
    style = (rng.standard_normal((1, 1, 1, 100)) * 0.5).astype(np.float32)
    for height, width in SIZES:
        feeds = {"content_image": rng.random((1, height, width, 3), dtype=np.float32), "mobilenet_conv/Conv/BiasAdd": style}
        outputs = {n: m.run(feeds)[0] for n, m in models.items()}
        times: dict[int, list[float]] = {n: [] for n in models}
        for _ in range(args.runs):
            for n, m in models.items():
                start = time.perf_counter()
                m.run(feeds)
                times[n].append(time.perf_counter() - start)
        none, float16 = float(np.median(times[0])), float(np.median(times[-1]))
        print(f"{width}x{height}  float16, float32 inference: {float16 * 1e3:6.2f} ms")
        for n in SETTINGS:
            median = float(np.median(times[n]))
            print(
                f"{width}x{height}  channels <= {n:2d}: {models[n].norms_widened} rewritten, {median * 1e3:6.2f} ms, "
                f"{median / none:.3f}x none, {median / float16:.3f}x float16, identical to none: {np.array_equal(outputs[n], outputs[0])}"
            )

    tiled(args.store, args.tiled_runs)


def tiled(store: Path, runs: int) -> None:
    """A 12 MP photo painted in tiles, int8 on OpenVINO, with the norms on rows and without."""
    rgb = np.asarray(Image.open(store / "photos" / "man_in_suit.jpg").convert("RGB").resize((4000, 3000), Image.LANCZOS))
    options = StylizeOptions(transfer="int8", runtime="openvino", mask="full", max_side=None)
    with tempfile.TemporaryDirectory() as cache:
        stylizers = {n: Stylizer(load_manifest(), ModelStore.from_spec(str(store), Path(cache) / str(n)), OpenVINOEngine(threads=2, narrow=n)) for n in (0, 8)}
        results = {n: s.stylize(rgb, "style19", options) for n, s in stylizers.items()}  # warm-up: the stages compiled
        times: dict[int, list[float]] = {n: [] for n in stylizers}
        for _ in range(runs):
            for n, s in stylizers.items():
                times[n].append(s.stylize(rgb, "style19", options).timings_ms["transfer"] / 1000)
    none = float(np.median(times[0]))
    identical = np.array_equal(results[0].image, results[8].image)
    print(f"4000x3000 in {results[8].tiles} tiles, transfer: none {none:.2f} s, channels <= 8 {np.median(times[8]):.2f} s ({np.median(times[8]) / none:.3f}x), identical: {identical}")


if __name__ == "__main__":
    main()
