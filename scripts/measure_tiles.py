"""How faithful OpenVINO's tiled int8 painting is, against its whole one: the README's *Tiles*
table. For each sample photo and style, painted at one size (2048 px on the long side unless
``--side``), prints PSNR against the float network (the float16 file in f32) of the whole int8
painting as the product makes it (normalisations fused in float), of the tiled one as the
product makes it (statistics fed in float), and of the tiled one with the file's own 8-bit
statistics (the stages read without the rewrite: what the tiles computed before); and how far
the tiled painting is from the whole one. With ``--picture`` it writes the four paintings of
one photo and style (``--picture-of``) side by side at a quarter of their size. Asserts nothing.

    .venv/bin/python scripts/measure_tiles.py [--store ../shared] [--side 2048] [--styles style19 style3]
        [--picture docs/screenshots/tiles-int8-colour.jpg] [--picture-of man_in_suit.jpg:style3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylize import Settings, Stylizer  # noqa: E402
from stylize.engine.openvino import OpenVINOEngine  # noqa: E402
from stylize.engine.stages import STAGE  # noqa: E402
from stylize.imaging import decode_image, from_unit_float, psnr, to_unit_float  # noqa: E402
from stylize.tiling import paint_tiled  # noqa: E402

PHOTOS = ("boy.jpg", "man_in_suit.jpg", "yoga_balcony.jpg")
TILE_SIDE = 512


def whole(model, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
    return from_unit_float(model.run({model.inputs[0].name: to_unit_float(rgb)[None], model.inputs[1].name: vector})[0][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT.parent / "shared"))
    parser.add_argument("--side", type=int, default=2048, help="the long side the photos are painted at (multiple of 4)")
    parser.add_argument("--styles", nargs="+", default=["style19", "style3"])
    parser.add_argument("--picture", type=Path, help="write one photo and style's four paintings here")
    parser.add_argument("--picture-of", default="man_in_suit.jpg:style3", help="photo:style of the picture")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="measure-tiles-") as cache:
        stylizer = Stylizer.from_settings(Settings(model_store=args.store, cache_dir=Path(cache)))
        int8, fp16 = (stylizer.manifest.get("transfer", name) for name in ("int8", "fp16"))
        plan, tiled_models = stylizer.stage_models(int8, "openvino")
        whole_model, reference = stylizer.model(int8, "openvino"), stylizer.model(fp16, "openvino")
        unfused = OpenVINOEngine(threads=2, fuse_norms="never")
        path = stylizer.store.fetch(int8)
        before_models = [unfused.load(path, graph=f"{STAGE}{i}") for i in range(len(plan.stages))]
        print(f"int8 on OpenVINO at {args.side} px, {TILE_SIDE} px tiles; PSNR (dB) against the float network")
        print(f"{'photo':18} {'style':8} {'whole':>7} {'tiled':>7} {'before':>7} {'tiled vs whole':>15}")
        for photo in PHOTOS:
            rgb = decode_image((Path(args.store) / "photos" / photo).read_bytes())
            h, w = rgb.shape[:2]
            scale = args.side / max(w, h)
            size = (round(w * scale / 4) * 4, round(h * scale / 4) * 4)
            rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))
            for style in args.styles:
                vector = stylizer.vectors.vector(stylizer.style(style))
                ref = whole(reference, rgb, vector)
                paintings = [whole(whole_model, rgb, vector), paint_tiled(tiled_models, plan, rgb, vector, TILE_SIDE), paint_tiled(before_models, plan, rgb, vector, TILE_SIDE)]
                scores = [psnr(p, ref) for p in paintings]
                print(f"{photo:18} {style:8} {scores[0]:7.2f} {scores[1]:7.2f} {scores[2]:7.2f} {psnr(paintings[1], paintings[0]):15.2f}", flush=True)
                if args.picture is not None and args.picture_of == f"{photo}:{style}":
                    quarter = [np.asarray(Image.fromarray(p).resize((size[0] // 4, size[1] // 4), Image.LANCZOS)) for p in (ref, *paintings)]
                    Image.fromarray(np.concatenate(quarter, axis=1)).save(args.picture, quality=88)
                    print(f"wrote {args.picture}: the float network, whole, tiled, tiled before")
        stylizer.close()


if __name__ == "__main__":
    main()
