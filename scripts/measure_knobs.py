"""Which of OpenVINO's graph rewrites pay on this CPU: the transfer networks built by the engine as
it is and by engines with one rewrite turned off each (the instance normalisations fused, the
few-channel ones on rows, the thin convolutions over their phases, the fold into the strided
convolution, the moved layout transposes), run interleaved in one process (A, B, A, B …) on a
sample photo at 384² and at the webcam's and the 1024 px photo's sizes: each one's median time as
a ratio of the engine as it is (above 1: the rewrite pays), and how far its output is.

    .venv/bin/python scripts/measure_knobs.py [--store ../shared] [--runs 20] [--only "no fold" …]
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from interleaved import compare, medians, photo_feeds

from stylize.engine.openvino import OpenVINOEngine

MODELS = {
    "int8": "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite",
    "float16": "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite",
}
SIZES = ((384, 384), (480, 640), (768, 1024))
ENGINES = {
    "as it is": {},
    "norms unfused": {"fuse_norms": "never"},
    "no rows": {"narrow": 0},
    "no phases": {"thin": 0, "fold": 0},
    "no fold": {"fold": 0},
    "ends unmoved": {"edges": False},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path(__file__).resolve().parents[2] / "shared", help="a folder holding models/ and photos/ (default ../shared)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", action="append", choices=list(ENGINES)[1:], help="measure only this rewrite turned off (repeat for several)")
    args = parser.parse_args()
    engines = {label: knobs for label, knobs in ENGINES.items() if label == "as it is" or not args.only or label in args.only}
    print("CPU:", ", ".join(OpenVINOEngine().capabilities()))
    for height, width, feeds in photo_feeds(args.store, SIZES):
        for name, file in MODELS.items():
            models = {label: OpenVINOEngine(threads=2, **knobs).load(args.store / "models" / file) for label, knobs in engines.items()}
            outputs = {label: model.run(feeds)[0] for label, model in models.items()}
            times = medians({label: functools.partial(model.run, feeds) for label, model in models.items()}, args.runs)
            base = times["as it is"]
            print(f"{width}x{height}  {name:8s} f32: as it is {base * 1e3:6.2f} ms")
            for label in list(engines)[1:]:
                print(f"    {label:14s} {times[label] / base:.3f}x  outputs {compare(outputs['as it is'], outputs[label])}")


if __name__ == "__main__":
    main()
