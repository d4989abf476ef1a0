"""The picture in the README's *Tiles* section: a sample photo at 12 MP (4000×3000) painted at its
own size in tiles, beside the same photo painted at OpenVINO's whole-picture limit (2048×1536)
and scaled up — a 1:1 crop of the face. Prints the time and tile count of each; asserts nothing.

    .venv/bin/python scripts/tile_pictures.py [--store ../shared] [--out docs/screenshots/tiles-12mp-crop.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylize import Settings, StylizeOptions, Stylizer  # noqa: E402
from stylize.imaging import decode_image, resize  # noqa: E402

CROP = (1700, 700, 2300, 1100)  # the eyes of boy.jpg scaled to 4000×3000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT.parent / "shared"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "tiles-12mp-crop.png")
    args = parser.parse_args()
    stylizer = Stylizer.from_settings(Settings(model_store=args.store, runtime="openvino"))
    photo = resize(decode_image((Path(args.store) / "photos" / "boy.jpg").read_bytes()), 4000, 3000)
    options = StylizeOptions(mask="full", max_side=None, runtime="openvino")
    crops = []
    for tile_side in (stylizer.tile_side, 0):
        stylizer.tile_side = tile_side
        result = stylizer.stylize(photo, "style19", options)
        print(f"tile side {tile_side}: painted at {result.paint_size[0]}×{result.paint_size[1]} in {result.tiles} tiles, {result.total_ms / 1000:.1f} s")
        crops.append(result.image[CROP[1] : CROP[3], CROP[0] : CROP[2]])
    gap = np.full((crops[0].shape[0], 10, 3), 255, dtype=np.uint8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([crops[0], gap, crops[1]], axis=1)).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
