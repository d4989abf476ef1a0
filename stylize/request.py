"""One painting, step by step: the arguments checked, the photo decoded, the request planned
(``plan.py``), admitted by its memory cost (``admission.py``), the person found beside the painting
(or after it, for a picture painted in tiles), the style vectors mixed and blended, the picture
painted (``transfer.py``; twice with a person's own style), the photo's colours kept, a video frame
steadied, and the parts composited into the ``Result``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Executor, wait
from contextlib import contextmanager
from typing import Protocol

import numpy as np

from . import person
from .admission import MemoryGate, Waiting, paint_cost
from .catalogue import Catalogue
from .colors import keep_colors
from .engine import Engine
from .errors import InputError
from .faces import Face
from .imaging import composite, photo_pixels
from .manifest import Asset, Manifest
from .memory import give_back
from .options import StylizeOptions
from .plan import PaintPlan
from .result import Result
from .stream import VideoStream
from .styles import Style
from .tiling import TileProgress
from .transfer import TransferNet


class Stylizer(Protocol):
    """What a request needs of the façade (``pipeline.Stylizer``): its catalogue, plan, models,
    memory gate and mask workers."""

    manifest: Manifest
    catalogue: Catalogue
    gate: MemoryGate
    mask_workers: Executor

    def assets(self, role: str) -> tuple[Asset, ...]: ...
    def style(self, name: str) -> Style: ...
    def plan(self, options: StylizeOptions, width: int, height: int, style: str | Style | None = None, video: bool = False) -> PaintPlan: ...
    def transfer_net(self, options: StylizeOptions, tiled: bool) -> TransferNet: ...
    def blended_vector(self, rgb: np.ndarray, style: Style, strength: float, mix_with: Style | None = None, mix: float = 0.0) -> np.ndarray: ...
    def person_mask(self, rgb: np.ndarray, options: StylizeOptions, stream: VideoStream | None = None) -> tuple[np.ndarray, list[Face]]: ...
    def engine_for(self, name: str | None) -> Engine: ...
    def precision_for(self, options: StylizeOptions) -> str: ...

Masks = tuple[np.ndarray | None, np.ndarray | None, list[Face], float | None]  # keep, person weight, faces, ms (None: no mask)
NO_MASK: Masks = (None, None, [], None)


class Request:
    """``run()`` paints ``content`` in ``style`` as ``options`` ask, on ``stylizer``'s models."""

    def __init__(
        self,
        stylizer: Stylizer,
        content: bytes | np.ndarray,
        style: str | Style,
        options: StylizeOptions | None,
        stream: VideoStream | None = None,
        progress: TileProgress | None = None,
        waiting: Waiting | None = None,
    ):
        options = options if options is not None else StylizeOptions()
        if not isinstance(options, StylizeOptions):
            raise InputError(f"The options are a {type(options).__name__}; pass a StylizeOptions.")
        if not isinstance(style, str | Style):
            raise InputError(f"The style is a {type(style).__name__}; pass a gallery name or a Style.")
        # every name is checked before any work: an unknown one is refused even where it is unused
        for role, name in (("transfer", options.transfer), ("segment", options.segmenter)):
            _check_available(stylizer, role, name, needed=role == "transfer" or options.mask != "full")
        self.stylizer, self.content, self.options, self.stream = stylizer, content, options, stream
        self.progress, self.waiting = progress, waiting
        self.style, self.mix_with, self.person_style = (_style_of(stylizer, s) for s in (style, options.mix_with, options.person_style))
        self.timings: dict[str, float] = {}

    def run(self) -> Result:
        started = time.perf_counter()
        with self.timed("decode"):
            rgb = photo_pixels(self.content, self.options.max_side)
        plan = self.stylizer.plan(self.options, rgb.shape[1], rgb.shape[0], self.style, video=self.stream is not None)
        with self.admitted(rgb, plan):
            painted, person_painted, masks = self.paint(rgb, plan)
            image, keep = self.finish(rgb, painted, person_painted, masks)
            del painted, person_painted
            if plan.tiled:  # its tile buffers, freed, back to the system before the next painting is admitted
                give_back()
        options = self.options
        return Result(
            image,
            rgb,
            keep,
            options,
            title(self.style, self.mix_with, options.mix),
            self.timings,
            self.stylizer.engine_for(options.runtime).name,
            plan.paint,
            None if self.person_style is None else self.person_style.title,
            masks[2],
            precision=self.stylizer.precision_for(options),
            tiles=plan.tiles,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
        )

    def paint(self, rgb: np.ndarray, plan: PaintPlan) -> tuple[np.ndarray, np.ndarray | None, Masks]:
        """(the painting, the person's painting or None, the masks). The person is found on
        another thread while the picture is painted (both mostly run outside the GIL: NumPy,
        Pillow and the runtimes release it) — except for a picture painted in tiles, whose mask's
        full-size planes would add to the painting's memory."""
        options, stylizer = self.options, self.stylizer
        masking = stylizer.mask_workers.submit(self.masks, rgb) if plan.mask_alongside else None
        try:
            with self.timed("predict"):
                vector = stylizer.blended_vector(rgb, self.style, options.strength, self.mix_with, options.mix)
                person_vector = None if self.person_style is None else stylizer.blended_vector(rgb, self.person_style, options.strength)
            net = stylizer.transfer_net(options, plan.tiled)
            with self.timed("transfer"):
                painted = net.paint(rgb, vector, plan, self.progress)
            person_painted = None
            if person_vector is not None:
                with self.timed("transfer (person's style)"):
                    person_painted = net.paint(rgb, person_vector, plan, self.progress)
        except BaseException:
            if masking is not None:
                wait([masking])  # no work of this request outlives it
            raise
        if masking is not None:
            masks = masking.result()
        elif options.mask != "full":  # a picture painted in tiles: its person found after it
            masks = self.masks(rgb)
        else:
            masks = NO_MASK
        if masks[3] is not None:
            self.timings["segment"] = masks[3]
        return painted, person_painted, masks

    def finish(self, rgb: np.ndarray, painted: np.ndarray, person_painted: np.ndarray | None, masks: Masks) -> tuple[np.ndarray, np.ndarray | None]:
        """(the picture, how much of the photo each pixel keeps): the photo's colours kept, the
        person's painting laid in, a video frame steadied, the photo composited back."""
        keep, person_weight = masks[0], masks[1]
        if self.options.keep_colors:
            with self.timed("colours"):
                painted = keep_colors(painted, rgb)
                if person_painted is not None:
                    person_painted = keep_colors(person_painted, rgb)
        if person_painted is not None:
            with self.timed("composite"):
                painted = composite(person_painted, painted, person_weight)
        if self.stream is not None:
            with self.timed("steady"):
                painted, keep = self.stream.steadier.update(rgb, painted, keep)
        with self.timed("composite"):
            image = painted if keep is None else composite(rgb, painted, keep)
        return image, keep

    def masks(self, rgb: np.ndarray) -> Masks:
        """(keep, person_weight, faces, ms): how much of the photo each pixel keeps (or, with a
        person's style, how much of the person's painting), with the feathered edge."""
        started = time.perf_counter()
        found, faces = self.stylizer.person_mask(rgb, self.options, self.stream)
        keep, person_weight = person.keep_weights(found, faces, self.options, self.person_style is not None)
        return keep, person_weight, faces, (time.perf_counter() - started) * 1000.0

    @contextmanager
    def admitted(self, rgb: np.ndarray, plan: PaintPlan) -> Iterator[None]:
        """Hold this painting's share of the memory budget while it runs. A live video's frames
        are small and cannot wait: they are not queued."""
        if self.stream is not None:
            yield
            return
        cost = paint_cost(rgb.shape[0] * rgb.shape[1], plan.paint[0] * plan.paint[1], self.stylizer.engine_for(self.options.runtime).name, plan.tiled)
        started = time.perf_counter()
        with self.stylizer.gate.admitted(cost, self.waiting):
            queued = (time.perf_counter() - started) * 1000.0
            if queued >= 1.0:
                self.timings["queued"] = queued
            yield

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0  # a stage run twice counts both


def _check_available(stylizer: Stylizer, role: str, name: str, needed: bool) -> None:
    """An unknown name is refused; a known one the store could not give, where it is needed."""
    asset = stylizer.manifest.get(role, name)
    if needed and not stylizer.catalogue.available(role, name):
        have = ", ".join(a.name for a in stylizer.assets(role)) or "none"
        why = stylizer.catalogue.unavailable.get(asset.key, "not published")
        raise InputError(f"The {role} model {asset.name} is not in this store ({why}); choose one of: {have}.")


def _style_of(stylizer: Stylizer, style: str | Style | None) -> Style | None:
    return stylizer.style(style) if isinstance(style, str) else style


def title(style: Style, mix_with: Style | None, mix: float) -> str:
    """What the result is painted in, as a person reads it."""
    if mix_with is None or mix == 0.0:
        return style.title
    if mix == 1.0:
        return mix_with.title
    return f"{style.title} {round(100 * (1 - mix))} % + {mix_with.title} {round(100 * mix)} %"
