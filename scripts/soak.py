"""Soak: thousands of webcam frames and hundreds of photo requests through one pipeline, with the
process's memory sampled, to show that nothing grows. Prints its figures; asserts nothing.

    .venv/bin/python scripts/soak.py [--frames 5000] [--photos 500] [--json soak.json]

Frames go through the webcam's own path (LiveStylizer, 640×480 in, painted at 384); photos are
the sample photos and hostile ones (a 7000×5700 palette PNG of 5 KB, a 16-bit grey PNG, a
truncated JPEG, a 40000×40000 bomb header) with mixed variants, runtimes and sizes. RSS is
sampled every 100 frames and every 25 photos; growth is measured for each workload from the end
of its warm-up (the first 10 % of frames; the first 50 photos, by which every size and variant
has been built once) to its end.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylize import InputError, Settings, StylizeOptions, Stylizer  # noqa: E402
from stylize.imaging import decode_image, resize  # noqa: E402
from stylize.memory import peak_rss_mb, rss_mb  # noqa: E402
from stylize.webcam import WEBCAM_OPTIONS, LiveStylizer  # noqa: E402


def png(image: Image.Image, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **kw)
    return buffer.getvalue()


def hostile_photos(boy: bytes) -> list[tuple[str, bytes]]:
    grey16 = np.asarray(Image.open(io.BytesIO(boy)).convert("L"), dtype=np.uint16) * 257
    bomb = bytearray(png(Image.new("RGB", (8, 8))))
    bomb[16:24] = (40000).to_bytes(4, "big") * 2  # IHDR width and height (checksum now wrong)
    return [
        ("palette 7000×5700 (5 KB)", png(Image.new("P", (7000, 5700)), optimize=True)),
        ("16-bit grey", png(Image.fromarray(grey16))),
        ("truncated JPEG", boy[:4000]),
        ("40000×40000 header", bytes(bomb)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    settings = Settings.from_env()
    if settings.model_store == "public" and (ROOT.parent / "shared" / "models").is_dir():
        settings = Settings(**{**settings.__dict__, "model_store": str(ROOT.parent / "shared")})
    stylizer = Stylizer.from_settings(settings)
    stylizer.prepare()
    names = ["boy.jpg", "man_in_suit.jpg", "yoga_balcony.jpg"]
    photos = {a.key.split("/")[-1]: stylizer.store.fetch(a).read_bytes() for a in stylizer.assets("photo")}
    frames = [resize(decode_image(photos[n]), 640, 480) for n in names]
    rng = np.random.default_rng(0)
    samples: list[dict] = []

    def sample(phase: str, done: int) -> None:
        samples.append({"phase": phase, "done": done, "rss_mb": round(rss_mb(), 1), "seconds": round(time.perf_counter() - started, 1)})

    started = time.perf_counter()
    live = LiveStylizer(stylizer, "style24", WEBCAM_OPTIONS)
    stylizer.warm_up(640, 480, WEBCAM_OPTIONS)
    styles = [f"style{i}" for i in range(26)]
    sample("start", 0)
    for i in range(args.frames):
        frame = frames[(i // 30) % 3]
        noisy = np.clip(frame.astype(np.int16) + rng.integers(-3, 4, frame.shape, dtype=np.int16), 0, 255).astype(np.uint8)
        if i % 250 == 0:  # the visitor changes style now and then, as they do
            live.configure(styles[(i // 250) % 26], WEBCAM_OPTIONS)
        live.paint_newest(noisy, arrived=1 + (i % 3 == 0))
        if (i + 1) % 100 == 0:
            sample("frames", i + 1)
    frame_stats = live.stats()
    frames_seconds = time.perf_counter() - started

    variants = [
        StylizeOptions(),
        StylizeOptions(transfer="fp16", segmenter="segm-lite"),
        StylizeOptions(transfer="dynamic", mask="full", runtime="litert", max_side=640),
        StylizeOptions(transfer="int8", mask="foreground", paint_side=384),
        StylizeOptions(max_side=None),
    ]
    hostile = hostile_photos(photos["boy.jpg"])
    refused = accepted_hostile = 0
    photo_started = time.perf_counter()
    for i in range(args.photos):
        if i % 25 == 12:
            _, data = hostile[(i // 25) % len(hostile)]
        else:
            data = photos[names[i % 3]]
        try:
            stylizer.stylize(data, styles[i % 26], variants[i % len(variants)])
            accepted_hostile += i % 25 == 12
        except InputError:
            refused += 1
        if (i + 1) % 25 == 0:
            sample("photos", i + 1)
    photos_seconds = time.perf_counter() - photo_started

    warm = next(s for s in samples if s["phase"] == "frames" and s["done"] >= max(100, args.frames // 10))
    frames_end = [s for s in samples if s["phase"] == "frames"][-1]
    photo_samples = [s for s in samples if s["phase"] == "photos"]
    photos_warm = photo_samples[min(1, len(photo_samples) - 1)]  # after the first 50: every size and variant built once
    final = samples[-1]
    report = {
        "frames": args.frames,
        "frames_painted": frame_stats.processed,
        "frames_per_second": round(args.frames / frames_seconds, 1),
        "photos": args.photos,
        "photos_per_second": round(args.photos / photos_seconds, 2),
        "hostile_photos_refused": refused,
        "hostile_photos_accepted": accepted_hostile,
        "rss_after_warmup_mb": warm["rss_mb"],
        "rss_final_mb": final["rss_mb"],
        "frames_growth_after_warmup_mb": round(frames_end["rss_mb"] - warm["rss_mb"], 1),
        "photos_rss_after_warmup_mb": photos_warm["rss_mb"],
        "photos_growth_after_warmup_mb": round(final["rss_mb"] - photos_warm["rss_mb"], 1),
        "photos_rss_max_mb": max(s["rss_mb"] for s in photo_samples),
        "peak_rss_mb": round(peak_rss_mb()),
        "samples": samples,
    }
    print(f"{args.frames} webcam frames at {report['frames_per_second']} frames/s, then {args.photos} photo requests "
          f"({refused} hostile refused, {accepted_hostile} hostile accepted and painted) at {report['photos_per_second']} a second")
    print("RSS (MB) every 500 frames / 50 photos:")
    for s in samples:
        if (s["phase"] == "frames" and s["done"] % 500 == 0) or (s["phase"] == "photos" and s["done"] % 50 == 0) or s["phase"] == "start":
            print(f"  {s['phase']:<7}{s['done']:>6}  {s['rss_mb']:>8.1f}  ({s['seconds']:.0f} s)")
    print(
        f"webcam frames: {warm['rss_mb']} MB after warm-up → {frames_end['rss_mb']} MB after the last frame (growth {report['frames_growth_after_warmup_mb']} MB); "
        f"photos: {photos_warm['rss_mb']} MB after the first {photos_warm['done']} (every size and variant built once) → {final['rss_mb']} MB "
        f"(growth {report['photos_growth_after_warmup_mb']} MB, highest sample {report['photos_rss_max_mb']} MB); peak RSS {report['peak_rss_mb']} MB"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
