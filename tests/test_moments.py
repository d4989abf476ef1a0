"""The transfer networks' instance normalisations opened (``engine/moments.py``): their statistics
read out of one run and fed into another give the same picture, and a tile fed the whole
picture's statistics paints what the whole picture paints there — on both runtimes, for every
transfer model, at the file's size and a non-square one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylize.engine import make_engine
from stylize.engine.litert import LiteRTEngine
from stylize.engine.moments import INPUTS, OUTPUTS, count
from stylize.engine.openvino import OpenVINOEngine
from stylize.errors import ModelError
from stylize.imaging import psnr, to_unit_float

TRANSFERS = {
    "int8": "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite",
    "fp16": "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite",
    "dynamic": "style_transfer_quantized_dynamic.tflite",
}
ENGINES = ("litert", "openvino")


def engine_for(name: str):
    """The runtime with the file's normalisations computed as written (OpenVINO otherwise fuses
    an int8 file's into one operation each, which the opened graphs cannot have), and on OpenVINO
    the convolution before the last not folded into the last (``fold.py``): as written, a
    normalisation reads its activation three times, so only the opened graph, which reads it once,
    could be folded — and an int8 network whose arithmetic is laid out otherwise moves as a whole
    (31.7 dB at 384², the fold against none in the opened graph), where these tests compare the
    same arithmetic bit for bit."""
    return LiteRTEngine(threads=2) if name == "litert" else OpenVINOEngine(threads=2, fuse_norms="never", fold=0)


@pytest.fixture(scope="module")
def vector(stylizer):
    return stylizer.vectors.vector(stylizer.style("style19"))


def picture(shared, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.open(shared / "photos" / "boy.jpg").convert("RGB").resize((width, height), Image.LANCZOS))


def paint(model, rgb: np.ndarray, vector: np.ndarray, moments: list[np.ndarray] | None = None) -> list[np.ndarray]:
    feeds = {model.inputs[0].name: to_unit_float(rgb)[None], model.inputs[1].name: vector}
    feeds.update({t.name: m for t, m in zip(model.inputs[2:], moments or [], strict=False)})
    return model.run(feeds)


@pytest.mark.parametrize("transfer", TRANSFERS)
def test_every_normalisation_is_found(shared, transfer):
    assert count((shared / "models" / TRANSFERS[transfer]).read_bytes()) == 13, (
        "Magenta's transfer network has 13 conditional instance norms"
    )


def test_a_network_without_normalisations_is_refused_in_one_sentence(shared):
    with pytest.raises(
        ModelError, match=r"deeplabv3_257_mv_gpu\.tflite cannot be painted in tiles \(the network has no instance normalisation"
    ):
        make_engine("litert", 1).load(shared / "models" / "deeplabv3_257_mv_gpu.tflite", graph=INPUTS)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("transfer", TRANSFERS)
@pytest.mark.parametrize("size", [(384, 384), (640, 424)], ids=["384²", "640×424"])
def test_statistics_read_out_and_fed_back_paint_the_same_picture(shared, vector, engine, transfer, size):
    backend = engine_for(engine)
    path = shared / "models" / TRANSFERS[transfer]
    original, outputs, inputs = backend.load(path), backend.load(path, graph=OUTPUTS), backend.load(path, graph=INPUTS)
    assert len(inputs.inputs) == 2 + 26 and [t.name for t in inputs.inputs[:2]] == [t.name for t in original.inputs]
    rgb = picture(shared, *size)
    reference = paint(original, rgb, vector)[0]
    painted, *stats = paint(outputs, rgb, vector)
    assert len(stats) == 26 and all(s.shape[:3] == (1, 1, 1) for s in stats)
    assert np.array_equal(painted, reference), "adding outputs changes nothing"
    fed = paint(inputs, rgb, vector, stats)[0]
    assert fed.shape == reference.shape
    assert np.abs(fed - reference).max() <= 1e-5, "the statistics fed back are the ones the network computed"
    other = paint(inputs, rgb, vector, [s * 1.5 + 0.1 for s in stats])[0]
    assert np.abs(other - reference).mean() > 0.01, "the statistics fed in are the ones used"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("transfer", ["int8", "fp16"])
def test_a_tile_fed_the_whole_pictures_statistics_paints_what_the_whole_picture_paints(shared, vector, engine, transfer):
    """A 512×512 tile of a 1024×768 picture, fed the whole picture's statistics, paints the
    whole painting's pixels in its interior (64 px from its edges, past the network's reach of
    the tile's mirrored borders); painted with its own statistics, it does not."""
    backend = engine_for(engine)
    path = shared / "models" / TRANSFERS[transfer]
    outputs, inputs, original = backend.load(path, graph=OUTPUTS), backend.load(path, graph=INPUTS), backend.load(path)
    rgb = picture(shared, 1024, 768)
    whole, *stats = paint(outputs, rgb, vector)
    x, y, side, margin = 256, 128, 512, 64
    tile = rgb[y : y + side, x : x + side]
    inner = (slice(margin, side - margin), slice(margin, side - margin))
    expected = (whole[0, y : y + side, x : x + side][inner] * 255).round().astype(np.uint8)
    shared_stats = (paint(inputs, tile, vector, stats)[0][0][inner] * 255).round().astype(np.uint8)
    own_stats = (paint(original, tile, vector)[0][0][inner] * 255).round().astype(np.uint8)
    assert psnr(shared_stats, expected) >= 60
    assert psnr(own_stats, expected) < 35, "a tile's own statistics paint another picture"
