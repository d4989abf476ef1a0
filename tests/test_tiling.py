"""Painting in tiles (``tiling.py`` over ``engine/stages.py``): the tiles cover the picture once,
a tiled painting is the same picture as the whole network's, with no seam, at any size and shape;
the whole picture's statistics are computed as the file computes them."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from PIL import Image

from stylize import StylizeOptions
from stylize.engine.base import Quantized
from stylize.engine.stages import Norm, channel_histograms, norm_moments
from stylize.imaging import from_unit_float, psnr, to_unit_float
from stylize.tiling import MARGIN, crop_side, paint_tiled, spans, stage_margin, tile_plan


@pytest.mark.parametrize("align", [1, 4])
def test_tiles_cover_every_pixel_once_with_margins_inside_one_crop_size(align):
    for length, crop, margin in itertools.product(range(4, 3000, 52 if align == 1 else 4 * 13), (128, 256, 500, 512), (8, 16)):
        length -= length % align
        found = spans(length, crop, margin, align)
        assert found[0].start == 0 and found[-1].end == length
        assert all(a.end == b.start for a, b in zip(found, found[1:], strict=False)), "cores tile the axis without gaps or overlaps"
        if length <= crop:
            assert found == [found[0]] and (found[0].crop_start, found[0].crop_end) == (0, length)
            continue
        sizes = {s.crop_end - s.crop_start for s in found}
        assert len(sizes) == 1 and sizes.pop() <= crop, "one crop shape: one build per stage"
        for s in found:
            assert 0 <= s.crop_start <= s.start < s.end <= s.crop_end <= length
            assert s.crop_start == 0 or s.start - s.crop_start >= margin
            assert s.crop_end == length or s.crop_end - s.end >= margin
            assert s.start % align == 0 and s.crop_start % align == 0


def test_quantized_statistics_by_histogram_equal_the_same_arithmetic_on_every_pixel():
    """The 8-bit path (256 values a channel) and the float path on the same values agree exactly."""
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=(1, 301, 203, 5), dtype=np.int8)
    x[..., 2] = 127  # a saturated channel
    norm = Norm("x", "mean", "variance", Quantized(np.int8, 0.03, -10), Quantized(np.int8, 0.011, 3), Quantized(np.int8, 0.05, -128))
    mean, variance = norm_moments(x, norm)
    real = (x.astype(np.float32) + 10) * np.float32(0.03)
    mean_f, variance_f = norm_moments(real, norm)
    assert mean.shape == variance.shape == (1, 1, 1, 5)
    np.testing.assert_allclose(mean, mean_f, rtol=0, atol=1e-6)
    np.testing.assert_allclose(variance, variance_f, rtol=1e-6, atol=1e-7)
    plain = Norm("x", "mean", "variance", None, None, None)
    mean_p, variance_p = norm_moments(real, plain)
    np.testing.assert_allclose(mean_p.ravel(), real.astype(np.float64).mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(variance_p.ravel(), real.astype(np.float64).var(axis=(0, 1, 2)), rtol=1e-5, atol=1e-7)


def test_channel_histograms_count_every_value_of_every_channel():
    """Counted two channels at a time as 16-bit numbers: the same counts as one channel at a time,
    for int8 and uint8, odd and even channel counts, rows past a whole number of chunks."""
    rng = np.random.default_rng(1)
    for dtype, channels in ((np.int8, 1), (np.int8, 2), (np.int8, 3), (np.uint8, 8), (np.uint8, 5), (np.int8, 32)):
        info = np.iinfo(dtype)
        x = rng.integers(info.min, int(info.max) + 1, size=(1, 133, 71, channels), dtype=dtype)
        x[0, :40, :, 0] = info.min  # the extremes, many times over
        x[0, -3:, :, -1] = info.max
        counts = channel_histograms(x)
        expected = np.stack([np.bincount(x[..., c].ravel().astype(np.int64) - int(info.min), minlength=256) for c in range(channels)])
        assert counts.shape == (channels, 256)
        np.testing.assert_array_equal(counts, expected, err_msg=f"{dtype.__name__}, {channels} channels")


def picture(shared, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.open(shared / "photos" / "boy.jpg").convert("RGB").resize((width, height), Image.LANCZOS))


@pytest.fixture(scope="module")
def vector(stylizer):
    return stylizer.vectors.vector(stylizer.style("style19"))


@pytest.mark.parametrize("engine", ["openvino", "litert"])
@pytest.mark.parametrize("transfer", ["int8", "fp16"])
def test_any_tile_size_paints_the_same_picture(stylizer, shared, vector, engine, transfer):
    """A picture painted in many small tiles (odd shape: 1000×604) is exactly the picture painted
    in one tile a stage — the tiles' cores are where their margins cannot reach."""
    plan, models = stylizer.stage_models(stylizer.manifest.get("transfer", transfer), engine)
    rgb = picture(shared, 1000, 604)
    whole = paint_tiled(models, plan, rgb, vector, 4096)
    assert tile_plan(plan, 1000, 604, 4096).most == 1
    tiled = paint_tiled(models, plan, rgb, vector, 256)
    assert tile_plan(plan, 1000, 604, 256).most >= 6
    assert tiled.shape == whole.shape == (604, 1000, 3) and tiled.dtype == np.uint8
    assert np.array_equal(tiled, whole)


