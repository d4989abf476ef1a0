"""Both runtimes on the real model files: the rewritten graphs, any size, agreement, safety."""

from __future__ import annotations

import io
import threading
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from stylize import InputError, Settings, StylizeOptions, Stylizer
from stylize.engine import make_engine
from stylize.engine.resize import TFLiteResizeSizes
from stylize.imaging import decode_image, psnr
from stylize.pipeline import MAX_PAINT_SIDE

TRANSFERS = {
    "int8": "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite",
    "fp16": "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite",
    "dynamic": "style_transfer_quantized_dynamic.tflite",
}


@pytest.fixture(scope="module")
def content(shared):
    """boy.jpg at 384×384 in [0, 1], and a real style vector (Starry Night's, from the predict model)."""
    rgb = decode_image((shared / "photos" / "boy.jpg").read_bytes())
    square = np.asarray(Image.fromarray(rgb).resize((384, 384)), dtype=np.float32)[None] / 255.0
    return square


@pytest.fixture(scope="module")
def vector(stylizer):
    return stylizer.vectors.vector(stylizer.style("Starry Night"))


def feeds(model, image, vector):
    return {t.name: (image if t.shape[-1] == 3 else vector) for t in model.inputs}


@pytest.mark.parametrize("variant", ["int8", "fp16"])
def test_litert_rewrite_reproduces_the_original_at_384(shared, content, vector, variant):
    from ai_edge_litert.interpreter import Interpreter

    original = (shared / "models" / TRANSFERS[variant]).read_bytes()
    sizes = TFLiteResizeSizes(original)
    assert [(s.height, s.width) for s in sizes.sizes] == [(192, 192), (384, 384), (384, 384)]
    # written for 768×1024, then rewritten back for 384×384: the very same bytes again
    wide = sizes.scaled(Fraction(2), Fraction(8, 3))
    assert wide != original
    assert [(s.height, s.width) for s in TFLiteResizeSizes(wide).sizes] == [(384, 512), (768, 1024), (768, 1024)]
    back = TFLiteResizeSizes(wide).scaled(Fraction(1, 2), Fraction(3, 8))
    assert back == original

    def run(data):
        interpreter = Interpreter(model_content=data, num_threads=2)
        interpreter.allocate_tensors()
        for d in interpreter.get_input_details():
            interpreter.set_tensor(d["index"], content if d["shape"][-1] == 3 else vector)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    assert np.array_equal(run(original), run(back))


@pytest.mark.parametrize("variant", ["int8", "fp16", "dynamic"])
def test_openvino_rewrite_reproduces_the_original_at_384(shared, content, vector, variant):
    from dataclasses import replace

    import openvino as ov

    path = shared / "models" / TRANSFERS[variant]
    engine = replace(make_engine("openvino", 2), fuse_norms="never", thin=0, fold=0)  # the resize rewrites alone (the norms' own: test_norms.py; the phases': test_spread.py)
    rewritten = engine.load(path)
    untouched = ov.Core().compile_model(str(path), "CPU", engine.config)
    expected = untouched({i: (content if i.get_partial_shape()[3].get_length() == 3 else vector) for i in untouched.inputs})[0]
    assert np.array_equal(rewritten.run(feeds(rewritten, content, vector))[0], expected)
    assert rewritten.copies_dropped == 1, "the upsampling by 1 is gone, and the picture is the same"


def interpolation(mode: str, coordinates: str, nearest: str, scale: float, side: int = 6):
    import openvino as ov
    import openvino.opset11 as ops

    x = ops.parameter([1, 2, side, side], np.float32)
    resized = ops.interpolate(
        x, ops.constant(np.array([scale, scale], np.float32)), mode=mode, shape_calculation_mode="scales",
        axes=ops.constant(np.array([2, 3], np.int64)), coordinate_transformation_mode=coordinates, nearest_mode=nearest,
    )
    return ov.Model([ops.result(ops.multiply(resized, ops.constant(np.float32(2))))], [x])


