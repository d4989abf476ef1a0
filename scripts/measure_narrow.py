"""How much the int8 transfer network gains on OpenVINO from running its few-channel
normalisations on rows (``stylize/engine/narrow.py``), by the most channels rewritten: each
setting's model compiled in this process and run interleaved (A, B, C, A, B, C …), with the float16
model (float32 inference) among them, at 384² and at the webcam's and the 1024 px photo's sizes:
the median time per setting, its ratio to none and to the float16 model, and whether the output
is bit-identical to none's.

    .venv/bin/python scripts/measure_narrow.py [--store ../shared] [--runs 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stylize.engine.openvino import OpenVINOEngine  # noqa: E402

INT8 = "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite"
FP16 = "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite"
SETTINGS = (0, 3, 8, 16)
SIZES = ((384, 384), (480, 640), (768, 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path(__file__).resolve().parents[2] / "shared", help="a folder holding models/ (default ../shared)")
    parser.add_argument("--runs", type=int, default=30)
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


if __name__ == "__main__":
    main()
