"""What a request returns: the painted picture, what it was painted from and how, and the time
each stage took."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .engine import F32
from .faces import Face
from .imaging import png_bytes
from .options import StylizeOptions

STAGES = ("decode", "queued", "segment", "predict", "transfer", "transfer (person's style)", "colours", "steady", "composite")
BASE_STAGES = ("decode", "segment", "predict", "transfer", "composite")  # every request has these; the others when asked for


@dataclass
class Result:
    image: np.ndarray
    original: np.ndarray
    keep_weight: np.ndarray | None
    options: StylizeOptions
    style: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    runtime: str = ""  # the runtime that painted it ("openvino", "litert")
    paint_size: tuple[int, int] = (0, 0)  # (width, height) the transfer network painted at
    person_style: str | None = None  # the title of the style the person was painted in, if one was given
    faces: list[Face] = field(default_factory=list)  # the faces found (with a mask and keep_faces)
    precision: str = F32  # the arithmetic the transfer network computed in
    tiles: int = 0  # the tiles the picture was painted in (0: whole)
    elapsed_ms: float | None = None  # the request's own time; the mask is found while the picture is painted, so less than the stages' sum

    @property
    def stages(self) -> list[tuple[str, float]]:
        """(stage, ms) of the stages this request ran, in pipeline order."""
        return [(stage, self.timings_ms[stage]) for stage in STAGES if stage in self.timings_ms]

    @property
    def total_ms(self) -> float:
        """The request's time from start to finish (its stages' sum where it was not measured)."""
        return self.elapsed_ms if self.elapsed_ms is not None else sum(self.timings_ms.values())

    @cached_property
    def png(self) -> bytes:
        """The result as a PNG file, encoded once."""
        return png_bytes(self.image)
