"""Painting a picture of any size in tiles, normalised by the whole picture's statistics.

The transfer network is run stage by stage (``engine/stages.py``): each stage over the whole
picture, tile by tile, then — where it ends at an instance normalisation — that activation's mean
and variance over the whole picture, which every tile of the later stages is fed (rounded as the
file rounds them, or unrounded for a stage that normalises in float: ``Model.float_inputs``). A stage's tiles
are cut with margins past its reach (a few convolutions): where a tile meets the picture's edge
the network pads it as it pads the picture, elsewhere the margin is painted and dropped, so every
tile's core is what the whole picture's painting has there — no seams, no blending. Every tile of
a stage has one shape, so each stage is built for one shape per tile size, whatever the picture.

Memory: the picture's activations between two stages are held whole (at a quarter of the
resolution for most stages, 8 and then 3 channels at full resolution for the last two); the
runtimes only ever see one tile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from .engine import Model
from .engine.stages import Stage, StagePlan, norm_moments
from .imaging import from_unit_float, to_unit_float

MARGIN = 16  # pixels at a stage's own resolution past a pixel, for a stage whose reach is not known (at most a 9×9 and a few 3×3)
TILE_WIDTH = 8  # values a pixel of a full-resolution stage holds (8 channels): a tile_side crop of it is the reference
ALIGN = 4  # the picture's tiles start on multiples of 4: the network halves it twice

TileProgress = Callable[[int, int], None]  # (tiles painted, tiles in all)


@dataclass(frozen=True)
class Span:
    """One tile along one axis: the core it paints [start, end) and the crop it is run on."""

    start: int
    end: int
    crop_start: int
    crop_end: int


def spans(length: int, crop: int, margin: int = MARGIN, align: int = 1) -> list[Span]:
    """Tiles covering ``length`` pixels with crops of ``crop`` pixels (all the same size, or one
    crop of the whole length when it is shorter): each core at least ``margin`` from its crop's
    edges except where the crop meets the picture's; every boundary a multiple of ``align``."""
    if length <= crop:
        return [Span(0, length, 0, length)]
    margin = -(-margin // align) * align
    crop = crop // align * align
    if crop <= 2 * margin:
        raise ValueError(f"a tile of {crop} pixels leaves nothing inside margins of {margin}")
    count = max(2, math.ceil((length - 2 * margin) / (crop - 2 * margin)))
    while True:
        bounds = [0, *(round(i * length / count / align) * align for i in range(1, count)), length]
        found = []
        for start, end in zip(bounds, bounds[1:], strict=False):
            crop_start = min(max(start - margin, 0), length - crop)
            crop_start -= crop_start % align
            crop_end = crop_start + crop
            if (start - crop_start < margin and crop_start > 0) or (crop_end - end < margin and crop_end < length) or start < crop_start or end > crop_end:
                break
            found.append(Span(start, end, crop_start, crop_end))
        else:
            return found
        count += 1


@dataclass(frozen=True)
class TilePlan:
    """How many tiles each stage is painted in, for a picture and a tile size."""

    tiles: tuple[int, ...]  # per stage

    @property
    def total(self) -> int:
        return sum(self.tiles)

    @property
    def most(self) -> int:
        """Tiles of the stage painted in the most: the picture's tile count as a person reads it."""
        return max(self.tiles)


def crop_side(stage: Stage, tile_side: int) -> int:
    """The side of a stage's crops: ``tile_side`` for a stage that holds ``TILE_WIDTH`` values a
    pixel, smaller for a wider one, so that every stage's working memory is about the same."""
    side = int(tile_side * math.sqrt(TILE_WIDTH / max(TILE_WIDTH, stage.width)))
    return max(side // ALIGN * ALIGN, 8 * MARGIN)


def stage_margin(stage: Stage) -> int:
    """How far a stage's crops reach past the core they paint: its convolutions' reach (read from
    its graph) and a pixel to spare. The residual blocks reach one pixel, so their tiles overlap by
    two, not sixteen: 12 of them cover a 12 MP picture's quarter resolution instead of 20."""
    return MARGIN if stage.reach is None else stage.reach + 1


def stage_spans(stage: Stage, width: int, height: int, tile_side: int) -> tuple[list[Span], list[Span]]:
    """(rows, columns) of the tiles a stage is run in, for a picture of ``width``×``height``."""
    w, h = int(width * stage.resolution), int(height * stage.resolution)
    side, align = crop_side(stage, tile_side), _align(stage.resolution, stage.scale)
    return spans(h, side, stage_margin(stage), align), spans(w, side, stage_margin(stage), align)


def tile_plan(plan: StagePlan, width: int, height: int, tile_side: int) -> TilePlan:
    counts = []
    for stage in plan.stages:
        ys, xs = stage_spans(stage, width, height, tile_side)
        counts.append(len(ys) * len(xs))
    return TilePlan(tuple(counts))


def crop_shapes(plan: StagePlan, width: int, height: int, tile_side: int) -> list[set[tuple[int, int]]]:
    """Per stage, the (height, width) of the crops its tiles are run at for a picture of that
    size: what to build each stage's model for before the first picture (``Stylizer.warm_up``)."""
    shapes = []
    for stage in plan.stages:
        ys, xs = stage_spans(stage, width, height, tile_side)
        shapes.append({(y.crop_end - y.crop_start, x.crop_end - x.crop_start) for y in ys for x in xs})
    return shapes


def paint_tiled(
    models: Sequence[Model], plan: StagePlan, rgb: np.ndarray, vector: np.ndarray, tile_side: int, progress: TileProgress | None = None
) -> np.ndarray:
    """The network's painting of ``rgb`` (height × width × 3 uint8, sides multiples of 4) in
    ``vector``'s style, height × width × 3 uint8 (each tile's [0, 1] floats rounded as it comes:
    a 48 MP picture's float copy alone would be 0.6 GB). Each stage runs in crops of at most
    ``crop_side(stage, tile_side)`` pixels a side of its own resolution."""
    height, width = rgb.shape[:2]
    if height % ALIGN or width % ALIGN:
        raise ValueError(f"a tiled picture's sides must be multiples of {ALIGN}, not {width}×{height}")
    last_use = {}
    for stage in plan.stages:
        for name in stage.spatial:
            last_use[name] = stage.index
    arrays: dict[str, np.ndarray] = {plan.image: rgb[None]}
    channels: dict[str, np.ndarray] = {plan.vector: vector}
    done, total = 0, tile_plan(plan, width, height, tile_side).total
    for stage, model in zip(plan.stages, models, strict=True):
        source = arrays[stage.spatial[0]]
        ys, xs = stage_spans(stage, width, height, tile_side)
        fixed = {name: channels[name] for name in stage.channels}
        outputs: list[np.ndarray] | None = None
        for y in ys:
            for x in xs:
                feeds = {name: _crop(arrays[name], y, x) for name in stage.spatial}
                last = stage.outputs == (plan.output,)
                # Between stages 8-bit activations pass raw; the picture itself comes out as real
                # values (a file with int8 output gives its integers otherwise).
                painted = model.run({**feeds, **fixed}, raw=not last)
                if last:
                    painted = [from_unit_float(painted[0])]
                if outputs is None:
                    outputs = [np.empty((1, int(source.shape[1] * stage.scale), int(source.shape[2] * stage.scale), p.shape[-1]), dtype=p.dtype) for p in painted]
                for whole, part in zip(outputs, painted, strict=True):
                    whole[:, _scaled(y.start, stage.scale) : _scaled(y.end, stage.scale), _scaled(x.start, stage.scale) : _scaled(x.end, stage.scale)] = part[
                        :,
                        _scaled(y.start - y.crop_start, stage.scale) : _scaled(y.end - y.crop_start, stage.scale),
                        _scaled(x.start - x.crop_start, stage.scale) : _scaled(x.end - x.crop_start, stage.scale),
                    ]
                done += 1
                if progress is not None:
                    progress(done, total)
        model.release()
        for name in [n for n, last in last_use.items() if last == stage.index]:
            arrays.pop(name, None)
        arrays.update(zip(stage.outputs, outputs or [], strict=True))
        if stage.norm is not None:
            norm = stage.norm
            if any(norm.mean in m.float_inputs for st, m in zip(plan.stages, models, strict=True) if norm.mean in st.channels):
                norm = replace(norm, mean_q=None, squared_q=None)  # taken unrounded, as a fused normalisation computes them
            channels[norm.mean], channels[norm.variance] = norm_moments(arrays[norm.x], norm)
    return arrays[plan.output][0]


def _crop(array: np.ndarray, y: Span, x: Span) -> np.ndarray:
    part = array[:, y.crop_start : y.crop_end, x.crop_start : x.crop_end]
    return to_unit_float(part) if part.dtype == np.uint8 else part


def _scaled(value: int, scale: Fraction) -> int:
    return int(value * scale)


def _align(resolution: Fraction, scale: Fraction) -> int:
    """What a stage's tile boundaries must be multiples of: a stage that shrinks the picture (by
    4, the network's first) keeps its strided convolutions on the same grid as the whole picture's."""
    return max(1, (1 / scale).numerator) if scale < 1 else 1
