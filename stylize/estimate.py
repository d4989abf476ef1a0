"""How long a painting will take, said before it is made (the page's size choices show it).

A painting's time is a fixed part (the style vector, the person's and faces' networks at their
own small sizes), a part per megapixel of the photo as it is decoded (a JPEG for a smaller result
at a reduced scale: ``imaging.decode_size``), a part per megapixel painted
(the transfer network: whole, or dearer in tiles) and a part per megapixel of the result (the
mask's feathering, the composite). ``CostModel`` holds those rates as measured on the reference machine
(``scripts/measure_estimates.py`` fits them) and a speed: how long the visitor's own last
painting took against what the model expected of it, so the same model serves a faster or a
busier machine after one picture.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .plan import PaintPlan
from .result import Result

# Fitted by scripts/measure_estimates.py (int8 on OpenVINO, background mask, this project's 2-core
# reference machine); the speed learned from one painting carries them to any other.
FIXED_MS = 74.0
WHOLE_MS_PER_MP = 270.0
TILED_MS_PER_MP = 352.0
RESULT_MS_PER_MP = 29.0
PHOTO_MS_PER_MP = 16.0


@dataclass(frozen=True)
class CostModel:
    fixed_ms: float = FIXED_MS
    whole_ms_per_mp: float = WHOLE_MS_PER_MP  # megapixels the network paints whole…
    tiled_ms_per_mp: float = TILED_MS_PER_MP  # …and in tiles
    result_ms_per_mp: float = RESULT_MS_PER_MP  # megapixels of the result
    photo_ms_per_mp: float = PHOTO_MS_PER_MP  # megapixels of the photo as decoded (``imaging.decode_size``)
    speed: float = 1.0  # the last painting's time over what this model expected of it

    def modelled_ms(self, photo: tuple[int, int], paint: tuple[int, int], result: tuple[int, int], tiled: bool) -> float:
        """The reference machine's time for a photo decoded at ``photo`` (``imaging.decode_size``)
        painted at ``paint`` into a ``result``-sized picture."""
        per_mp = self.tiled_ms_per_mp if tiled else self.whole_ms_per_mp
        return self.fixed_ms + (self.photo_ms_per_mp * _mp(photo) + per_mp * _mp(paint) + self.result_ms_per_mp * _mp(result))

    def seconds(self, photo: tuple[int, int], plan: PaintPlan) -> float:
        """The expected time of the painting ``plan`` describes for a ``photo``-sized photo, in
        seconds (queueing not included)."""
        return self.seconds_at(photo, plan.paint, plan.result, plan.tiled)

    def seconds_at(self, photo: tuple[int, int], paint: tuple[int, int], result: tuple[int, int], tiled: bool) -> float:
        """``seconds`` for the sizes themselves, where there is no plan."""
        return self.speed * self.modelled_ms(photo, paint, result, tiled) / 1000.0

    def learned(self, photo: tuple[int, int], result: Result) -> CostModel:
        """This model with its speed taken from ``result`` (of a ``photo``-sized photo): the time
        it took, its time queued behind other paintings left out, over the time the model gives it."""
        height, width = result.image.shape[:2]
        taken = result.total_ms - result.timings_ms.get("queued", 0.0)
        expected = self.modelled_ms(photo, result.paint_size, (width, height), result.tiles > 0)
        if taken <= 0 or expected <= 0:
            return self
        return replace(self, speed=taken / expected)


def _mp(size: tuple[int, int]) -> float:
    return size[0] * size[1] / 1e6
