"""What a request asks for: ``StylizeOptions``, checked when made, so a wrong type or value never
gets as far as a model."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .engine import BF16, check_precision, check_runtime
from .engine.cpu import cpu_has_vnni
from .errors import InputError
from .names import MASK_MODES, MaskMode, Precision, Runtime, one_of
from .styles import Style

# The default transfer model is the fastest faithful one on this CPU: int8 where the CPU has an int8
# dot-product instruction (VNNI); elsewhere OpenVINO computes int8 exactly only in f32
# (engine/openvino.py), slower than the float16 model and less faithful (README: the runtimes).
DEFAULT_TRANSFER = "int8" if cpu_has_vnni() else "fp16"


@dataclass(frozen=True)
class StylizeOptions:
    transfer: str = DEFAULT_TRANSFER
    segmenter: str = "selfie"  # chosen by scripts/measure_masks.py: the thinnest wall band, every face, fast
    mask: MaskMode = "background"
    strength: float = 1.0
    max_side: int | None = 1024  # the result's longer side; None: the photo's own size
    paint_side: int | None = None  # the stroke size: the longer side the network paints at; None: the result's
    feather: float | None = None  # edge softness in pixels; None: 0.6 % of the longer side
    runtime: Runtime | None = None  # "openvino" or "litert"; None: the stylizer's default (STYLIZE_ENGINE)
    precision: Precision | None = None  # the transfer network's arithmetic: "f32", or "bf16" on OpenVINO where the CPU has it; None: this machine's default (DEFAULT_BF16)
    letterbox: bool = False  # the old way: paint a 384×384 square (the photo letterboxed into it), scaled back
    keep_colors: bool = False  # the painting's brightness and texture, the photo's colours (see colors.py)
    mix_with: str | Style | None = None  # a second style (gallery name or Style) mixed into the first…
    mix: float = 0.5  # …by this much: 0 is the first style alone, 1 the second alone
    person_style: str | Style | None = None  # the person painted in this style, the background in the main one (needs a mask)
    keep_faces: bool = True  # with a mask, every face a face detector finds is kept: part of the person in background mode, left unpainted in person-only mode

    def __post_init__(self) -> None:
        """Checked at the boundary: a wrong type or value never gets as far as a model."""
        for name in ("transfer", "segmenter", "mask"):
            if not isinstance(getattr(self, name), str):
                raise InputError(f"The option {name} is {getattr(self, name)!r}; give a name, such as {getattr(StylizeOptions, name)!r}.")
        one_of(self.mask, MASK_MODES, "a mask mode", "mask")
        if not _is_number(self.strength) or not 0.0 <= self.strength <= 1.0:
            raise InputError(f"Style strength {self.strength!r} is not a number from 0 to 1; give a value between 0 and 1.")
        for name, side in (("output size limit", self.max_side), ("paint size", self.paint_side)):
            if side is None:
                continue
            if not isinstance(side, int) or isinstance(side, bool):
                raise InputError(f"The {name} {side!r} is not a whole number of pixels; give one such as 1024, or None.")
            if side < 64:
                raise InputError(f"The {name} {side} is too small; give at least 64 pixels.")
            if side > 20_000:
                raise InputError(f"The {name} {side} is larger than any photo we accept; give at most 20000 pixels, or None.")
        if self.feather is not None and (not _is_number(self.feather) or not 0 <= self.feather <= 500):
            raise InputError(f"The edge softness {self.feather!r} is not a number of pixels from 0 to 500; give one, or None for the default.")
        for name in ("letterbox", "keep_colors", "keep_faces"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"The option {name} is {getattr(self, name)!r}; give True or False.")
        if not _is_number(self.mix) or not 0.0 <= self.mix <= 1.0:
            raise InputError(f"The mix {self.mix!r} is not a number from 0 to 1; give 0 for the first style alone, 1 for the second, or between.")
        for name, what in (("mix_with", "style to mix in"), ("person_style", "person's style")):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str | Style):
                raise InputError(f"The {what} is a {type(value).__name__}; give a gallery name (such as 'style19') or a Style.")
        if self.person_style is not None and self.mask == "full":
            raise InputError("A person's style needs the person found: choose background-only or person-only painting, or drop the person's style.")
        if self.runtime is not None:
            if not isinstance(self.runtime, str):
                raise InputError(f"The option runtime is {self.runtime!r}; give 'openvino', 'litert' or None.")
            check_runtime(self.runtime)
        if self.precision is not None:
            if not isinstance(self.precision, str):
                raise InputError(f"The option precision is {self.precision!r}; give 'f32', 'bf16' or None.")
            check_precision(self.precision)
            if self.precision == BF16 and self.runtime == "litert":
                raise InputError("LiteRT computes in float32 only; choose OpenVINO for bfloat16, or precision f32.")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
