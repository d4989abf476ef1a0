"""Faces, found by MediaPipe's BlazeFace detectors, so that no face is ever painted over by mistake.

A person segmenter can miss a face (a face in profile, a face half in shadow, a small face at the
back of a group); a face detector is made for exactly that. ``FaceDetector`` runs a BlazeFace
model on the photo letterboxed into its square input (padded with grey, not mirrored: a mirrored
border would show mirrored faces), decodes its SSD anchors and keeps the boxes that survive
weighted non-maximum suppression — MediaPipe's own post-processing, written out:

- short range (128², faces within about 2 m): anchors at strides 8 and 16, 2 and 6 per cell;
- full range (192², small faces): anchors at stride 4, 1 per cell.

Each anchor's 16 regressors are (x, y, w, h) of the box and six (x, y) keypoints, in input pixels
relative to the anchor's centre; its score is a sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .engine import Model
from .imaging import shrink, to_unit_float
from .manifest import Asset

# (strides, anchors per cell) of each detector's SSD layers, by input size
ANCHOR_LAYOUTS = {128: ((8, 2), (16, 6)), 192: ((4, 1),)}
MIN_SCORE = {128: 0.5, 192: 0.6}  # MediaPipe's own thresholds for each model
NMS_OVERLAP = 0.3
TILE_SIDE = 640  # a photo is also searched in squares of at most this many pixels (small faces)…
SEARCH_SIDE = 1280  # …of a copy at most this large


@dataclass(frozen=True)
class Face:
    """A detected face: its box in photo pixels and the detector's confidence."""

    left: float
    top: float
    right: float
    bottom: float
    score: float

    def scaled(self, factor: float) -> Face:
        """The same face in a picture ``factor`` times as large."""
        return Face(self.left * factor, self.top * factor, self.right * factor, self.bottom * factor, self.score)

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def anchors(side: int) -> np.ndarray:
    """(n, 2) anchor centres in [0, 1], in the order the model's outputs list them."""
    centres = []
    for stride, per_cell in ANCHOR_LAYOUTS[side]:
        cells = side // stride
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


