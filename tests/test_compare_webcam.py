"""Variant comparison and the live webcam processor, on real models."""

from __future__ import annotations

import asyncio
import math

import av
import numpy as np

from stylize import StylizeOptions
from stylize.compare import compare_variants
from stylize.imaging import decode_image, psnr
from stylize.stream import VideoStream
from stylize.webcam import LiveStylizer


def test_compare_measures_every_variant_on_every_runtime(stylizer, photo_bytes, manifest):
    photo = photo_bytes("boy.jpg")
    seen = []
    comparison = compare_variants(
        stylizer, photo, "style19", StylizeOptions(mask="background", transfer="int8"), runs=2, progress=lambda done, total, what: seen.append((done, total, what))
    )
    assert all(" on OpenVINO" in what or " on LiteRT" in what for _, _, what in seen) and any(
        what == "Magenta transfer (int8) with the MediaPipe selfie segmenter on OpenVINO" for _, _, what in seen
    ), "progress speaks the manifest's titles, not internal names"
    seen = [(done, total) for done, total, _ in seen]
    segments = ["segment selfie", "segment selfie-landscape", "segment deeplabv3", "segment deeplabv3-gpu", "segment segm-lite"]
    arithmetic = {"f32": "", "bf16": " · bfloat16"}  # each transfer variant in every precision the runtime offers on this CPU
    expected = []
    for engine, title in (("openvino", "OpenVINO"), ("litert", "LiteRT")):
        expected += [f"transfer {m} · {title}{arithmetic[p]}" for m in ("int8", "fp16", "dynamic") for p in stylizer.precisions(engine)]
        expected += [f"{m} · {title}" for m in segments]
    assert [r.label for r in comparison.reports] == expected
    by_label = {r.label: r for r in comparison.reports}
    for report in comparison.reports:
        asset = manifest.get(report.kind, report.name)
        assert report.file_bytes == asset.bytes == (stylizer.store.cached_path(asset)).stat().st_size
        assert report.runs == 2 and report.median_ms > 0 and report.median_total_ms >= report.median_ms
        assert report.load_ms > 0 and report.peak_rss_mb >= 0
        assert report.image.shape == decode_image(photo).shape
    # the reference against itself is exact; the others are measured against it
    assert math.isinf(by_label["transfer fp16 · LiteRT"].psnr_db) and math.isinf(by_label["segment selfie · LiteRT"].psnr_db)
    assert [r.label for r in comparison.reports if r.is_reference] == ["transfer fp16 · LiteRT", "segment selfie · LiteRT"]
    # a segmenter is measured by its mask, not by PSNR against another segmenter
    assert by_label["segment selfie · LiteRT"].mask_agreement == 100.0
    assert by_label["segment selfie · OpenVINO"].mask_agreement > 97, "the rewritten selfie model on OpenVINO gives LiteRT's mask"
    assert by_label["segment deeplabv3 · LiteRT"].mask_agreement == by_label["segment deeplabv3-gpu · LiteRT"].mask_agreement < 100
    assert all(r.faces_kept is not None and 0 <= r.faces_kept <= 100 for r in comparison.reports if r.kind == "segment")
    assert all(r.mask_agreement is None for r in comparison.reports if r.kind == "transfer")
    for engine in ("OpenVINO", "LiteRT"):
        assert 22 <= by_label[f"transfer int8 · {engine}"].psnr_db < 40
        assert by_label[f"transfer dynamic · {engine}"].psnr_db < 60
    assert 40 < by_label["transfer fp16 · OpenVINO"].psnr_db < float("inf"), "the other runtime's float model is close, not identical"
    assert psnr(by_label["transfer int8 · LiteRT"].image, by_label["transfer fp16 · LiteRT"].image) == by_label["transfer int8 · LiteRT"].psnr_db
    # progress counts every run: per runtime, 3 transfer variants × its precisions and 5 segmenters, less one (fp16 + selfie in
    # float32 is both a transfer and a segment candidate); warm-up + 2 runs each
    settings = sum(3 * len(stylizer.precisions(e)) + 4 for e in ("openvino", "litert"))
    assert seen[-1] == (3 * settings, 3 * settings) and [d for d, _ in seen] == list(range(1, 3 * settings + 1))
    rows = comparison.rows()
    reference_row = next(r for r in rows if r["variant"] == "transfer fp16 · LiteRT")
    assert reference_row["psnr_db"] is None and rows[0]["size_mb"] == round(by_label["transfer int8 · OpenVINO"].file_bytes / 1e6, 3)
    assert {r["runtime"] for r in rows} == {"openvino", "litert"}


def test_compare_full_mask_skips_segmenters(stylizer, photo_bytes):
    comparison = compare_variants(stylizer, photo_bytes("boy.jpg"), "style3", StylizeOptions(mask="full"), runs=1, runtimes=["openvino"])
    assert [r.kind for r in comparison.reports] == ["transfer"] * 3 * len(stylizer.precisions("openvino")) and {r.runtime for r in comparison.reports} == {"openvino"}


