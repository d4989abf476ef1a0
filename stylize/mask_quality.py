"""How good a person mask is, measured on pictures made for it: faces kept and the band of old
background left along the edge. ``scripts/measure_masks.py`` prints the table the default
segmenter was chosen by; the tests hold the same figures to their bounds; ``compare`` reports the
faces kept per segmenter.

The pictures are made from the sample photos (nothing is committed):

- *wall portrait*: the man in a suit (photographed on white) cut out — his white background is
  where the photo is bright and grey — and set head and shoulders on a plain beige wall, so the
  true mask is known and every kept pixel of wall is a pixel of halo;
- *group*: the three sample photos side by side at one height (three people, three backgrounds);
- *far away*: the man at a third of his size, twice, on a large painted scene with nobody in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from .faces import Face, face_mask

WALL = (214, 200, 178)


@dataclass(frozen=True)
class Picture:
    name: str
    rgb: np.ndarray
    truth: np.ndarray | None  # where the person truly is, when known


def cut_out(man: np.ndarray) -> np.ndarray:
    """Where the man in a suit is: not the studio's white-to-light-grey, unsaturated background
    (cleaned of specks)."""
    rgb = man.astype(np.int16)
    background = (rgb.min(axis=2) > 150) & (rgb.max(axis=2) - rgb.min(axis=2) < 30)
    mask = Image.fromarray(~background).filter(ImageFilter.ModeFilter(5))
    return np.asarray(mask, dtype=bool)


def wall_portrait(man: np.ndarray) -> Picture:
    """Head and shoulders of the man in a suit on a plain wall, at twice the photo's scale."""
    truth = cut_out(man)
    top, bottom, left, right = 20, 300, 70, 330
    crop = man[top:bottom, left:right]
    person = truth[top:bottom, left:right]
    size = (2 * crop.shape[1], 2 * crop.shape[0])
    big = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC))
    person = np.asarray(Image.fromarray(person).resize(size, Image.Resampling.NEAREST))
    return Picture("wall portrait", np.where(person[..., None], big, np.array(WALL, dtype=np.uint8)).astype(np.uint8), person)


def group(photos: list[np.ndarray], height: int = 480) -> Picture:
    """The photos side by side, each scaled to ``height``."""
    scaled = [np.asarray(Image.fromarray(p).resize((round(p.shape[1] * height / p.shape[0]), height), Image.Resampling.BILINEAR)) for p in photos]
    return Picture("group", np.concatenate(scaled, axis=1), None)


def far_away(man: np.ndarray, scene: np.ndarray) -> Picture:
    """The man in a suit, a third of his size, standing twice in a 1600×1000 painted scene."""
    canvas = np.asarray(Image.fromarray(scene).resize((1600, 1000), Image.Resampling.BILINEAR)).copy()
    truth = np.zeros(canvas.shape[:2], dtype=bool)
    cut = cut_out(man)
    size = (man.shape[1] // 3, man.shape[0] // 3)
    small = np.asarray(Image.fromarray(man).resize(size, Image.Resampling.BILINEAR))
    small_mask = np.asarray(Image.fromarray(cut).resize(size, Image.Resampling.NEAREST))
    for x in (400, 1000):
        y = 1000 - size[1] - 40
        region = canvas[y : y + size[1], x : x + size[0]]
        region[small_mask] = small[small_mask]
        truth[y : y + size[1], x : x + size[0]] |= small_mask
    return Picture("far away", canvas, truth)


def faces_kept(keep: np.ndarray, faces: list[Face]) -> list[float]:
    """For each face, the share of it kept (weight above one half): of the face's own region
    (``faces.face_mask``: the box is square, a face is not, so its corners are often background)."""
    shares = []
    for face in faces:
        region = face_mask([face], keep.shape[1], keep.shape[0])
        shares.append(float((keep[region] > 0.5).mean()) if region.any() else 0.0)
    return shares


def wall_band(keep: np.ndarray, truth: np.ndarray) -> float:
    """The share of the picture (%) that is background yet kept: old wall left unpainted."""
    return float(((keep > 0.5) & ~truth).mean() * 100.0)


def person_painted(keep: np.ndarray, truth: np.ndarray) -> float:
    """The share of the person (%) that is painted over in background mode."""
    return float(((keep <= 0.5) & truth).sum() / max(1, truth.sum()) * 100.0)
