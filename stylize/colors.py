"""Keep the photo's colours: luminance-only style transfer.

Gatys et al., "Preserving Color in Neural Artistic Style Transfer" (2016): the painting gives the
brightness and the texture, the photo gives the colours. The painting's luminance (Y of YCbCr,
ITU-R BT.601 as JPEG uses it) is recombined with the photo's chroma (Cb, Cr). First the painting's
luminance is matched to the photo's mean and spread, so that a dark artwork does not darken the
photo's colours to mud nor a pale one wash them out: what is left of the painting in Y is its
strokes and texture, at the photo's own brightness.

Pillow does the colour conversions in C on ``uint8`` planes, so a 12-megapixel picture needs no
float copies of all three channels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Where the painting's luminance barely varies (a flat area of the artwork), matching its spread to
# the photo's would multiply its noise: the stretch is capped.
MAX_STRETCH = 3.0


def keep_colors(painting: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """``painting``'s luminance (matched to ``photo``'s mean and spread) with ``photo``'s chroma;
    both are height × width × 3 ``uint8`` RGB of the same size."""
    if painting.shape != photo.shape:
        raise ValueError(f"the painting {painting.shape} and the photo {photo.shape} differ in size")
    painted_y = np.asarray(Image.fromarray(painting).convert("YCbCr").getchannel("Y"))
    photo_y, cb, cr = Image.fromarray(photo).convert("YCbCr").split()
    y = match_luminance(painted_y, np.asarray(photo_y))
    return np.asarray(Image.merge("YCbCr", (Image.fromarray(y), cb, cr)).convert("RGB"))


def match_luminance(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` (a ``uint8`` plane) shifted and scaled to ``target``'s mean and standard
    deviation."""
    source_mean, source_std = _mean_std(source)
    target_mean, target_std = _mean_std(target)
    stretch = min(MAX_STRETCH, target_std / source_std) if source_std > 1e-3 else 1.0
    lut = np.clip(np.rint((np.arange(256, dtype=np.float64) - source_mean) * stretch + target_mean), 0, 255).astype(np.uint8)
    return lut[source]


def _mean_std(plane: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of a ``uint8`` plane from its histogram (no float copy)."""
    counts = np.bincount(plane.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    total = counts.sum()
    mean = float((counts * levels).sum() / total)
    var = float((counts * (levels - mean) ** 2).sum() / total)
    return mean, var**0.5
