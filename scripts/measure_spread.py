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
import functools
from pathlib import Path

from interleaved import compare, medians, photo_feeds, tiled

from stylize.engine.openvino import OpenVINOEngine

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
    for height, width, feeds in photo_feeds(args.store, SIZES):
        for name, file in MODELS.items():
            for precision in precisions:
                if name == "int8" and precision != "f32":
                    continue  # its convolutions are int8 whatever the hint
                pair = {thin: OpenVINOEngine(threads=2, thin=thin).load(args.store / "models" / file, precision=precision) for thin in (0, 4)}
                outputs = {thin: m.run(feeds)[0] for thin, m in pair.items()}
                times = medians({thin: functools.partial(m.run, feeds) for thin, m in pair.items()}, args.runs)
                before, after = times[0], times[4]
                print(
                    f"{width}x{height}  {name:8s} {precision}: {pair[4].convs_spread} spread, {before * 1e3:6.2f} -> {after * 1e3:6.2f} ms ({after / before:.3f}x), "
                    f"outputs {compare(outputs[0], outputs[4])}"
                )
    times, tiles, identical = tiled(args.store, args.tiled_runs, {thin: OpenVINOEngine(threads=2, thin=thin) for thin in (0, 4)})
    print(f"4000x3000 in {tiles} tiles, transfer: {times[0]:.2f} -> {times[4]:.2f} s ({times[4] / times[0]:.3f}x), identical: {identical}")


if __name__ == "__main__":
    main()
