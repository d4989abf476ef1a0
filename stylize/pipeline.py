"""Stylizer: one request from photo to painted result, with per-stage timings.

decode → segment (person mask) → predict (style vector, cached; blended for strength) →
transfer (letterboxed, so the photo keeps its aspect ratio) → composite (feathered mask).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from .config import Settings
from .engine import Engine, Model, make_engine
from .errors import InputError
from .imaging import (
    composite,
    decode_image,
    feather,
    fit_within,
    from_unit_float,
    letterbox,
    png_bytes,
    to_unit_float,
    unletterbox,
)
from .manifest import Asset, Manifest, load_manifest
from .segment import Segmenter
from .store import ModelStore, ProgressCallback, ProgressTotal
from .styles import Style, StyleVectors, decode_vectors, vectors_key

MASK_MODES = ("full", "background", "foreground")
STAGES = ("decode", "segment", "predict", "transfer", "composite")


@dataclass(frozen=True)
class StylizeOptions:
    transfer: str = "int8"
    segmenter: str = "deeplabv3"
    mask: str = "background"
    strength: float = 1.0
    max_side: int = 1024
    feather: float | None = None  # edge softness in pixels; None: 0.6 % of the longer side

    def validated(self) -> StylizeOptions:
        if self.mask not in MASK_MODES:
            raise InputError(f"Mask mode {self.mask!r} is not one of {', '.join(MASK_MODES)}; pick one of those.")
        if not 0.0 <= self.strength <= 1.0:
            raise InputError(f"Style strength {self.strength} is outside 0 to 1; give a value between 0 and 1.")
        if self.max_side < 64:
            raise InputError(f"The output size limit {self.max_side} is too small; give at least 64 pixels.")
        return self


@dataclass
class Result:
    image: np.ndarray
    original: np.ndarray
    keep_weight: np.ndarray | None
    options: StylizeOptions
    style: str
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def total_ms(self) -> float:
        return sum(self.timings_ms.values())

    @cached_property
    def png(self) -> bytes:
        """The result as a PNG file, encoded once."""
        return png_bytes(self.image)


class Stylizer:
    """Holds the store, the loaded models and the style-vector cache; ``stylize`` is its verb."""

    def __init__(self, manifest: Manifest, store: ModelStore, engine: Engine, fetch_workers: int = 8):
        self.manifest = manifest
        self.store = store
        self.engine = engine
        self.fetch_workers = fetch_workers
        self._models: dict[str, Model] = {}
        self._styles: dict[str, Style] = {}
        self._lock = threading.RLock()
        self._vectors: StyleVectors | None = None
        self.ready = False
        self._preparing: tuple[Future, ProgressTotal] | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Stylizer:
        settings = settings or Settings.from_env()
        return cls(
            load_manifest(settings.manifest_path),
            ModelStore.from_spec(settings.model_store, settings.cache_dir),
            make_engine(settings.engine, settings.threads),
            settings.fetch_workers,
        )

    # --- what there is -------------------------------------------------------------------------
    def assets(self, role: str) -> tuple[Asset, ...]:
        return tuple(a for a in self.manifest.by_role(role) if a.required)

    @property
    def gallery(self) -> tuple[Asset, ...]:
        return self.assets("style")

    # --- loading ---------------------------------------------------------------------------------
    def prepare(self, progress: ProgressCallback | None = None) -> dict[str, Path]:
        """Fetch every required asset (concurrently), load every model and have the gallery's
        style vectors ready. Safe to call again; ``ready`` is true once it has succeeded."""
        paths = self.store.fetch_many(self.manifest.required(), progress, self.fetch_workers)
        for role in ("transfer", "segment"):
            for asset in self.assets(role):
                self.model(asset)
        self.adopt_published_vectors()
        for asset in self.gallery:
            self.vectors.vector(self.style(asset.name))
        self.ready = True
        return paths

    def prepare_in_background(self) -> tuple[Future, ProgressTotal]:
        """Start ``prepare`` on a worker thread, or join the one already running, so that visitors
        arriving together share one fetch; returns its future and progress. A failed attempt is
        started afresh on the next call."""
        with self._lock:
            job = self._preparing
            if job is None or (job[0].done() and job[0].exception() is not None):
                total = ProgressTotal(self.manifest.required(), lambda _: None)
                worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stylize-prepare")
                job = self._preparing = (worker.submit(self.prepare, total), total)
                worker.shutdown(wait=False)
            return job

    def load_for(self, options: StylizeOptions) -> None:
        """Load the models ``options`` need now, so that a request's timings hold no loading."""
        self.model(self.manifest.get("transfer", options.transfer))
        if options.mask != "full":
            self.model(self.manifest.get("segment", options.segmenter))
        self.vectors  # noqa: B018 - loads the predict model

    def adopt_published_vectors(self) -> int:
        """Use the gallery's style vectors published beside the models, if the store has them;
        returns how many were adopted (0 when none were published: they are computed instead)."""
        predict = self.manifest.predict
        data = self.store.read_unpinned(vectors_key(predict))
        if data is None:
            return 0
        try:
            published = decode_vectors(predict, data)
        except (ValueError, KeyError, TypeError):
            return 0
        for style_sha, vector in published.items():
            self.vectors.add(style_sha, vector)
        return len(published)

    def model(self, asset: Asset) -> Model:
        with self._lock:
            if asset.key not in self._models:
                self._models[asset.key] = self.engine.load(self.store.fetch(asset))
            return self._models[asset.key]

    @property
    def vectors(self) -> StyleVectors:
        with self._lock:
            if self._vectors is None:
                predict = self.manifest.predict
                self._vectors = StyleVectors(self.model(predict), predict.sha256, self.store.cache_dir)
            return self._vectors

    def style(self, name: str) -> Style:
        """A gallery style by its name (``style19``) or title (``Starry Night``)."""
        asset = self.manifest.get("style", name)
        with self._lock:
            if asset.key not in self._styles:
                data = self.store.fetch(asset).read_bytes()
                self._styles[asset.key] = Style(asset.name, asset.title, asset.sha256, decode_image(data, what=asset.title))
            return self._styles[asset.key]

    def segmenter(self, name: str) -> Segmenter:
        asset = self.manifest.get("segment", name)
        return Segmenter(asset, self.model(asset))

    # --- running ---------------------------------------------------------------------------------
    def stylize(self, content: bytes | np.ndarray, style: str | Style, options: StylizeOptions | None = None) -> Result:
        """Paint ``content`` (file bytes or RGB pixels) in ``style`` (a gallery name or a Style)."""
        options = (options or StylizeOptions()).validated()
        timings: dict[str, float] = {}
        with _timed(timings, "decode"):
            rgb = photo_pixels(content, options.max_side)
        style = self.style(style) if isinstance(style, str) else style
        transfer_asset = self.manifest.get("transfer", options.transfer)
        keep = None
        with _timed(timings, "segment"):
            if options.mask != "full":
                person = self.segmenter(options.segmenter).person_probability(rgb) > 0.5
                radius = options.feather if options.feather is not None else 0.006 * max(rgb.shape[:2])
                keep = feather(person if options.mask == "background" else ~person, radius)
        with _timed(timings, "predict"):
            vector = self.blended_vector(rgb, style, options.strength)
        with _timed(timings, "transfer"):
            painted = self.transfer(rgb, vector, transfer_asset)
        with _timed(timings, "composite"):
            image = painted if keep is None else composite(rgb, painted, keep)
        return Result(image, rgb, keep, options, style.title, timings)

    def blended_vector(self, rgb: np.ndarray, style: Style, strength: float) -> np.ndarray:
        """The style's vector, mixed with the photo's own for strengths below 1."""
        vector = self.vectors.vector(style)
        if strength >= 1.0:
            return vector
        return strength * vector + (1.0 - strength) * self.vectors.predict(rgb)

    def transfer(self, rgb: np.ndarray, vector: np.ndarray, asset: Asset) -> np.ndarray:
        """The transfer network's painting of ``rgb``, at ``rgb``'s own size."""
        model = self.model(asset)
        square, box = letterbox(rgb, asset.size)
        image_input = next(t.name for t in model.inputs if t.shape[-1] == 3)
        vector_input = next(t.name for t in model.inputs if t.shape[-1] != 3)
        out = model.run({image_input: to_unit_float(square)[None], vector_input: vector})[0]
        return unletterbox(from_unit_float(out.reshape(asset.size, asset.size, 3)), box, rgb.shape[1], rgb.shape[0])


def photo_pixels(content: bytes | np.ndarray, max_side: int) -> np.ndarray:
    """RGB pixels of a photo (file bytes or an RGB frame), scaled down to ``max_side``."""
    if isinstance(content, bytes | bytearray):
        return fit_within(decode_image(content), max_side)
    if content.ndim != 3 or content.shape[2] != 3 or content.dtype != np.uint8:
        raise InputError(f"The frame has shape {content.shape} and type {content.dtype}; pass height × width × 3 uint8 RGB pixels.")
    return fit_within(content, max_side)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = (time.perf_counter() - start) * 1000.0
