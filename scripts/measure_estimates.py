"""Fit the page's time estimates (``stylize/estimate.py``) on this machine, and say how far off
they are once a visitor has one result.

Paints the sample photo at the sizes a visitor chooses — the sample as it is, 1024 px, a photo
painted whole near the runtime's limit, a 12 MP photo in tiles, at 1024 px and with coarse
strokes — with the page's default options (int8 on OpenVINO, background mask), each a few times,
the sizes interleaved so that the machine's drift falls on all of them alike. It fits
``CostModel``'s fixed part and rates to the medians (least squares on the relative error), prints
them, and then, for every case taken as a visitor's first result, the error of the estimate for
every other case after ``CostModel.learned`` — the page's rule is within ±30 %.

    .venv/bin/python scripts/measure_estimates.py [--from ../shared] [--rounds 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylize import Settings, StylizeOptions, Stylizer  # noqa: E402
from stylize.estimate import CostModel  # noqa: E402
from stylize.imaging import decode_size, jpeg_bytes, resize  # noqa: E402

# (name, photo size, options): what a visitor can ask for
CASES = [
    ("sample 640×426", (640, 426), StylizeOptions()),
    ("1536×1024 → 1024", (1536, 1024), StylizeOptions(max_side=1024)),
    ("2048×1365 whole", (2048, 1365), StylizeOptions(max_side=None)),
    ("12 MP → 1024", (4000, 3000), StylizeOptions(max_side=1024)),
    ("12 MP tiled", (4000, 3000), StylizeOptions(max_side=None)),
    ("12 MP coarse strokes", (4000, 3000), StylizeOptions(max_side=None, paint_side=384)),
]


def measure(stylizer: Stylizer, photo: np.ndarray, rounds: int) -> list[tuple[str, tuple[int, int], object, float]]:
    data = {size: jpeg_bytes(resize(photo, *size), quality=92) for _, size, _ in CASES}
    results, times = {}, {name: [] for name, _, _ in CASES}
    for name, size, options in CASES:  # warm-up: every build compiled before anything is timed
        results[name] = stylizer.stylize(data[size], "style19", options)
    for _ in range(rounds):
        for name, size, options in CASES:
            result = stylizer.stylize(data[size], "style19", options)
            times[name].append(result.total_ms)
            results[name] = result
    # the photo's size as the painting decodes it (a JPEG at a reduced scale for a smaller result)
    return [(name, decode_size(data[size], options.max_side), results[name], statistics.median(times[name])) for name, size, options in CASES]


def fit(rows) -> CostModel:
    """The model's five numbers by least squares on the relative error (every case counts alike)."""
    base = CostModel(fixed_ms=1.0, whole_ms_per_mp=0.0, tiled_ms_per_mp=0.0, result_ms_per_mp=0.0, photo_ms_per_mp=0.0)
    features, target = [], []
    for _, size, result, ms in rows:
        height, width = result.image.shape[:2]
        paint = result.paint_size[0] * result.paint_size[1] / 1e6
        tiled = result.tiles > 0
        features.append([1.0, size[0] * size[1] / 1e6, 0.0 if tiled else paint, paint if tiled else 0.0, width * height / 1e6])
        target.append(ms)
    a, b = np.array(features), np.array(target)
    weights = 1.0 / b
    solution, *_ = np.linalg.lstsq(a * weights[:, None], b * weights, rcond=None)
    fixed, photo, whole, tiled, result_rate = (max(0.0, float(v)) for v in solution)
    return dataclasses.replace(base, fixed_ms=fixed, photo_ms_per_mp=photo, whole_ms_per_mp=whole, tiled_ms_per_mp=tiled, result_ms_per_mp=result_rate)


def errors(model: CostModel, rows) -> list[tuple[str, str, float]]:
    """(first result, estimated case, error in %) for every ordered pair of cases."""
    found = []
    for first, first_size, first_result, first_ms in rows:
        learned = model.learned(first_size, dataclasses.replace(first_result, elapsed_ms=first_ms, timings_ms={}))
        for name, size, result, ms in rows:
            if name == first:
                continue
            height, width = result.image.shape[:2]
            estimate = 1000.0 * learned.seconds_at(size, result.paint_size, (width, height), result.tiles > 0)
            found.append((first, name, 100.0 * (estimate - ms) / ms))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", default=str(ROOT.parent / "shared"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("STYLIZE_MODEL_STORE", args.source)
    stylizer = Stylizer.from_settings(Settings.from_env())
    photo = np.asarray(Image.open(Path(args.source) / "photos" / "man_in_suit.jpg").convert("RGB"))
    rows = measure(stylizer, photo, args.rounds)
    print(f"{'case':<22} {'painted':>10} {'tiles':>5} {'median ms':>10}")
    for name, _, result, ms in rows:
        print(f"{name:<22} {result.paint_size[0]:>5}×{result.paint_size[1]:<4} {result.tiles:>5} {ms:>10.0f}")
    for label, model in (("shipped", CostModel()), ("fitted here", fit(rows))):
        found = errors(model, rows)
        worst = max(found, key=lambda f: abs(f[2]))
        print(
            f"\n{label}: fixed {model.fixed_ms:.0f} ms, photo {model.photo_ms_per_mp:.0f} ms/MP, whole {model.whole_ms_per_mp:.0f} ms/MP, "
            f"tiled {model.tiled_ms_per_mp:.0f} ms/MP, result {model.result_ms_per_mp:.0f} ms/MP"
        )
        print(f"  estimate after one result: {sum(abs(e) <= 30 for *_, e in found)} of {len(found)} within ±30 %; worst {worst[2]:+.0f} % ({worst[1]} after {worst[0]})")
        for first in dict.fromkeys(f[0] for f in found):
            print(f"  after {first:<22} " + "  ".join(f"{e:+4.0f}%" for f0, _, e in found if f0 == first))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
