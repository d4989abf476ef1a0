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
import functools
from pathlib import Path

import numpy as np
from interleaved import medians, tiled

from stylize.engine.openvino import OpenVINOEngine

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
        times = medians({n: functools.partial(m.run, feeds) for n, m in models.items()}, args.runs)
        none, float16 = times[0], times[-1]
        print(f"{width}x{height}  float16, float32 inference: {float16 * 1e3:6.2f} ms")
        for n in SETTINGS:
            median = times[n]
            print(
                f"{width}x{height}  channels <= {n:2d}: {models[n].norms_widened} rewritten, {median * 1e3:6.2f} ms, "
                f"{median / none:.3f}x none, {median / float16:.3f}x float16, identical to none: {np.array_equal(outputs[n], outputs[0])}"
            )

    times, tiles, identical = tiled(args.store, args.tiled_runs, {n: OpenVINOEngine(threads=2, narrow=n) for n in (0, 8)})
    print(f"4000x3000 in {tiles} tiles, transfer: none {times[0]:.2f} s, channels <= 8 {times[8]:.2f} s ({times[8] / times[0]:.3f}x), identical: {identical}")


if __name__ == "__main__":
    main()
