"""Inference precision: bfloat16 is offered only where the CPU has it, and where it is used it
paints what float32 paints, within the floor the default was chosen by."""

from __future__ import annotations

import numpy as np
import pytest

from stylize import InputError, ModelError, Settings, StylizeOptions, Stylizer
from stylize.engine import BF16, F32
from stylize.engine.openvino import OpenVINOEngine, offered_precisions
from stylize.imaging import decode_image, psnr
from stylize.pipeline import BF16_FLOOR_DB, DEFAULT_BF16

AVX2_EPYC = ("FP32", "FP16", "INT8", "BIN", "EXPORT_IMPORT")  # what OpenVINO reports on an AVX2-only EPYC
AVX512_BF16 = ("FP32", "BF16", "FP16", "INT8", "BIN", "EXPORT_IMPORT")  # …and on one with AVX-512 BF16


def test_bf16_is_offered_only_where_the_cpu_reports_it():
    assert offered_precisions(AVX2_EPYC) == (F32,)
    assert offered_precisions(AVX512_BF16) == (F32, BF16)
    assert OpenVINOEngine().precisions()[0] == F32, "float32 is always offered, first"


@pytest.mark.parametrize("capabilities", [AVX2_EPYC, AVX512_BF16], ids=["without-bf16", "with-bf16"])
def test_the_default_and_the_refusal_follow_the_engines_own_check(shared, tmp_path, capabilities):
    """The capability list is faked through the engine's own check (what OpenVINO would report),
    both ways: the stylizer's default precision and what it refuses follow it."""
    stylizer = Stylizer.from_settings(Settings(model_store=str(shared), cache_dir=tmp_path, runtime="openvino"))
    engine = stylizer.engine_for("openvino")
    engine._capabilities[:] = [capabilities]
    has_bf16 = "BF16" in capabilities
    assert stylizer.precisions("openvino") == ((F32, BF16) if has_bf16 else (F32,))
    assert stylizer.precision_for(StylizeOptions()) == (BF16 if has_bf16 and DEFAULT_BF16 else F32)
    assert stylizer.precision_for(StylizeOptions(precision=F32)) == F32
    assert stylizer.precisions("litert") == (F32,)
    if not has_bf16:
        with pytest.raises(InputError, match="cannot compute in bf16"):
            stylizer.stylize(np.zeros((64, 64, 3), np.uint8), "style19", StylizeOptions(precision=BF16, mask="full"))
        with pytest.raises(ModelError, match="cannot compute in bf16"):
            engine.load(shared / "models" / "selfie_segmentation.tflite", precision=BF16)


def test_bf16_is_refused_where_it_cannot_run():
    with pytest.raises(InputError, match="LiteRT computes in float32 only"):
        StylizeOptions(runtime="litert", precision=BF16)
    with pytest.raises(InputError, match="not an inference precision"):
        StylizeOptions(precision="fp8")
    with pytest.raises(InputError, match="precision"):
        StylizeOptions(precision=16)


BOUNDS_DB = {"fp16": 40.0, "dynamic": 38.0}  # bfloat16 against float32, the float models (scripts/measure_precision.py: 43.1 and 40.1 worst)


@pytest.fixture(scope="module")
def bf16_paintings(stylizer, shared):
    """(transfer, photo) → {precision: Result}, each sample photo at a non-square 640-px size. Only
    on a CPU with bfloat16 (skipped elsewhere: nothing to compare)."""
    if BF16 not in stylizer.precisions("openvino"):
        pytest.skip("this CPU has no bfloat16 arithmetic (OpenVINO does not report BF16)")
    photos = {name: decode_image((shared / "photos" / name).read_bytes()) for name in ("boy.jpg", "man_in_suit.jpg", "yoga_balcony.jpg")}
    return {
        (transfer, name): {
            p: stylizer.stylize(rgb, "style19", StylizeOptions(transfer=transfer, runtime="openvino", precision=p, mask="full", max_side=640)) for p in (F32, BF16)
        }
        for transfer in ("fp16", "dynamic", "int8")
        for name, rgb in photos.items()
    }


def test_bf16_paints_close_to_f32_for_the_float_models(bf16_paintings):
    for (transfer, name), painted in bf16_paintings.items():
        assert painted[BF16].precision == BF16 and painted[F32].precision == F32
        if transfer in BOUNDS_DB:
            assert not np.array_equal(painted[BF16].image, painted[F32].image), "the bfloat16 build is a build of its own"
            assert psnr(painted[BF16].image, painted[F32].image) >= BOUNDS_DB[transfer], (transfer, name)


def test_the_default_precision_follows_its_rule(bf16_paintings):
    """bfloat16 is the default only if every transfer model's bfloat16 painting is within the
    floor of its float32 one on every sample photo."""
    worst = min(psnr(painted[BF16].image, painted[F32].image) for painted in bf16_paintings.values())
    assert (worst >= BF16_FLOOR_DB) == DEFAULT_BF16, f"worst {worst:.1f} dB against a floor of {BF16_FLOOR_DB} dB"
