"""Person masks from any segmentation model in the manifest.

DeepLabV3 (21 PASCAL VOC classes, person = 15, input in [-1, 1]), Google Meet's segm_lite (2
classes, person = 1, input in [0, 1]) and MediaPipe's selfie segmenters (one channel, already a
sigmoid: person = high, input in [0, 1], one of them 256 wide and 144 high) differ only in what the
manifest records for them (``input_range``, ``person_class``, ``mask_output``) and in their input
shape, which the model itself gives — so one class serves all of them.

The model's answer is brought to the photo's resolution by a guided filter (``refine.py``), so the
mask's edge follows the photo's own edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .engine import Model
from .errors import ModelError
from .faces import Face
from .imaging import letterbox, resize_plane, shrink, to_unit_float
from .manifest import Asset
from .refine import refined_probability


def _at(plane: np.ndarray, face: Face, width: int, height: int) -> float:
    """The value of ``plane`` (covering a ``width``×``height`` photo) at the middle of ``face``."""
    y = int(np.clip((face.top + face.bottom) / 2 * plane.shape[0] / height, 0, plane.shape[0] - 1))
    x = int(np.clip((face.left + face.right) / 2 * plane.shape[1] / width, 0, plane.shape[1] - 1))
    return float(plane[y, x])


def _tent(size: int) -> np.ndarray:
    """Weights rising from the ends of a window to its middle (never quite zero)."""
    position = (np.arange(size, dtype=np.float32) + 0.5) / size
    return 0.02 + 1.0 - np.abs(2.0 * position - 1.0)


@dataclass
class Segmenter:
    asset: Asset
    model: Model

    def __post_init__(self) -> None:
        if self.asset.person_class is None:
            raise ModelError(f"The manifest gives no person_class for {self.asset.name}; add it to models/manifest.toml.")

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the model's input."""
        shape = next(t.shape for t in self.model.inputs if len(t.shape) == 4)
        return int(shape[2]), int(shape[1])

    def model_probability(self, rgb: np.ndarray, faces: Sequence[Face] = ()) -> np.ndarray:
        """The model's own per-pixel person probability over the photo (``float32``, at about the
        model's resolution, or finer where ``faces`` asked for a closer look).

        A person small in a wide picture — one of a group — can be missed by a model that sees the
        whole picture at 256 pixels. Every face in ``faces`` that the whole-picture answer misses
        is looked at again in a square of the picture's shorter side centred on it (the person it
        belongs to, seen as large as the model expects), and that answer joins the whole one,
        weighted to the square's centre.
        (Blind tiles were tried first: on a window with no clear person the selfie model called a
        whole train a person.)"""
        whole = self._probability(rgb)
        height, width = rgb.shape[:2]
        missed = [f for f in faces if _at(whole, f, width, height) < 0.5]
        if not missed:
            return whole
        scale = max(self.input_size) / min(height, width)
        shape = (round(height * scale), round(width * scale))
        total, weights = np.zeros(shape, dtype=np.float32), np.zeros(shape, dtype=np.float32)
        for face in missed:
            side = min(height, width)
            left = int(np.clip((face.left + face.right) / 2 - side / 2, 0, width - side))
            top = int(np.clip(face.top - face.height, 0, height - side))
            window = resize_plane(self._probability(rgb[top : top + side, left : left + side]), round(side * scale), round(side * scale))
            y, x = round(top * scale), round(left * scale)
            window = window[: shape[0] - y, : shape[1] - x]
            weight = np.outer(_tent(window.shape[0]), _tent(window.shape[1]))
            total[y : y + window.shape[0], x : x + window.shape[1]] += window * weight
            weights[y : y + window.shape[0], x : x + window.shape[1]] += weight
        closer = np.where(weights > 0, total / np.maximum(weights, 1e-6), 0.0).astype(np.float32)
        return np.maximum(resize_plane(whole, shape[1], shape[0]), closer)

    def _probability(self, rgb: np.ndarray) -> np.ndarray:
        """The model's answer for the whole of ``rgb``, letterboxed into its input."""
        width, height = self.input_size
        square, box = letterbox(shrink(rgb, 2 * max(width, height)), width, height)
        low, high = self.asset.input_range
        scaled = low + (high - low) * to_unit_float(square)
        output = self.model.run({self.model.inputs[0].name: scaled[None]})[0][0]
        if self.asset.mask_output == "probability":
            person = output[..., self.asset.person_class]
        else:
            logits = output - output.max(axis=-1, keepdims=True)
            exp = np.exp(logits)
            person = exp[..., self.asset.person_class] / exp.sum(axis=-1)
        return np.ascontiguousarray(person[box.top : box.top + box.height, box.left : box.left + box.width], dtype=np.float32)

    def person_mask(self, rgb: np.ndarray, refine: bool = True) -> np.ndarray:
        """Where the person is (boolean, ``rgb``'s height × width): the model's answer refined by
        the guided filter, or (``refine=False``, as before the filter) bilinearly scaled."""
        low = self.model_probability(rgb)
        if refine:
            return refined_probability(low, rgb) > 0.5
        return self.person_probability(rgb, low) > 0.5

    def person_probability(self, rgb: np.ndarray, low: np.ndarray | None = None) -> np.ndarray:
        """Per-pixel probability (``rgb``'s height × width, ``float32``) that the pixel shows a
        person, bilinearly scaled from the model's answer (``low``, if already computed)."""
        low = self.model_probability(rgb) if low is None else low
        return resize_plane(low, rgb.shape[1], rgb.shape[0])
