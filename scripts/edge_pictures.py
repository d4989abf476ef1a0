"""The README's before/after pictures of the person mask: the wall portrait zoomed on the head and
shoulder, and the group, in background mode — before (DeepLabV3, scaled up bilinearly, no face
detection: the pipeline as it was) and after (the default: MediaPipe's selfie segmenter in tiles,
refined by the guided filter, every face kept); and the group in person-only mode, after.

    .venv/bin/python scripts/edge_pictures.py [--store ../shared] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylize import Settings, StylizeOptions, Stylizer  # noqa: E402
from stylize.imaging import composite, decode_image, feather  # noqa: E402
from stylize.mask_quality import group, wall_portrait  # noqa: E402

STYLE = "style19"


def before(stylizer: Stylizer, rgb: np.ndarray, mask: str = "background") -> np.ndarray:
    """Background (or person-only) mode as the pipeline painted it before: DeepLabV3's mask
    scaled up bilinearly, no faces."""
    person = stylizer.segmenter("deeplabv3").person_mask(rgb, refine=False)
    painted = stylizer.stylize(rgb, STYLE, StylizeOptions(mask="full", max_side=None)).image
    return composite(rgb, painted, feather(person if mask == "background" else ~person, 0.006 * max(rgb.shape[:2])))


def labelled(images: list[tuple[str, np.ndarray]], zoom: int = 1) -> Image.Image:
    tiles = [Image.fromarray(image).resize((image.shape[1] * zoom, image.shape[0] * zoom), Image.Resampling.NEAREST) for _, image in images]
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + 8 * (len(tiles) - 1), max(t.height for t in tiles) + 28), "white")
    x = 0
    for (label, _), tile in zip(images, tiles, strict=True):
        sheet.paste(tile, (x, 28))
        ImageDraw.Draw(sheet).text((x + 4, 6), label, fill="black")
        x += tile.width + 8
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT.parent / "shared"))
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "screenshots")
    args = parser.parse_args()
    stylizer = Stylizer.from_settings(replace(Settings.from_env(), model_store=args.store))
    stylizer.prepare()
    photos = {a.name: decode_image(stylizer.store.fetch(a).read_bytes()) for a in stylizer.assets("photo")}
    args.out.mkdir(parents=True, exist_ok=True)

    wall = wall_portrait(photos["man_in_suit"]).rgb
    after = stylizer.stylize(wall, STYLE, StylizeOptions(mask="background", max_side=None)).image
    crop = (slice(40, 300), slice(120, 460))  # the head, the ear and a shoulder
    labelled([("before: DeepLabV3, bilinear", before(stylizer, wall)[crop]), ("after: selfie, guided filter, faces", after[crop])], zoom=2).save(args.out / "edges-wall.png")

    people = group([photos["man_in_suit"], photos["boy"], photos["yoga_balcony"]], height=360).rgb
    after = stylizer.stylize(people, STYLE, StylizeOptions(mask="background", max_side=None)).image
    only = stylizer.stylize(people, STYLE, StylizeOptions(mask="foreground", max_side=None)).image
    labelled([("before (background mode)", before(stylizer, people))]).save(args.out / "edges-group-before.png")
    labelled([("after (background mode)", after)]).save(args.out / "edges-group-after.png")
    labelled([("person only, before", before(stylizer, people, "foreground"))]).save(args.out / "person-only-group-before.png")
    labelled([("person only, after: the people painted, their faces and the rest kept", only)]).save(args.out / "person-only-group.png")
    print(f"wrote edges-wall.png, edges-group-before.png, edges-group-after.png, person-only-group-before.png, person-only-group.png to {args.out}")


if __name__ == "__main__":
    main()
