"""Mask edges that follow the picture: the person mask brought to the photo's resolution by a
guided filter (He, Sun and Tang, "Guided Image Filtering", 2010/2013), with the photo as guide.

A segmenter answers at 128–257 pixels; scaled up bilinearly, its edge is a soft ramp several photo
pixels wide that ignores the photo, so a strip of the old wall survives along the hair and the
shoulders, and wisps of hair are painted over. The guided filter fits, in every small window, the
mask as a linear function of the photo's brightness (q = a·I + b): where the photo has an edge,
the mask's edge snaps to it; where the photo is flat, the mask stays smooth.

It is the "fast" guided filter (He and Sun, 2015): the coefficients a and b are computed at a
working resolution (``WORK_SIDE`` on the long side, the segmenters' own) and only q = a·I + b is computed at the
photo's own size, so a 12-megapixel photo costs a few box filters on a small picture and two
multiply-adds on the full picture. It is short and vectorised (box sums of shifted views in NumPy): OpenCV's
``ximgproc.guidedFilter`` would do the same in C++, but opencv-contrib brings ~60 MB to the page's
container for one function, and the filter's cost here is measured against the painting
(``scripts/measure_masks.py``).
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from .imaging import output_size, resize_plane

WORK_SIDE = 256  # the coefficients are computed at most at this size: about the segmenters' own (128–257)
RADIUS = 1 / 96  # of the working picture's long side: the windows the mask is fitted in
EPS = 2e-3  # regularisation (brightness variance, 0–1 scale): below it, a window counts as flat


def refined_probability(probability: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """The person ``probability`` (any size, ``float32`` in [0, 1], covering the whole photo)
    refined by the guided filter to ``rgb``'s own height × width."""
    height, width = rgb.shape[:2]
    grey = Image.fromarray(rgb).convert("L")
    work_w, work_h = output_size(width, height, WORK_SIDE)
    guide = np.asarray(grey.resize((work_w, work_h), Image.Resampling.BILINEAR) if (work_w, work_h) != (width, height) else grey, dtype=np.float32) / 255.0
    p = resize_plane(probability, work_w, work_h)
    radius = max(1, round(RADIUS * max(work_w, work_h)))
    mean_i, mean_p, mean_ip, mean_ii = box_mean(np.stack([guide, p, guide * p, guide * guide]), radius)
    a = (mean_ip - mean_i * mean_p) / (mean_ii - mean_i * mean_i + EPS)
    b = mean_p - a * mean_i
    mean_a, mean_b = (resize_plane(plane, width, height) for plane in box_mean(np.stack([a, b]), radius))
    full = np.asarray(grey, dtype=np.float32)
    full *= mean_a / 255.0
    full += mean_b
    return full


def box_mean(planes: np.ndarray, radius: int) -> np.ndarray:
    """The mean over a (2·radius + 1)² window around each value of a plane, or of each plane of a
    stack (windows cut at the edges). The radius is a few values at the working size, so the
    window is summed from shifted views (one vectorised add each), which is several times faster
    than running sums down the columns."""
    *stack, height, width = planes.shape
    padded = np.pad(planes.astype(np.float32, copy=False), [(0, 0)] * len(stack) + [(radius, radius)] * 2)
    window = 2 * radius + 1
    rows = padded[..., 0:height, :].copy()
    for dy in range(1, window):
        rows += padded[..., dy : dy + height, :]
    total = rows[..., 0:width].copy()
    for dx in range(1, window):
        total += rows[..., dx : dx + width]
    total *= _reciprocal_counts(height, width, radius)
    return total


@functools.lru_cache(maxsize=16)
def _reciprocal_counts(height: int, width: int, radius: int) -> np.ndarray:
    """1 / the number of values in each value's window (shared: never written to)."""
    reciprocal = 1.0 / np.outer(_counts(height, radius), _counts(width, radius))
    reciprocal.flags.writeable = False
    return reciprocal


def _counts(size: int, radius: int) -> np.ndarray:
    index = np.arange(size)
    return (np.minimum(index + radius, size - 1) - np.maximum(index - radius, 0) + 1).astype(np.float32)
