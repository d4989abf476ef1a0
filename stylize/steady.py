"""A steady live painting: where the camera's picture has not changed, the painting does not either.

The transfer network is not temporally stable: a camera's sensor noise (a few levels per pixel,
different in every frame) is enough to redraw its strokes, so a still scene flickers. (Steadying
the camera's frames instead, before painting, does not help: measured, averaging the noise down
to a third left 80 % of the flicker — the int8 network redraws its strokes for changes of a
level or two.) ``Steadier`` blends each new painting with the previous (already steadied) one,
per pixel, with a weight that is ``steadiness`` where the camera's frame is still and falls to
zero where it moved, so a still wall settles into one painting while a moving hand is painted
afresh in every frame. The person mask is steadied the same way, so its edge does not crawl.

The network's strokes in a flat area follow what moves nearby (its receptive field is large), so
the motion found is spread over its neighbourhood (``SPREAD``, a good part of the frame) before
the weight is made: a painting held there would otherwise turn into a blur of old strokes beside
a moving person.

Motion is judged on a small grey copy of the frame (a 4×4 box average), where sensor noise is
averaged away but a real change of a few levels over a region still shows.

``flicker.py`` measures it on clips made from one still picture, through the same
``LiveStylizer`` the page uses; ``python -m stylize bench`` prints its figures.
"""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from .imaging import resize_plane

MOTION_BLOCK = 4  # the grey copy that motion is judged on is this many times smaller
STILL_BELOW = 1.0  # a change (levels, 0–255) of a block's mean, averaged with its neighbours', below this is noise: fully steadied
MOVING_ABOVE = 3.0  # …above this it is motion: painted afresh; linear in between
SPREAD = 0.5  # motion unsettles the painting within a square this big around it (a fraction of the frame's longer side)
DEFAULT_STEADINESS = 0.8


class Steadier:
    """Per-pixel temporal smoothing of a live painting and its mask. One per video stream; its
    ``update`` is called with each frame in order (it keeps the previous one)."""

    def __init__(self, steadiness: float = DEFAULT_STEADINESS):
        if not 0.0 <= steadiness < 1.0:
            raise ValueError(f"steadiness {steadiness} is not in [0, 1)")
        self.steadiness = steadiness
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (a new stream, or another frame size)."""
        with self._lock:
            self._grey: np.ndarray | None = None
            self._painting: np.ndarray | None = None
            self._keep: np.ndarray | None = None

    def update(self, frame: np.ndarray, painting: np.ndarray, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The steadied painting (``uint8``) and mask for ``frame`` (the camera's RGB picture),
        given this frame's own ``painting`` and ``keep`` mask (None without one)."""
        if self.steadiness == 0.0:
            return painting, keep
        grey = motion_copy(frame)
        with self._lock:
            previous, before, kept = self._grey, self._painting, self._keep
            comparable = previous is not None and before is not None and previous.shape == grey.shape and before.shape == painting.shape
            if not comparable or (keep is None) != (kept is None):
                steady, steady_keep = painting, keep
            else:
                weight = stillness(previous, grey, frame.shape[1], frame.shape[0]) * np.float32(self.steadiness)
                # the blend of the two uint8 paintings in one pass (Pillow's composite, weight on 0–255)
                held = Image.fromarray(np.clip(weight * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
                steady = np.array(Image.composite(Image.fromarray(before), Image.fromarray(painting), held))
                steady_keep = None if keep is None else keep + (kept - keep) * weight
            self._grey, self._painting, self._keep = grey, steady, steady_keep
        return steady, steady_keep


def motion_copy(frame: np.ndarray) -> np.ndarray:
    """The small grey copy of a frame that motion is judged on (``float32``)."""
    grey = Image.fromarray(frame).convert("L")
    width, height = max(1, grey.width // MOTION_BLOCK), max(1, grey.height // MOTION_BLOCK)
    return np.asarray(grey.resize((width, height), Image.Resampling.BOX), dtype=np.float32)


def stillness(previous: np.ndarray, current: np.ndarray, width: int, height: int) -> np.ndarray:
    """Per pixel of a ``width``×``height`` frame: 1 where the two grey copies agree within noise,
    0 where the picture moved or something within ``SPREAD`` blocks of it did, linear in between."""
    change = _mean_3x3(np.abs(current - previous))  # noise averages out, motion does not
    still = np.clip((MOVING_ABOVE - change) / (MOVING_ABOVE - STILL_BELOW), 0.0, 1.0)
    still = _min_filter(still, max(1, round(SPREAD * max(still.shape)) // 2))
    return resize_plane(still, width, height)


def _min_filter(plane: np.ndarray, radius: int) -> np.ndarray:
    """The minimum over a (2 × ``radius`` + 1)² square around each value (edges repeated), in two
    1-D passes, each a few whole-array minimums of windows that double in length."""
    for axis in (0, 1):
        padded = np.pad(plane, [(radius, radius) if a == axis else (0, 0) for a in range(2)], mode="edge")
        plane = _running_min(np.moveaxis(padded, axis, 0), 2 * radius + 1)
        plane = np.moveaxis(plane, 0, axis)
    return plane


def _running_min(values: np.ndarray, window: int) -> np.ndarray:
    """Along the first axis: the minimum of each run of ``window`` values (len − window + 1 of them)."""
    span = 1
    while 2 * span <= window:
        values = np.minimum(values[:-span], values[span:])  # now: the minimum of each run of 2 × span
        span *= 2
    rest = window - span  # two runs of ``span`` that overlap cover one of ``window``
    return np.minimum(values[: len(values) - rest], values[rest:]) if rest else values


def _mean_3x3(plane: np.ndarray) -> np.ndarray:
    """Each value averaged with its eight neighbours (edges repeated)."""
    padded = np.pad(plane, 1, mode="edge")
    height, width = plane.shape
    return sum(padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)) / np.float32(9.0)


# --- measuring it ----------------------------------------------------------------------------------