def frame(rgb: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(rgb, format="rgb24")


def test_webcam_paints_only_the_newest_frame(stylizer, photo_bytes):
    options = StylizeOptions(mask="background", max_side=640)  # frames at their own size: compared with the library bit for bit
    live = LiveStylizer(stylizer, "style24", options, steadiness=0.0)
    boy = decode_image(photo_bytes("boy.jpg"))
    man = decode_image(photo_bytes("man_in_suit.jpg"))[:426, :]
    man = np.pad(man, ((0, 0), (0, 640 - man.shape[1]), (0, 0)))
    stale = [frame(boy)] * 4
    out = asyncio.run(live(stale + [frame(man)]))
    assert len(out) == 1, "one painted frame comes back however many were queued"
    painted = out[0].to_ndarray(format="rgb24")
    expected = stylizer.stylize_for_video(man, "style24", options, VideoStream(0.0)).image
    assert painted.shape == expected.shape and np.array_equal(painted, expected), "the newest frame is the one painted"
    stats = live.stats()
    assert (stats.received, stats.processed, stats.dropped) == (5, 1, 4)
    for _ in range(3):
        asyncio.run(live([frame(boy)]))
    stats = live.stats()
    assert (stats.received, stats.processed, stats.dropped) == (8, 4, 4)
    assert stats.fps > 0 and stats.median_ms > 0 and stats.error is None


def test_webcam_reports_errors_without_stopping(stylizer, photo_bytes):
    live = LiveStylizer(stylizer, "style24", StylizeOptions(mask="full"))
    live.configure("no such style", StylizeOptions(mask="full"))
    rgb = decode_image(photo_bytes("boy.jpg"))
    out = asyncio.run(live([frame(rgb)]))
    assert np.array_equal(out[0].to_ndarray(format="rgb24"), rgb), "the camera keeps running, unpainted"
    assert "no style called" in live.stats().error


def test_webcam_thread_and_page_requests_share_models_safely(stylizer, photo_bytes):
    """The webcam callback thread and page reruns use the same interpreters; each interpreter's
    lock keeps them apart, so every result equals the one made alone."""
    import threading

    options = StylizeOptions(mask="background", max_side=640)
    frame_rgb = decode_image(photo_bytes("boy.jpg"))
    photo = photo_bytes("man_in_suit.jpg")
    expected_frame = stylizer.stylize_for_video(frame_rgb, "style11", options, VideoStream(0.0)).image
    expected_photo = stylizer.stylize(photo, "style20", options).image
    live = LiveStylizer(stylizer, "style11", options, steadiness=0.0)
    frames_out, photos_out = [], []

    def webcam():
        for _ in range(6):
            frames_out.append(asyncio.run(live([frame(frame_rgb)]))[0].to_ndarray(format="rgb24"))

    def page():
        for _ in range(6):
            photos_out.append(stylizer.stylize(photo, "style20", options).image)

    threads = [threading.Thread(target=webcam), threading.Thread(target=page)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(frames_out) == len(photos_out) == 6
    assert all(np.array_equal(f, expected_frame) for f in frames_out)
    assert all(np.array_equal(p, expected_photo) for p in photos_out)


def test_webcam_frames_are_scaled_by_the_video_library(stylizer, photo_bytes):
    """A 640×480 camera frame is scaled to the painting size (384×288) straight from the video
    frame, and painted as the library paints that picture; with the original beside it on request."""
    from PIL import Image

    from stylize.webcam import WEBCAM_OPTIONS

    rgb = np.asarray(Image.fromarray(decode_image(photo_bytes("boy.jpg"))).resize((640, 480)))
    live = LiveStylizer(stylizer, "style24", WEBCAM_OPTIONS)
    painted = asyncio.run(live([frame(rgb)]))[0].to_ndarray(format="rgb24")
    assert painted.shape == (288, 384, 3)
    expected = stylizer.stylize_for_video(rgb, "style24", WEBCAM_OPTIONS, VideoStream(0.0)).image  # scaled by Pillow instead
    assert psnr(painted, expected) > 25
    live.configure("style24", WEBCAM_OPTIONS, beside=True)
    both = asyncio.run(live([frame(rgb)]))[0].to_ndarray(format="rgb24")
    assert both.shape == (288, 768, 3) and np.array_equal(both[:, 384:], painted)
    assert psnr(both[:, :384], np.asarray(Image.fromarray(rgb).resize((384, 288)))) > 30, "the original, beside"
    live.reset()
    assert live.stats().processed == 0


COMPARE_LARGE = """
import json, sys
import numpy as np
from pathlib import Path
from PIL import Image
from stylize import Settings, StylizeOptions, Stylizer
from stylize.compare import compare_variants
from stylize.imaging import jpeg_bytes
from stylize.memory import peak_rss_mb

store, cache, photo = sys.argv[1:4]
stylizer = Stylizer.from_settings(Settings(model_store=store, cache_dir=Path(cache)))
stylizer.prepare()
big = jpeg_bytes(np.asarray(Image.open(photo).convert("RGB").resize((4000, 3000))), 92)
before = peak_rss_mb()
comparison = compare_variants(stylizer, big, "style19", StylizeOptions(mask="background", max_side=None), runs=2)
print(json.dumps({"rows": len(comparison.reports), "sizes": sorted({r.image.shape for r in comparison.reports}), "before": before, "peak": peak_rss_mb()}))
"""


def test_a_comparison_of_a_12_megapixel_photo_at_full_size_is_bounded(shared, stylizer, tmp_path):
    """A visitor who chose Full size for a 12 MP photo and presses Compare: every variant on both
    runtimes is measured at the comparison's size (640 px), one model's settings loaded at a
    time, so the process stays within half a 4 GB task (before: 3.5 GB for the OpenVINO rows
    alone, at 4000×3000)."""
    import json
    import subprocess
    import sys

    from stylize.compare import COMPARE_SIDE

    from .conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-c", COMPARE_LARGE, str(shared), str(tmp_path / "cache"), str(shared / "photos" / "boy.jpg")],
        cwd=ROOT, capture_output=True, encoding="utf-8", timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    rows = sum(3 * len(stylizer.precisions(runtime)) + 5 for runtime in ("openvino", "litert"))  # transfer variants and segmenters
    assert figures["rows"] == rows and figures["sizes"] == [[480, COMPARE_SIDE, 3]], figures
    print(f"peak {figures['peak']:.0f} MB (after preparing: {figures['before']:.0f} MB)")
    assert figures["peak"] <= 2048, figures
