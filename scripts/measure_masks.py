"""Per segmenter, on pictures made for it (``stylize/mask_quality.py``) and the sample photos: the
faces kept in background mode (by the segmenter alone, and with face detection), the band of old
wall left along a portrait's edge, and the mask's time on both runtimes. The page's and the CLI's
default segmenter is chosen from this table. Prints the table; asserts nothing.

    .venv/bin/python scripts/measure_masks.py [--store ../shared] [--runs 5]
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
from stylize.imaging import decode_image, shrink  # noqa: E402
from stylize.mask_quality import Picture, faces_kept, far_away, group, person_painted, wall_band, wall_portrait  # noqa: E402
from stylize.refine import refined_probability  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT.parent / "shared"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    stylizer = Stylizer.from_settings(replace(Settings.from_env(), model_store=args.store))
    stylizer.prepare()
    photos = {a.name: decode_image(stylizer.store.fetch(a).read_bytes()) for a in stylizer.assets("photo")}
    man = photos["man_in_suit"]
    scene = stylizer.style("style5").pixels  # a painting with nobody in it (every segmenter agrees)
    pictures = [wall_portrait(man), group([photos["man_in_suit"], photos["boy"], photos["yoga_balcony"]]), far_away(man, scene)]
    pictures += [Picture(name, rgb, None) for name, rgb in photos.items()]
    detector = stylizer.face_detector("face-full")
    faces = {p.name: detector.detect(p.rgb) for p in pictures}
    print("faces found (BlazeFace full range, tiled): " + ", ".join(f"{p.name} {len(faces[p.name])}" for p in pictures))
    for asset in stylizer.assets("segment"):
        per_picture = []
        for picture in pictures:
            person, _ = stylizer.person_mask(picture.rgb, StylizeOptions(segmenter=asset.name, keep_faces=False, feather=0))
            per_picture.append(f"{picture.name} " + "/".join(f"{share * 100:.0f}" for share in faces_kept(person.astype("float32"), faces[picture.name])))
        print(f"  {asset.name}: faces kept by the segmenter alone (%): " + ", ".join(per_picture))
    print(f"{'segmenter':<18}{'worst face kept':>17}{'with detector':>15}{'wall band %':>13}{'unrefined':>11}{'person painted %':>18}{'far: scene kept %':>19}{'far: person painted %':>23}{'OpenVINO ms':>13}{'LiteRT ms':>11}{'refine ms':>11}")
    for asset in stylizer.assets("segment"):
        alone, helped = [], []
        band = painted = far_scene = far_person = None
        for picture in pictures:
            for keep_faces, into in ((False, alone), (True, helped)):
                options = StylizeOptions(segmenter=asset.name, keep_faces=keep_faces, feather=0)
                person, _ = stylizer.person_mask(picture.rgb, options)
                into += faces_kept(person.astype("float32"), faces[picture.name])
                if picture.name == "wall portrait" and not keep_faces:
                    band, painted = wall_band(person, picture.truth), person_painted(person, picture.truth)
                if picture.name == "far away" and not keep_faces:
                    far_scene, far_person = wall_band(person, picture.truth), person_painted(person, picture.truth)
        times = {}
        wall = pictures[0].rgb
        for engine in ("openvino", "litert"):
            segmenter = stylizer.segmenter(asset.name, engine)
            segmenter.model_probability(wall)
            samples = []
            for _ in range(args.runs):
                started = time.perf_counter()
                segmenter.model_probability(wall)
                samples.append((time.perf_counter() - started) * 1000)
            times[engine] = statistics.median(samples)
        unrefined = wall_band(stylizer.segmenter(asset.name).person_mask(wall, refine=False), pictures[0].truth)
        low = stylizer.segmenter(asset.name).model_probability(wall)
        refine = []
        for _ in range(args.runs):
            started = time.perf_counter()
            refined_probability(low, shrink(wall, 2048))
            refine.append((time.perf_counter() - started) * 1000)
        print(
            f"{asset.name:<18}{min(alone) * 100:>16.1f}%{min(helped) * 100:>14.1f}%{band:>13.2f}{unrefined:>11.2f}{painted:>18.2f}{far_scene:>19.2f}{far_person:>23.2f}"
            f"{times['openvino']:>13.1f}{times['litert']:>11.1f}{statistics.median(refine):>11.1f}"
        )
    print("worst face kept: the lowest share of any detected face's own region (stylize/faces.py) kept in background mode, over all pictures; "
          "wall band: the share of the wall portrait that is wall yet kept (unrefined: the mask scaled up bilinearly instead); person painted: the share of the person painted over; "
          "far: the same on two small people in a painted scene (scene kept: counted as a person); "
          "ms: the model on the wall portrait (letterbox to its input included), median; refine: the guided filter at the portrait's size.")


if __name__ == "__main__":
    main()
