"""A request planned before it is run: ``plan(options, photo size, limits) → PaintPlan``.

Pure arithmetic — no model, no file — so what a request will do (its sizes, whether it is painted
whole or in tiles, which models and styles it needs) can be read and tested before anything runs.
The stylize, warm-up, comparison and bench paths all take their sizes from here.

Sizes: the photo is scaled so that its longer side is at most ``options.max_side`` (``None``: its
own size) — that is the result's size. The transfer network paints at ``options.paint_side`` on
the longer side (``None``: the result's size), its "stroke size". A runtime paints a picture whole
up to ``Limits.whole_side``; a larger painting is made in tiles of ``Limits.tile_side`` that share
the whole picture's statistics (``tiling.py``) when the network can be cut into stages, else it is
painted at ``whole_side`` and scaled up. The network halves the picture twice and doubles it back,
so what it is fed is padded to a multiple of ``SIZE_MULTIPLE``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine.stages import StagePlan
from .imaging import output_size
from .options import StylizeOptions
from .styles import Style
from .tiling import tile_plan

SIZE_MULTIPLE = 4  # the transfer networks halve the picture twice and double it back
PHOTO_FACES, VIDEO_FACES = "face-full", "face-short"  # BlazeFace full range finds small faces; short range is made for a camera at arm's length


@dataclass(frozen=True)
class Limits:
    """What the runtime and the stylizer allow a painting: ``whole_side`` (the longest side a
    runtime paints whole), ``tile_side`` (0: never tile), ``tile_above`` (paintings longer than
    this are tiled; None: ``whole_side``) and ``stages`` (the transfer network cut into stages;
    None: it cannot be, so it is never tiled)."""

    whole_side: int
    tile_side: int = 0
    tile_above: int | None = None
    stages: StagePlan | None = None


@dataclass(frozen=True)
class PaintPlan:
    """What one request will do. Sizes are (width, height)."""

    result: tuple[int, int]  # the picture handed back
    paint: tuple[int, int]  # what the transfer network paints (scaled to ``result`` after)
    padded: tuple[int, int]  # what the transfer network is fed: ``paint`` padded to SIZE_MULTIPLE, or the letterbox's square
    tiles: int  # tiles in the stage with the most (0: painted whole)
    letterbox: bool
    transfer: str  # the transfer model's name
    segmenter: str | None  # the person segmenter's name (None: no mask)
    face_detector: str | None  # the face detector's name (None: faces are not looked for)
    styles: tuple[str, ...]  # gallery styles whose vectors are needed (Styles passed in need none)
    mask_alongside: bool  # the mask is found while the picture is painted (not for tiled paintings: memory)

    @property
    def tiled(self) -> bool:
        return self.tiles > 0


def round_up(side: int, multiple: int = SIZE_MULTIPLE) -> int:
    return -(-side // multiple) * multiple


def paint_size(width: int, height: int, options: StylizeOptions, limits: Limits) -> tuple[tuple[int, int], bool]:
    """((width, height) the network paints a ``width``×``height`` result at, whether in tiles):
    the stroke size asked for, in tiles where it is longer than a runtime paints whole and the
    network can be cut, else at most ``limits.whole_side``."""
    side = min(max(width, height), options.paint_side or max(width, height))
    painted = output_size(width, height, side)
    above = limits.whole_side if limits.tile_above is None else limits.tile_above
    if limits.tile_side > 0 and not options.letterbox and limits.stages is not None and max(painted) > above:
        return painted, True
    return output_size(width, height, min(side, limits.whole_side)), False


def plan(
    options: StylizeOptions, width: int, height: int, limits: Limits, style: str | Style | None = None, letterbox_side: int = 384, video: bool = False
) -> PaintPlan:
    """The plan for painting a ``width``×``height`` photo in ``style`` as ``options`` ask, within
    ``limits`` (``letterbox_side``: the square a letterboxed painting is made at; ``video``: a live
    video's frame, whose faces are looked for with the short-range detector)."""
    result = output_size(width, height, options.max_side)
    paint, tiled = paint_size(*result, options, limits)
    if options.letterbox:
        paint = padded = (letterbox_side, letterbox_side)
    else:
        padded = (round_up(paint[0]), round_up(paint[1]))
    tiles = tile_plan(limits.stages, *padded, limits.tile_side).most if tiled else 0
    masked = options.mask != "full"
    return PaintPlan(
        result=result,
        paint=paint,
        padded=padded,
        tiles=tiles,
        letterbox=options.letterbox,
        transfer=options.transfer,
        segmenter=options.segmenter if masked else None,
        face_detector=(VIDEO_FACES if video else PHOTO_FACES) if masked and options.keep_faces else None,
        styles=tuple(s for s in (style, options.mix_with, options.person_style) if isinstance(s, str)),
        mask_alongside=masked and not tiled,
    )

