"""How far a stylizer's preparation (fetch, load, style vectors) has come, as a visitor follows it."""

from __future__ import annotations

import threading

from .store import ProgressTotal


class Preparation:
    """How far ``Stylizer.prepare`` has come, as a visitor can follow it: the bytes fetched from
    the store, then the models loaded (and compiled), then the gallery's style vectors."""

    WEIGHTS = {"fetch": 0.6, "models": 0.3, "styles": 0.1}

    def __init__(self, assets, models: int, styles: int):
        self.fetch = ProgressTotal(assets, lambda _: None)
        self.totals = {"models": max(1, models), "styles": max(1, styles)}
        self.done = {"models": 0, "styles": 0}
        self.finished_at: float | None = None  # time.monotonic() when prepare ended, well or not
        self._lock = threading.Lock()

    def step(self, part: str) -> None:
        with self._lock:
            self.done[part] += 1

    @property
    def fraction(self) -> float:
        parts = {"fetch": self.fetch.fraction, **{k: self.done[k] / self.totals[k] for k in self.done}}
        if all(v >= 1.0 for v in parts.values()):
            return 1.0
        return min(1.0, sum(self.WEIGHTS[k] * v for k, v in parts.items()))

    def describe(self) -> str:
        if self.fetch.fraction < 1.0:
            return f"fetching the models: {self.fetch.describe()}"
        if self.done["models"] < self.totals["models"]:
            return f"loading the models: {self.done['models']} of {self.totals['models']} ready"
        return f"preparing the styles: {self.done['styles']} of {self.totals['styles']} ready"
