"""Paintings admitted by their memory cost, so that one process stays within a budget whoever
sends what at the same moment.

A painting's working memory grows with its pixels: what the runtime holds to paint it whole (per
pixel of the painting, per runtime; a tiled painting's runtime memory is its stages', the same
for any size) and the picture's own copies (the photo, the painting, the masks, the result: per
pixel of the result). ``paint_cost`` estimates it from figures measured with ``/usr/bin/time -v``
(README: limits). ``MemoryGate`` admits requests first come, first served while their costs fit
the budget; a later one waits its turn, told how many paintings are ahead of it; one that costs
more than the whole budget is admitted alone, so every accepted request is painted.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

MB = 1 << 20
# bytes of working memory per pixel painted whole, per runtime, as measured (README, limits); the
# costs only need to be upper bounds for the budget to hold
WHOLE_BYTES_PER_PIXEL = {"openvino": 200, "litert": 2048}
TILED_BYTES_PER_PIXEL = 20  # a tiled painting's 8-bit activations between stages
TILED_FIXED_BYTES = 300 * MB  # the stages' own working memory, whatever the picture's size
PICTURE_BYTES_PER_PIXEL = 30  # the photo, the painting, the result, the masks (uint8 and float32 copies)
DEFAULT_BUDGET_MB = 1536  # well inside a page task's memory (infra/service.yaml), beside the models and the server

Waiting = Callable[[int], None]  # called with the number of paintings ahead, each time it changes


def paint_cost(result_pixels: int, paint_pixels: int, engine: str, tiled: bool) -> int:
    """Bytes of working memory a painting is estimated to need."""
    painting = TILED_FIXED_BYTES + TILED_BYTES_PER_PIXEL * paint_pixels if tiled else WHOLE_BYTES_PER_PIXEL.get(engine, 2048) * paint_pixels
    return painting + PICTURE_BYTES_PER_PIXEL * result_pixels


class MemoryGate:
    """Admits work while the admitted costs fit ``budget`` bytes, in arrival order."""

    def __init__(self, budget: int):
        self.budget = budget
        self._used = 0
        self._running = 0
        self._queue: list[int] = []  # tickets waiting, in arrival order
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._queue)

    @contextmanager
    def admitted(self, cost: int, waiting: Waiting | None = None) -> Iterator[None]:
        """Hold ``cost`` bytes of the budget for the ``with`` block, waiting (first come, first
        served) until they fit or nothing else runs; ``waiting(n)`` hears how many paintings are
        ahead whenever that changes while it waits."""
        with self._changed:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            told = None
            while not (self._queue[0] == ticket and (self._running == 0 or self._used + cost <= self.budget)):
                ahead = self._queue.index(ticket) + self._running
                if waiting is not None and ahead != told:
                    told = ahead
                    waiting(ahead)
                self._changed.wait()
            self._queue.pop(0)
            self._used += cost
            self._running += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._used -= cost
                self._running -= 1
                self._changed.notify_all()
