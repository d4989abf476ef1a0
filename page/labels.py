"""Every name a visitor reads for a model variant, a segmenter, a runtime or a painting mode: the
manifest's labels and the library's titles (``stylize.names``), never a second copy."""

from __future__ import annotations

from stylize import StylizeError, Stylizer
from stylize.names import F32, FORMAT_TITLES, MASK_TITLES, PRECISION_TITLES, RUNTIME_TITLES

from .session import shared_stylizer

__all__ = ["FORMAT_TITLES", "IMAGE_TYPES", "MASK_TITLES", "model_label", "runtime_choices", "runtime_key", "runtime_title"]

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp"]


def model_label(role: str, name: str) -> str:
    """The name a visitor reads for a model: its manifest label (the one source the CLI and the
    comparison read too)."""
    try:
        return shared_stylizer().manifest.get(role, name).short_title
    except StylizeError:
        return name


def runtime_key(runtime: str, precision: str) -> str:
    """The Runtime choice's value: the runtime, and the arithmetic where it is not float32."""
    return runtime if precision == F32 else f"{runtime}-{precision}"


def runtime_title(key: str) -> str:
    runtime, _, precision = key.partition("-")
    return RUNTIME_TITLES[runtime] + (f" · {PRECISION_TITLES[precision]}" if precision else "")


def runtime_choices(stylizer: Stylizer) -> dict[str, tuple[str, str]]:
    """Runtime choice → (runtime, inference precision): each runtime in each precision it offers on
    this machine (bfloat16 on OpenVINO only where the CPU has it)."""
    return {runtime_key(runtime, precision): (runtime, precision) for runtime in RUNTIME_TITLES for precision in stylizer.precisions(runtime)}
