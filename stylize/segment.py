"""Person masks from any segmentation model in the manifest.

DeepLabV3 (21 PASCAL VOC classes, person = 15, input in [-1, 1]) and Google Meet's segm_lite (2
classes, person = 1, input in [0, 1]) differ only in what the manifest records for them
(``size``, ``input_range``, ``person_class``), so one class serves all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Model
from .errors import ModelError
from .imaging import letterbox, to_unit_float, unletterbox
from .manifest import Asset


@dataclass
class Segmenter:
    asset: Asset
    model: Model

    def __post_init__(self) -> None:
        if self.asset.person_class is None:
            raise ModelError(f"The manifest gives no person_class for {self.asset.name}; add it to models/manifest.toml.")

    def person_probability(self, rgb: np.ndarray) -> np.ndarray:
        """Per-pixel probability (height × width, float32) that the pixel shows a person."""
        square, box = letterbox(rgb, self.asset.size)
        low, high = self.asset.input_range
        scaled = low + (high - low) * to_unit_float(square)
        logits = self.model.run({self.model.inputs[0].name: scaled[None]})[0][0]
        logits = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        person = exp[..., self.asset.person_class] / exp.sum(axis=-1)
        return unletterbox(person.astype(np.float32), box, rgb.shape[1], rgb.shape[0])