@pytest.mark.parametrize("transfer", ["int8", "fp16"])
def test_each_stage_reaches_as_far_as_its_convolutions(stylizer, transfer):
    """The margins come from the graph: the first stage's 9×9, two strided 3×3s and a 3×3 at a
    quarter of the resolution reach 4 + (1+1) + (1+1)·2 + 1·4 = 14 pixels; each residual stage's
    3×3 one; the upsamplings one input pixel and half a 3×3; the last 9×9 after its upsampling
    4 + 1; the closing sigmoid none. A stage whose reach is not known keeps the old 16."""
    plan, _ = stylizer.stage_models(stylizer.manifest.get("transfer", transfer), "openvino")
    assert [stage.reach for stage in plan.stages] == [14, *[1] * 9, 2, 2, 5, 0]
    assert [stage_margin(stage) for stage in plan.stages][:2] == [15, 2]
    assert stage_margin(dataclasses.replace(plan.stages[1], reach=None)) == MARGIN == 16


def seam_ratio(tiled: np.ndarray, whole: np.ndarray, borders_x: list[int], borders_y: list[int], band: int = 4) -> float:
    """Mean error within ``band`` pixels of the tile borders over the mean error elsewhere."""
    error = np.abs(tiled.astype(np.float64) - whole.astype(np.float64)).mean(axis=2)
    near = np.zeros(error.shape, dtype=bool)
    for x in borders_x:
        near[:, max(0, x - band) : x + band] = True
    for y in borders_y:
        near[max(0, y - band) : y + band] = True
    return float(error[near].mean() / max(error[~near].mean(), 1e-9))


@pytest.mark.parametrize(
    "engine,size", [("openvino", (2048, 1536)), ("litert", (1024, 768))], ids=["openvino-2048×1536", "litert-1024×768"]
)
@pytest.mark.parametrize("transfer", ["int8", "fp16"])
def test_tiled_and_whole_paintings_agree_without_seams(stylizer, shared, vector, engine, size, transfer):
    """The product's whole painting and its tiled one paint the same picture, and no tile border
    is worse than the rest. The float16 network, and LiteRT's int8 one (the file's own arithmetic
    in both), to far more than anyone sees. OpenVINO's int8 network normalises in float in both
    (``norms.py``), which makes two int8 paintings of one picture as far apart as any difference
    in float arithmetic does: one activation rounded the other way in the first stage (OpenVINO
    compiles the whole network and the stage differently) moves a few more at every residual
    block after it, and the pictures end 25-35 dB apart (README: tiles) — while each is 16-28 dB
    from the float network. There the tiled painting must be as faithful to the float network
    (float16 on OpenVINO in f32) as the whole one."""
    asset = stylizer.manifest.get("transfer", transfer)
    plan, models = stylizer.stage_models(asset, engine)
    width, height = size
    rgb = picture(shared, width, height)
    whole = painted_whole(stylizer.model(asset, engine), rgb, vector)
    tile_side = 512
    tiled = paint_tiled(models, plan, rgb, vector, tile_side)
    last = plan.stages[-1]
    xs, ys = (spans(n, crop_side(last, tile_side), align=1) for n in (width, height))
    assert len(xs) * len(ys) >= 6
    agreement = psnr(tiled, whole)
    print(f"{engine} {transfer} {agreement:.1f} dB")
    if engine == "openvino" and transfer == "int8":
        reference = painted_whole(stylizer.model(stylizer.manifest.get("transfer", "fp16"), "openvino"), rgb, vector)
        assert psnr(tiled, reference) >= psnr(whole, reference) - 0.5, (psnr(tiled, reference), psnr(whole, reference))
        assert agreement >= 24, agreement
    else:
        assert agreement >= 55, agreement
    assert seam_ratio(tiled, whole, [s.start for s in xs[1:]], [s.start for s in ys[1:]]) <= 1.5


def painted_whole(model, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
    return from_unit_float(model.run({model.inputs[0].name: to_unit_float(rgb)[None], model.inputs[1].name: vector})[0][0])


def test_a_12_megapixel_photo_is_painted_at_its_own_size_in_tiles(stylizer, shared):
    rgb = picture(shared, 4000, 3000)
    result = stylizer.stylize(rgb, "style19", StylizeOptions(mask="full", max_side=None, runtime="openvino"))
    assert result.image.shape == (3000, 4000, 3) and result.paint_size == (4000, 3000) and result.tiles > 1
    at_cap = stylizer.stylize(rgb, "style19", StylizeOptions(mask="full", max_side=2048, runtime="openvino"))
    assert at_cap.image.shape == (1536, 2048, 3) and at_cap.tiles == 0, "2048 px is painted whole"


@pytest.mark.parametrize("size", [(10000, 12), (12, 4000), (2051, 1543)], ids=["10000×12", "12×4000", "2051×1543"])
def test_extreme_and_odd_shapes_are_painted_at_their_size(stylizer, size, monkeypatch):
    monkeypatch.setattr(stylizer, "tile_above", 1024)
    width, height = size
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    result = stylizer.stylize(rgb, "style19", StylizeOptions(mask="full", max_side=None, runtime="openvino"))
    assert result.image.shape == (height, width, 3) and result.tiles >= 1
    assert result.image.std() > 5, "a painting, not a blank"
