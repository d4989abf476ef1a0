"""Every name a visitor reads for a model variant, a segmenter, a runtime or a painting mode."""

from __future__ import annotations

from stylize import Stylizer
from stylize.engine import ENGINE_TITLES, F32, PRECISION_TITLES

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp"]
MASK_LABELS = {"full": "Whole picture", "background": "Background only (keep the person)", "foreground": "Person only"}
VARIANT_LABELS = {
    "int8": "int8",
    "fp16": "float16",
    "dynamic": "dynamic-range int8",
    # made by python -m stylize convert, shown when the store has them
    "fp32": "float32 (rebuilt)",
    "dynamic-aeq": "dynamic-range int8 (ours)",
    "fp16-aeq": "float16 (ours)",
    "int8-full": "full-integer int8 (ours)",
}
PRECISION_LABELS = {"int8": "int8", "fp16": "float16", "dynamic": "int8 weights", "fp32": "float32", "int16x8": "int16 × int8"}
SEGMENTER_LABELS = {
    "selfie": "MediaPipe selfie",
    "selfie-landscape": "MediaPipe selfie, landscape (video)",
    "deeplabv3": "DeepLabV3",
    "deeplabv3-gpu": "DeepLabV3, GPU build",
    "segm-lite": "Meet segm_lite",
}

def runtime_key(engine: str, precision: str) -> str:
    """The Runtime choice's value: the engine, and the arithmetic where it is not float32."""
    return engine if precision == F32 else f"{engine}-{precision}"


def runtime_title(key: str) -> str:
    engine, _, precision = key.partition("-")
    return ENGINE_TITLES[engine] + (f" · {PRECISION_TITLES[precision]}" if precision else "")


def runtime_choices(stylizer: Stylizer) -> dict[str, tuple[str, str]]:
    """Runtime choice → (engine, inference precision): each engine in each precision it offers on
    this machine (bfloat16 on OpenVINO only where the CPU has it)."""
    return {runtime_key(engine, precision): (engine, precision) for engine in ENGINE_TITLES for precision in stylizer.precisions(engine)}
