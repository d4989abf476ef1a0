"""A stylizer's preparation (fetch, load, style vectors): how far it has come, as a visitor follows
it, and its run in the background with retry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

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


class BackgroundPreparation:
    """``prepare(progress)`` on a worker thread, shared by everyone who asks while it runs (the
    visitors arriving together share one fetch); a failed attempt is started afresh when asked
    again ``retry_after`` seconds after it ended, not sooner (a store that is down is not hammered)."""

    def __init__(self, prepare: Callable[[Preparation], object], new_progress: Callable[[], Preparation], retry_after: float, clock: Callable[[], float] = time.monotonic):
        self._prepare, self._new_progress = prepare, new_progress
        self.retry_after, self._clock = retry_after, clock
        self._job: tuple[Future, Preparation] | None = None
        self._lock = threading.Lock()

    def start_or_join(self) -> tuple[Future, Preparation]:
        """The running (or finished) attempt's future and progress, or a new attempt's."""
        with self._lock:
            job = self._job
            if job is None or self._may_retry(job):
                progress = self._new_progress()
                worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stylize-prepare")
                job = self._job = (worker.submit(self._prepare, progress), progress)
                worker.shutdown(wait=False)
            return job

    def _may_retry(self, job: tuple[Future, Preparation]) -> bool:
        future, progress = job
        if not future.done() or future.exception() is None:
            return False
        return self._clock() - (progress.finished_at or 0.0) >= self.retry_after
