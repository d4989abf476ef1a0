"""How far fetches have come: one asset's ``Progress``, and ``ProgressTotal`` adding up several
concurrent fetches into one figure for a progress bar."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..manifest import Asset


@dataclass(frozen=True)
class Progress:
    """How far the fetch of one asset has come; ``done == total`` once it is in the cache."""

    asset: Asset
    done: int
    total: int
    cached: bool = False


ProgressCallback = Callable[[Progress], None]


class ProgressTotal:
    """Adds up the progress of several concurrent fetches into one figure for a progress bar.

    Call it with each ``Progress``; it calls ``on_change(self)`` after every update.
    """

    def __init__(self, assets: Iterable[Asset], on_change: Callable[[ProgressTotal], None]):
        assets = list(assets)
        self.files = len(assets)
        self.total_bytes = sum(a.bytes for a in assets) or 1
        self.on_change = on_change
        self._done: dict[str, int] = {}
        self._finished: set[str] = set()
        self._cached: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self._done[progress.asset.key] = progress.done
            if progress.done == progress.total:
                self._finished.add(progress.asset.key)
            if progress.cached:
                self._cached.add(progress.asset.key)
            self.on_change(self)

    @property
    def fraction(self) -> float:
        return min(1.0, sum(self._done.values()) / self.total_bytes)

    @property
    def from_cache(self) -> int:
        return len(self._cached)

    def describe(self) -> str:
        done_mb = sum(self._done.values()) / 1e6
        return f"{done_mb:.1f} of {self.total_bytes / 1e6:.1f} MB, {len(self._finished)} of {self.files} files"

    def missing(self, asset: Asset) -> None:
        """``asset`` is not in the store: it no longer counts towards the total."""
        with self._lock:
            if asset.key not in self._done:
                self.files -= 1
                self.total_bytes = max(1, self.total_bytes - asset.bytes)
            self.on_change(self)
