"""Every name a visitor reads for a model variant, a segmenter, a runtime or a painting mode: the
manifest's labels and the library's titles (``stylize.names``), never a second copy."""

from __future__ import annotations

import functools

from stylize import Settings, StylizeError, Stylizer
from stylize.manifest import Manifest, load_manifest
from stylize.names import F32, FORMAT_TITLES, MASK_TITLES, PRECISION_TITLES, RUNTIME_TITLES

__all__ = ["FORMAT_TITLES", "IMAGE_TYPES", "MASK_LABELS", "model_label", "runtime_choices", "runtime_key", "runtime_title"]

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp"]
MASK_LABELS = MASK_TITLES


@functools.cache
def _manifest() -> Manifest:
    return load_manifest(Settings.from_env().manifest_path)


def model_label(role: str, name: str) -> str:
    """The name a visitor reads for a model: its manifest label (the one source the CLI and the
    comparison read too)."""
    try:
        return _manifest().get(role, name).short_title
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
