"""ModelStore: manifest assets fetched from one source into the verified cache, each try bounded
and spaced by exponential backoff with full jitter, all tries of one asset within a deadline."""

from __future__ import annotations

import io
import random
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..config import FetchPolicy
from ..errors import MissingAsset, StoreError
from ..manifest import Asset
from .cache import VerifiedCache
from .deadline import DEFAULT_POLICY, Deadline, TransientError
from .progress import Progress, ProgressCallback
from .source import Source
from .spec import source_from_spec


class Skipped(StoreError):
    """Not tried, because another asset of the same batch had failed."""


class ModelStore:
    """Verified local copies of manifest assets, fetched from one source."""

    def __init__(self, source: Source, cache_dir: Path, policy: FetchPolicy = DEFAULT_POLICY):
        self.source = source
        self.policy = policy
        self.cache = VerifiedCache(cache_dir)
        self._sleep = time.sleep

    @classmethod
    def from_spec(cls, spec: str, cache_dir: Path, policy: FetchPolicy = DEFAULT_POLICY) -> ModelStore:
        return cls(source_from_spec(spec, policy), cache_dir, policy)

    @property
    def description(self) -> str:
        return self.source.description

    @property
    def cache_dir(self) -> Path:
        """Where new files are written (the configured folder, or a private one if it can't be)."""
        return self.cache.cache_dir

    @property
    def configured_dir(self) -> Path:
        return self.cache.configured_dir

    @property
    def fallback_reason(self) -> str | None:
        return self.cache.fallback_reason

    def cached_path(self, asset: Asset) -> Path:
        """Where the asset's verified copy is, or will be once fetched."""
        return self.cache.locate(asset) or self.cache_dir / asset.key

    def is_cached(self, asset: Asset) -> bool:
        """Whether a cache holds the asset with the right sha256 (hashed once per file version)."""
        return self.cache.locate(asset) is not None

    def fetch(self, asset: Asset, progress: ProgressCallback | None = None, abort: threading.Event | None = None) -> Path:
        """The cached, verified file of ``asset``, downloading it first if needed: tries spaced
        by jittered backoff, all within the policy's deadline; no new try once ``abort`` is set
        (another asset of the same batch has failed)."""
        found = self.cache.locate(asset)
        if found is not None:
            if progress:
                progress(Progress(asset, asset.bytes, asset.bytes, cached=True))
            return found
        if abort is not None and abort.is_set():
            raise Skipped(f"{asset.key} was not fetched because another file from the {self.description} could not be; see that error.")
        deadline = Deadline(self.policy.deadline)
        tries = 0
        while True:
            tries += 1
            try:
                path = self._download(asset, progress, deadline)
                if progress:
                    progress(Progress(asset, asset.bytes, asset.bytes))
                return path
            except TransientError as exc:
                pause = random.uniform(0, self.policy.backoff * 2 ** (tries - 1))
                # a new try must have time for a whole read timeout: a silent store is not asked once more
                out_of_time = deadline.remaining() - pause < min(self.policy.read_timeout, self.policy.deadline / 2)
                if tries >= self.policy.tries or out_of_time or (abort is not None and abort.is_set()):
                    attempts = f"{tries} {'try' if tries == 1 else 'tries'}"
                    within = f"within {self.policy.deadline:.0f} s ({attempts}; last: {exc})" if out_of_time else f"after {attempts} (last: {exc})"
                    raise StoreError(
                        f"{asset.key} could not be fetched from the {self.description} {within}; "
                        "check that the store is reachable, or raise STYLIZE_FETCH_DEADLINE for a slow link."
                    ) from exc
                self._sleep(pause)

    def _download(self, asset: Asset, progress: ProgressCallback | None, deadline: Deadline) -> Path:
        done = 0

        def on_bytes(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(Progress(asset, min(done, asset.bytes), asset.bytes))

        return self.cache.write(asset, lambda out: self.source.download(asset.key, asset.url, out, on_bytes, deadline), self.description)

    def fetch_many(
        self, assets: Iterable[Asset], progress: ProgressCallback | None = None, workers: int = 8, missing: dict[str, MissingAsset] | None = None
    ) -> dict[str, Path]:
        """Fetch several assets at once; returns key → path. On the first error the rest are
        cancelled and that error is raised — except, when ``missing`` is given, an asset the
        store does not hold: it is recorded there (key → error) and the others go on."""
        assets = list(assets)
        paths: dict[str, Path] = {}
        failed = threading.Event()  # once one asset fails, the others make no new try: a dead store is not asked again and again

        def one(asset: Asset) -> Path:
            try:
                return self.fetch(asset, progress, failed)
            except MissingAsset:
                if missing is None:
                    failed.set()
                raise
            except BaseException:
                failed.set()  # by the worker itself, before it takes the next asset
                raise

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(assets) or 1))) as pool:
            futures = {pool.submit(one, a): a.key for a in assets}
            for future in as_completed(futures):
                error = future.exception()
                if isinstance(error, Skipped):
                    continue  # the asset that did fail is reported, not the ones skipped after it
                if isinstance(error, MissingAsset) and missing is not None:
                    missing[futures[future]] = error
                    continue
                if error is not None:
                    for other in futures:
                        other.cancel()
                    raise error
                paths[futures[future]] = future.result()
        return {a.key: paths[a.key] for a in assets if a.key in paths}

    def read_unpinned(self, key: str) -> bytes | None:
        """The bytes of an object the manifest doesn't pin (derived data such as published style
        vectors), or None when the store doesn't have it; the caller validates what it reads."""
        buffer = io.BytesIO()
        try:
            self.source.download(key, None, buffer, lambda _: None, Deadline(self.policy.deadline))
        except (StoreError, TransientError):
            return None
        return buffer.getvalue()
