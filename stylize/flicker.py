"""How steady a live painting is, measured on clips made from one still picture and painted through
the same ``LiveStylizer`` the page uses: flicker (the mean frame-to-frame change of a still scene,
raw and steadied) and ghosting (a panning picture, the steady output against the unsmoothed
painting). ``python -m stylize bench`` prints these figures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .imaging import psnr_of_errors
from .steady import DEFAULT_STEADINESS
from .webcam import LiveStylizer, frame_pixels


@dataclass(frozen=True)
class FlickerFigures:
    """What steadiness does to a live painting, on clips made from one still picture."""

    flicker_raw: float  # mean |frame-to-frame change| of the painted output, 0–255, steadiness off
    flicker_steady: float  # …the same with steadiness on
    ghost_db: float  # on a picture that moves, PSNR of the steady output against the unsmoothed one
    steadiness: float
    frames: int


def still_clip(photo: np.ndarray, frames: int, sigma: float = 3.0, size: tuple[int, int] = (640, 480), seed: int = 0) -> Iterator[np.ndarray]:
    """``frames`` frames of one still picture with camera-like noise (independent Gaussian noise
    of ``sigma`` levels per pixel and channel)."""
    rng = np.random.default_rng(seed)
    base = np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    for _ in range(frames):
        yield np.clip(base + rng.normal(0.0, sigma, base.shape).astype(np.float32) + 0.5, 0, 255).astype(np.uint8)


def shifting_clip(photo: np.ndarray, frames: int, step: int = 4, size: tuple[int, int] = (640, 480)) -> Iterator[np.ndarray]:
    """``frames`` frames of a picture that pans sideways by ``step`` pixels a frame (a window
    sliding over the photo, scaled up enough to leave room)."""
    width, height = size
    scale = max((width + step * frames) / photo.shape[1], height / photo.shape[0])
    wide = Image.fromarray(photo).resize((int(np.ceil(photo.shape[1] * scale)), int(np.ceil(photo.shape[0] * scale))), Image.Resampling.BILINEAR)
    pixels = np.asarray(wide)
    for i in range(frames):
        yield pixels[:height, i * step : i * step + width]


def mean_change(frames: list[np.ndarray]) -> float:
    """Mean absolute frame-to-frame change of a sequence of pictures (0–255 scale)."""
    changes = [np.mean(np.abs(b.astype(np.int16) - a.astype(np.int16))) for a, b in zip(frames, frames[1:], strict=False)]
    return float(np.mean(changes)) if changes else 0.0


def flicker_figures(stylizer, photo: np.ndarray, style, options, steadiness: float = DEFAULT_STEADINESS, frames: int = 100) -> FlickerFigures:
    """``webcam_flicker_raw`` / ``webcam_flicker_steady`` (100 noisy frames of a still picture)
    and ``webcam_ghost_db`` (a picture panning 4 px a frame: the steady output against the
    unsmoothed painting of the same frame, as one PSNR over the clip after its first frame),
    painted by two ``LiveStylizer``s — steadiness off and on — fed the same frames."""
    def painted(clip: Iterator[np.ndarray], level: float) -> list[np.ndarray]:
        live = LiveStylizer(stylizer, style, options, steadiness=level)
        return [live.paint_newest(frame_pixels(frame, options.max_side)) for frame in clip]

    raw = painted(still_clip(photo, frames), 0.0)
    steady = painted(still_clip(photo, frames), steadiness)
    moving_raw = painted(shifting_clip(photo, frames), 0.0)
    moving_steady = painted(shifting_clip(photo, frames), steadiness)
    return FlickerFigures(
        round(mean_change(raw), 2),
        round(mean_change(steady), 2),
        round(float(psnr_of_errors(list(zip(moving_steady[1:], moving_raw[1:], strict=True)))), 1),
        steadiness,
        frames,
    )