@pytest.mark.parametrize(
    ("mode", "coordinates", "nearest", "scale", "dropped"),
    [
        ("nearest", "asymmetric", "floor", 1.0, True),  # the transfer networks' own
        ("nearest", "half_pixel", "round_prefer_ceil", 1.0, True),
        ("nearest", "tf_half_pixel_for_nn", "floor", 1.0, True),
        ("nearest", "tf_half_pixel_for_nn", "ceil", 1.0, False),  # x + ½ rounded up: a shift by one
        ("nearest", "asymmetric", "floor", 1.1, False),  # 6 pixels stay 6, their coordinates do not
        ("nearest", "asymmetric", "floor", 2.0, False),
        ("linear", "half_pixel", "floor", 1.0, False),
    ],
)
def test_only_a_resize_that_copies_its_input_is_dropped(mode, coordinates, nearest, scale, dropped):
    """``drop_identity_interpolations`` removes a resize only where, by the operation's definition,
    every output pixel is the input pixel at its own place, and the model computes the same
    before and after. (OpenVINO's CPU plugin happens to copy in two of the kept cases as well —
    the definition shifts them — so those are kept on the definition's word.)"""
    import openvino as ov

    from stylize.engine.resize import drop_identity_interpolations

    model = interpolation(mode, coordinates, nearest, scale)
    x = np.random.default_rng(0).standard_normal((1, 2, 6, 6)).astype(np.float32)
    f32 = {"INFERENCE_PRECISION_HINT": "f32"}
    before = ov.Core().compile_model(model, "CPU", f32)(x)[0]
    assert drop_identity_interpolations(model) == int(dropped)
    assert np.array_equal(ov.Core().compile_model(model, "CPU", f32)(x)[0], before)
    if dropped:
        assert np.array_equal(before, 2 * x), "it was a copy"


@pytest.mark.parametrize("engine", ["openvino", "litert"])
@pytest.mark.parametrize("size", [(517, 606), (606, 517), (640, 360), (97, 131)])
def test_any_size_comes_out_exactly_that_size(stylizer, photo_bytes, engine, size):
    width, height = size
    source = Image.open(io.BytesIO(photo_bytes("yoga_balcony.jpg"))).convert("RGB").resize(size)
    buffer = io.BytesIO()
    source.save(buffer, format="PNG")
    result = stylizer.stylize(buffer.getvalue(), "style7", StylizeOptions(mask="full", max_side=None, runtime=engine))
    assert result.image.shape == (height, width, 3)
    assert result.paint_size == size, "painted at the photo's own size, not at 384×384"
    assert result.runtime == engine
    assert psnr(result.image, np.asarray(source)) < 20, "and really painted"


@pytest.mark.parametrize("variant", ["fp16", "dynamic"])
@pytest.mark.parametrize("size", [(384, 384), (768, 1024)])
def test_litert_and_openvino_agree(stylizer, content, vector, variant, size):
    height, width = size
    image = np.asarray(Image.fromarray((content[0] * 255).astype(np.uint8)).resize((width, height)), dtype=np.float32)[None] / 255.0
    asset = stylizer.manifest.get("transfer", variant)
    outputs = [stylizer.model(asset, engine).run(feeds(stylizer.model(asset, engine), image, vector))[0][0] for engine in ("litert", "openvino")]
    assert outputs[0].shape == (height, width, 3)
    as_uint8 = [np.clip(o * 255 + 0.5, 0, 255).astype(np.uint8) for o in outputs]
    assert psnr(*as_uint8) >= (40 if variant == "fp16" else 33)


def test_openvino_int8_is_as_faithful_as_litert_int8(stylizer, photo_bytes):
    """The default engine must not lose fidelity: against the float reference, OpenVINO's int8
    stays within 3 dB of LiteRT's int8 on every sample photo."""
    for photo in ("boy.jpg", "man_in_suit.jpg", "yoga_balcony.jpg"):
        data = photo_bytes(photo)
        reference = stylizer.stylize(data, "style19", StylizeOptions(mask="full", transfer="fp16", runtime="litert")).image
        litert = psnr(stylizer.stylize(data, "style19", StylizeOptions(mask="full", transfer="int8", runtime="litert")).image, reference)
        openvino = psnr(stylizer.stylize(data, "style19", StylizeOptions(mask="full", transfer="int8", runtime="openvino")).image, reference)
        assert 18 < litert < 40 and openvino > litert - 3, (photo, litert, openvino)


