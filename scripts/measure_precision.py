"""Per transfer model on OpenVINO: the painting in bfloat16 against the same model in float32, both
against the float reference, and their speed — at a webcam frame's size (384×288) and a photo's
(1024 on the long side), on the three sample photos. The default inference precision
(``pipeline.DEFAULT_BF16``) is chosen from this table by the rule it prints: bfloat16 where the CPU
has it, if every transfer model stays within the floor of its own float32 painting on every sample.
Prints the table; asserts nothing.

    .venv/bin/python scripts/measure_precision.py [--store ../shared] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylize import Settings, StylizeOptions, Stylizer  # noqa: E402
from stylize.engine import BF16, F32  # noqa: E402
from stylize.imaging import decode_image, psnr  # noqa: E402
from stylize.pipeline import BF16_FLOOR_DB as FLOOR_DB  # noqa: E402

SIZES = {"384": 384, "1024": 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT.parent / "shared"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    stylizer = Stylizer.from_settings(replace(Settings.from_env(), model_store=args.store, runtime="openvino"))
    stylizer.prepare()
    engine = stylizer.engine_for("openvino")
    print(f"CPU as OpenVINO reports it: {', '.join(engine.capabilities())}; precisions offered: {', '.join(engine.precisions())}")
    if BF16 not in engine.precisions():
        print("No bfloat16 on this CPU: every model computes in float32, and there is nothing to choose.")
        return
    photos = {a.name: decode_image(stylizer.store.fetch(a).read_bytes()) for a in stylizer.assets("photo")}
    style = "style19"
    reference = {
        (photo, size): stylizer.stylize(rgb, style, StylizeOptions(transfer="fp16", runtime="litert", mask="full", max_side=side)).image
        for photo, rgb in photos.items()
        for size, side in SIZES.items()
    }
    print(f"{'model':<12}{'size':>6}{'bf16 vs f32 dB (worst)':>24}{'f32 vs ref dB':>15}{'bf16 vs ref dB':>16}{'f32 ms':>9}{'bf16 ms':>9}{'bf16/f32':>10}")
    worst_overall = float("inf")
    for asset in stylizer.assets("transfer"):
        for size, side in SIZES.items():
            options = {p: StylizeOptions(transfer=asset.name, runtime="openvino", mask="full", max_side=side, precision=p) for p in (F32, BF16)}
            images = {(p, photo): stylizer.stylize(rgb, style, options[p]).image for p in (F32, BF16) for photo, rgb in photos.items()}
            against = [psnr(images[(BF16, photo)], images[(F32, photo)]) for photo in photos]
            to_ref = {p: statistics.median(psnr(images[(p, photo)], reference[(photo, size)]) for photo in photos) for p in (F32, BF16)}
            times = {F32: [], BF16: []}
            rgb = photos["boy"]
            for _ in range(args.runs):  # interleaved: a noisy neighbour slows both alike
                for p in (F32, BF16):
                    started = time.perf_counter()
                    stylizer.stylize(rgb, style, options[p])
                    times[p].append((time.perf_counter() - started) * 1000.0)
            medians = {p: statistics.median(t) for p, t in times.items()}
            worst_overall = min(worst_overall, min(against))
            print(
                f"{asset.name:<12}{size:>6}{min(against):>24.1f}{to_ref[F32]:>15.1f}{to_ref[BF16]:>16.1f}"
                f"{medians[F32]:>9.1f}{medians[BF16]:>9.1f}{medians[BF16] / medians[F32]:>9.2f}×"
            )
    verdict = "holds: bfloat16 by default" if worst_overall >= FLOOR_DB else "fails: float32 by default"
    print(f"rule: every model's bfloat16 painting ≥ {FLOOR_DB:.0f} dB from its float32 one on every sample photo — worst {worst_overall:.1f} dB, {verdict}")


if __name__ == "__main__":
    main()
