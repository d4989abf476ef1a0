"""Every transfer build in a converted store, measured the same way: size, median time on both
runtimes at 384² and at 1024×684 (interleaved: every build and runtime takes a turn in each
round), and PSNR against the float32 model on the three sample photos (letterboxed to 384², a
different gallery style each).

    .venv/bin/python -m stylize convert --from ../shared --to build/store
    .venv/bin/python scripts/measure_builds.py build/store [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from stylize.engine import make_engine
from stylize.imaging import center_square, decode_image, from_unit_float, letterbox, psnr, to_unit_float
from stylize.manifest import load_manifest
from stylize.styles import PREDICT_SIDE, VECTOR_SHAPE

RUNTIMES = ("openvino", "litert")
SIZES = ((384, 384), (1024, 684))
STYLES = ("style19", "style3", "style7")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    manifest = load_manifest()
    predict = make_engine("litert", 2).load(args.store / manifest.predict.key)
    vectors = []
    for name in STYLES:
        style = next(a for a in manifest.by_role("style") if a.name == name)
        square = to_unit_float(center_square(decode_image((args.store / style.key).read_bytes()), PREDICT_SIDE))
        vectors.append(predict.run({predict.inputs[0].name: square[None]})[0].reshape(VECTOR_SHAPE))
    photos = [decode_image((args.store / a.key).read_bytes()) for a in manifest.by_role("photo")]
    squares = [to_unit_float(letterbox(rgb, 384)[0])[None] for rgb in photos]
    builds = [a for a in manifest.by_role("transfer") if (args.store / a.key).is_file()]
    models = {(a.name, r): make_engine(r, 2).load(args.store / a.key) for a in builds for r in RUNTIMES}

    def paint(model, image, vector):
        return from_unit_float(model.run({t.name: (image if t.shape[-1] == 3 else vector) for t in model.inputs})[0][0])

    reference = models[("fp32", "litert")] if ("fp32", "litert") in models else models[("fp16", "litert")]
    expected = [paint(reference, image, vector) for image, vector in zip(squares, vectors, strict=True)]
    fidelity = {key: [psnr(paint(m, image, vector), want) for image, vector, want in zip(squares, vectors, expected, strict=True)] for key, m in models.items()}
    feeds = {size: to_unit_float(np.asarray(Image.fromarray(photos[0]).resize(size)))[None] for size in SIZES}
    times: dict[tuple, list[float]] = {}
    for size, image in feeds.items():
        for model in models.values():
            model.build_for_shapes({t.name: (image.shape if t.shape[-1] == 3 else t.shape) for t in model.inputs})
            paint(model, image, vectors[0])  # warm-up at this size
        for _ in range(args.rounds):
            for key, model in models.items():
                start = time.perf_counter()
                model.run({t.name: (image if t.shape[-1] == 3 else vectors[0]) for t in model.inputs})
                times.setdefault((*key, size), []).append(1000 * (time.perf_counter() - start))
    print("| build | size | OpenVINO 384² | OpenVINO 1024×684 | LiteRT 384² | LiteRT 1024×684 | PSNR OpenVINO (3 photos, mean) | PSNR LiteRT (3 photos, mean) |")
    print("|---|---|---|---|---|---|---|---|")
    for a in builds:
        cells = [f"{statistics.median(times[(a.name, r, size)]):.1f} ms" for r in RUNTIMES for size in SIZES]
        scores = [fidelity[(a.name, r)] for r in RUNTIMES]
        shown = ["reference" if models[(a.name, r)] is reference else f"{' / '.join(f'{p:.1f}' for p in s)} ({np.mean(s):.2f})" for r, s in zip(RUNTIMES, scores, strict=True)]
        print(f"| {a.short_title} (`{a.name}`) | {a.bytes / 1e6:.3f} MB | " + " | ".join(cells) + " | " + " | ".join(shown) + " |")


if __name__ == "__main__":
    main()