def test_unknown_engine_is_one_clear_sentence(shared, tmp_path, stylizer, photo_bytes):
    with pytest.raises(InputError, match=r"^'tensorrt' is not a known inference runtime; use one of: openvino, litert") as err:
        stylizer.stylize(photo_bytes("boy.jpg"), "style1", StylizeOptions(runtime="tensorrt"))
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="not a known inference runtime"):
        Stylizer.from_settings(Settings(model_store=str(shared), cache_dir=tmp_path, runtime="cuda"))


def test_concurrent_callers_on_one_openvino_model_match_sequential(stylizer, content, vector):
    model = stylizer.model(stylizer.manifest.get("transfer", "int8"), "openvino")
    rng = np.random.default_rng(3)
    images = [np.clip(content + rng.normal(0, 0.05, content.shape).astype(np.float32), 0, 1) for _ in range(6)]
    expected = [model.run(feeds(model, image, vector))[0] for image in images]
    got: list = [None] * len(images)

    def work(i):
        for _ in range(3):
            got[i] = model.run(feeds(model, images[i], vector))[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))


@pytest.mark.parametrize("engine", ["openvino", "litert"])
def test_a_webcam_frame_size_is_built_once(stylizer, photo_bytes, engine):
    options = StylizeOptions(max_side=384, runtime=engine)
    stylizer.warm_up(640, 480, options)
    model = stylizer.model(stylizer.manifest.get("transfer", options.transfer), engine)
    builds = model._shapes.builds
    frame = np.asarray(Image.open(io.BytesIO(photo_bytes("boy.jpg"))).convert("RGB").resize((640, 480)))
    for _ in range(5):
        result = stylizer.stylize(frame, "style3", options)
    assert result.paint_size == (384, 288) and result.image.shape == (288, 384, 3)
    assert model._shapes.builds == builds, "no frame rebuilt the model"


def test_paint_side_sets_the_stroke_size(stylizer, photo_bytes):
    photo = photo_bytes("boy.jpg")
    fine = stylizer.stylize(photo, "style19", StylizeOptions(mask="full"))
    coarse = stylizer.stylize(photo, "style19", StylizeOptions(mask="full", paint_side=256))
    assert fine.paint_size == (640, 426) and coarse.paint_size == (256, 170)
    assert coarse.image.shape == fine.image.shape == (426, 640, 3), "the result keeps its size either way"

    def detail(rgb):  # mean gradient: finer strokes, more of it
        grey = rgb.astype(float).mean(axis=2)
        return np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean()

    assert detail(fine.image) > 1.3 * detail(coarse.image)
    letterboxed = stylizer.stylize(photo, "style19", StylizeOptions(mask="full", letterbox=True))
    assert letterboxed.paint_size == (384, 384) and letterboxed.image.shape == (426, 640, 3)


def test_paint_size_is_capped_per_engine_without_tiles_and_not_with_them(stylizer, monkeypatch):
    """Each runtime paints whole up to its cap; beyond it, in tiles at the painting's own size —
    or, with tiling off, at the cap (scaled up after). The dynamic-range file, whose shapes are
    set at run time, cannot be cut into stages, so it stays capped."""
    for engine, cap in MAX_PAINT_SIDE.items():
        options = StylizeOptions(max_side=None, runtime=engine)
        whole = stylizer.plan(options, cap, cap * 3 // 4)
        assert whole.paint == (cap, cap * 3 // 4) and not whole.tiled
        tiled = stylizer.plan(options, 4000, 3000)
        assert tiled.paint == (4000, 3000) and tiled.tiled and tiled.tiles > 1
        assert stylizer.plan(StylizeOptions(max_side=None, runtime=engine, transfer="dynamic"), 4000, 3000).paint == (cap, cap * 3 // 4)
        monkeypatch.setattr(stylizer, "tile_side", 0)
        off = stylizer.plan(options, 4000, 3000)
        assert off.paint == (cap, cap * 3 // 4) and not off.tiled
        monkeypatch.undo()


def test_openvino_honours_threads_and_latency_hint(shared):
    engine = make_engine("openvino", 1)
    model = engine.load(shared / "models" / TRANSFERS["fp16"])
    compiled = next(iter(model._shapes._items.values())).compiled
    assert int(compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    assert str(compiled.get_property("PERFORMANCE_HINT")) in ("LATENCY", "PerformanceMode.LATENCY")