class FaceDetector:
    """A BlazeFace model from the manifest (role ``face``). ``detect`` is thread-safe as far as
    its model is (every model serialises its own runs)."""

    def __init__(self, asset: Asset, model: Model):
        self.asset, self.model = asset, model
        self.side = int(model.inputs[0].shape[1])
        if self.side not in ANCHOR_LAYOUTS:
            raise ValueError(f"no anchor layout for a {self.side}-pixel face detector")
        self._anchors = anchors(self.side)

    def detect(self, rgb: np.ndarray, tiles: bool = True) -> list[Face]:
        """The faces in ``rgb`` (height × width × 3 ``uint8``), most confident first. With
        ``tiles`` the photo is also searched in overlapping squares (``TILE_SIDE`` at most), so
        the small faces of a group or a wide picture are big enough for the detector."""
        height, width = rgb.shape[:2]
        work = shrink(rgb, SEARCH_SIDE)  # a face too small to find here is too small to find at all
        scale = width / work.shape[1]
        boxes, scores = [], []
        for left, top, side in _windows(work.shape[1], work.shape[0]) if tiles else _windows(work.shape[1], work.shape[0])[:1]:
            found_boxes, found_scores = self._detect_window(work, left, top, side)
            boxes.append(found_boxes * scale)
            scores.append(found_scores)
        found = weighted_nms(np.concatenate(boxes), np.concatenate(scores), MIN_SCORE[self.side], NMS_OVERLAP)
        return [
            Face(float(np.clip(x0, 0, width)), float(np.clip(y0, 0, height)), float(np.clip(x1, 0, width)), float(np.clip(y1, 0, height)), score)
            for x0, y0, x1, y1, score in found
        ]

    def _detect_window(self, rgb: np.ndarray, left: int, top: int, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidate boxes (in photo pixels) and scores of the ``side`` square at (left, top),
        the part of it outside the photo padded with grey."""
        x0, y0 = max(left, 0), max(top, 0)
        window = rgb[y0 : top + side, x0 : left + side]
        scale = self.side / side  # the square's pixels map to the photo's [left, left + side) linearly
        size = (max(1, round(window.shape[1] * scale)), max(1, round(window.shape[0] * scale)))
        square = Image.new("RGB", (self.side, self.side), (128, 128, 128))
        square.paste(Image.fromarray(window).resize(size, Image.Resampling.BILINEAR), (round((x0 - left) * scale), round((y0 - top) * scale)))
        pixels = to_unit_float(np.asarray(square)) * 2.0 - 1.0
        outputs = self.model.run({self.model.inputs[0].name: pixels[None]})
        regressors, scores = sorted(outputs, key=lambda a: a.shape[-1], reverse=True)
        boxes = self._boxes(regressors.reshape(-1, regressors.shape[-1])[:, :4]) * self.side / scale
        boxes += np.array([left, top, left, top], dtype=np.float32)
        return boxes, 1.0 / (1.0 + np.exp(-np.clip(scores.reshape(-1).astype(np.float64), -100.0, 100.0)))

    def _boxes(self, raw: np.ndarray) -> np.ndarray:
        """(n, 4) boxes (x0, y0, x1, y1) in [0, 1] of the square, from the regressors."""
        centre = self._anchors + raw[:, :2] / self.side
        half = raw[:, 2:4] / self.side / 2.0
        return np.concatenate([centre - half, centre + half], axis=1)


def _windows(width: int, height: int) -> list[tuple[int, int, int]]:
    """(left, top, side) of the squares a photo is searched in: the whole photo, then squares of
    the shorter side (``TILE_SIDE`` at most) overlapping by a quarter, across the photo."""
    windows = [((width - max(width, height)) // 2, (height - max(width, height)) // 2, max(width, height))]
    side = min(width, height, TILE_SIDE)
    if side < max(width, height):
        step = max(1, side * 3 // 4)
        xs = sorted({*range(0, max(1, width - side + 1), step), max(0, width - side)})
        ys = sorted({*range(0, max(1, height - side + 1), step), max(0, height - side)})
        windows += [(x, y, side) for y in ys for x in xs]
    return windows


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, min_score: float, overlap: float) -> list[tuple[float, float, float, float, float]]:
    """MediaPipe's weighted non-maximum suppression: each kept box is the score-weighted mean of
    the candidates that overlap the best one by more than ``overlap`` (IoU)."""
    order = [int(i) for i in np.argsort(-scores) if scores[i] >= min_score]
    found = []
    while order:
        best = boxes[order[0]]
        ious = _iou(best, boxes[order])
        group = [i for i, iou in zip(order, ious, strict=True) if iou > overlap]
        weights = scores[group][:, None]
        merged = (boxes[group] * weights).sum(axis=0) / weights.sum()
        found.append((*(float(v) for v in merged), float(scores[order[0]])))
        order = [i for i, iou in zip(order, ious, strict=True) if iou <= overlap]
    return found


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(box[0], others[:, 0]), np.maximum(box[1], others[:, 1])
    x1, y1 = np.minimum(box[2], others[:, 2]), np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1]) + (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1]) - inter
    return inter / np.maximum(area, 1e-9)


def face_mask(faces: list[Face], width: int, height: int) -> np.ndarray:
    """A ``height`` × ``width`` boolean mask of the face itself under each detection: the box is
    square and runs from the brows to the chin, a face is narrower than it is tall, so the ellipse
    spans the middle 80 % of the box's width and reaches a tenth of its height above it, for the
    forehead — inside the face, not on the wall beside it."""
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    for face in faces:
        inset = 0.1 * face.width
        draw.ellipse([face.left + inset, face.top - 0.1 * face.height, face.right - inset, face.bottom], fill=255)
    return np.asarray(image) > 0
