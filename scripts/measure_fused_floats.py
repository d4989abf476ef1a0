"""How much the float transfer models gain on OpenVINO from having their instance normalisations
fused (``stylize/engine/norms.py``; with them, the few-channel ones run on rows, ``narrow.py``, and
the last one on the phases of the convolution before it, ``spread.py``): each float model compiled
with its normalisations as read (the default until 2026-12-03, ``fuse_norms="quantized"``) and fused
(``"always"``) in this process, run interleaved (A, B, A, B …) on a sample photo at 384² and at
the webcam's and the 1024 px photo's sizes, in each inference precision the CPU offers: the median
times, their ratio, and how far apart the two paintings are.

    .venv/bin/python scripts/measure_fused_floats.py [--store ../shared] [--runs 30]
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from interleaved import compare, medians, photo_feeds

from stylize.engine.openvino import OpenVINOEngine

MODELS = {
    "float16": "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite",
    "dynamic": "style_transfer_quantized_dynamic.tflite",
}
SIZES = ((384, 384), (480, 640), (768, 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path(__file__).resolve().parents[2] / "shared", help="a folder holding models/ and photos/ (default ../shared)")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    for height, width, feeds in photo_feeds(args.store, SIZES):
        for name, file in MODELS.items():
            for precision in OpenVINOEngine().precisions():
                pair = {fuse: OpenVINOEngine(threads=2, fuse_norms=fuse).load(args.store / "models" / file, precision=precision) for fuse in ("quantized", "always")}
                outputs = {fuse: m.run(feeds)[0] for fuse, m in pair.items()}
                times = medians({fuse: functools.partial(m.run, feeds) for fuse, m in pair.items()}, args.runs)
                before, after = times["quantized"], times["always"]
                apart = compare(outputs["quantized"], outputs["always"])
                print(f"{width}x{height}  {name:8s} {precision}: {pair['always'].norms_fused} fused, as read {before * 1e3:6.2f} -> fused {after * 1e3:6.2f} ms ({after / before:.3f}x), {apart}")


if __name__ == "__main__":
    main()
