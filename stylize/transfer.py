"""The style transfer network as a request uses it: content picture + style vector → painting, at
the size a ``PaintPlan`` gives — letterboxed into the file's square, whole at the picture's own
shape, or in tiles that share the whole picture's statistics (``tiling.py``). The runtime's model
takes and gives float arrays whatever the file's integer I/O (``engine/base.IntegerIO``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Model
from .engine.stages import StagePlan
from .errors import ModelError
from .imaging import from_unit_float, letterbox, pad_to_multiple, resize, to_unit_float, unletterbox
from .manifest import Asset
from .plan import SIZE_MULTIPLE, PaintPlan
from .tiling import TileProgress, crop_shapes, paint_tiled


@dataclass
class TransferNet:
    asset: Asset
    model: Model
    stages: tuple[StagePlan, list[Model]] | None = None  # for tiled paintings
    tile_side: int = 0

    @property
    def image_input(self) -> str:
        """The input that takes the content picture (1 × H × W × 3)."""
        return next(t.name for t in self.model.inputs if t.shape[-1] == 3)

    @property
    def vector_input(self) -> str:
        """The input that takes the style vector."""
        return next(t.name for t in self.model.inputs if t.shape[-1] != 3)

    def input_shapes(self, padded: tuple[int, int]) -> dict[str, tuple[int, ...]]:
        """Every input's shape for a picture fed at ``padded`` (width, height)."""
        return {t.name: (1, padded[1], padded[0], 3) if t.name == self.image_input else t.shape for t in self.model.inputs}

    def build_for(self, plan: PaintPlan) -> float:
        """Build the network for what ``plan`` will feed it (each stage's crops, for a tiled
        plan), so the first painting waits for no compile; returns the ms spent."""
        if not plan.tiled:
            return self.model.build_for_shapes(self.input_shapes(plan.padded))
        if self.stages is None:
            raise ModelError(f"{self.asset.title} cannot be painted in tiles; paint it whole.")
        stages, models = self.stages
        spent = 0.0
        for stage, model, crops in zip(stages.stages, models, crop_shapes(stages, *plan.padded, self.tile_side), strict=True):
            for crop in crops:
                spent += model.build_for_shapes({t.name: (1, *crop, t.shape[-1]) if t.name in stage.spatial else t.shape for t in model.inputs})
        return spent

    def paint(self, rgb: np.ndarray, vector: np.ndarray, plan: PaintPlan, progress: TileProgress | None = None) -> np.ndarray:
        """``rgb`` painted in ``vector``'s style as ``plan`` says, at ``rgb``'s own size (uint8)."""
        height, width = rgb.shape[:2]
        paint_w, paint_h = plan.paint
        if plan.letterbox:
            side = self.asset.size
            square, box = letterbox(rgb, side)
            out = self.model.run({self.image_input: to_unit_float(square)[None], self.vector_input: vector})[0]
            return unletterbox(from_unit_float(out.reshape(side, side, 3)), box, width, height)
        padded = pad_to_multiple(resize(rgb, paint_w, paint_h), SIZE_MULTIPLE)
        if plan.tiled:
            if self.stages is None:
                raise ModelError(f"{self.asset.title} cannot be painted in tiles; paint it whole.")
            stage_plan, models = self.stages
            painted = paint_tiled(models, stage_plan, padded, vector, self.tile_side, progress)[:paint_h, :paint_w]
        else:
            out = self.model.run({self.image_input: to_unit_float(padded)[None], self.vector_input: vector})[0]
            painted = from_unit_float(out[0, :paint_h, :paint_w])
        return resize(painted, width, height)
