"""Stylizer: one request from photo to painted result, with per-stage timings.

decode → plan (``plan.py``: sizes, whole or tiled, the models needed) → segment (person mask) →
predict (style vectors, cached; mixed with a second style and blended for strength) → transfer
(``transfer.py``; a second time for a person's own style) → colours (the photo's own, if kept) →
composite (feathered mask). A live video steadies the painting and mask against the stream's
earlier frames, and looks for faces in one frame of a few (``stream.VideoStream``). The person is
found on another thread while the picture is painted. Models are held by a ``pool.ModelPool``;
the store's assets, styles and vectors by a ``catalogue.Catalogue``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import person
from .admission import DEFAULT_BUDGET_MB, MB, MemoryGate, Waiting
from .catalogue import Catalogue
from .config import Settings
from .engine import BF16, F32, Engine, Model, make_engine
from .engine.stages import StagePlan
from .errors import InputError
from .faces import Face, FaceDetector
from .manifest import Asset, Manifest, load_manifest
from .options import StylizeOptions
from .plan import PHOTO_FACES, VIDEO_FACES, Limits, PaintPlan, plan
from .pool import ModelPool
from .preparation import BackgroundPreparation, Preparation
from .request import Request
from .result import Result
from .segment import Segmenter
from .store import ModelStore
from .stream import VideoStream
from .styles import Style, StyleVectors
from .tiling import TileProgress
from .transfer import TransferNet

MODEL_ROLES = ("transfer", "segment", "face")  # the models prepare loads (the predict model comes with the style vectors)
MAX_PAINT_SIDE = {"openvino": 2048, "litert": 768}  # painted whole up to this; beyond, a runtime's memory for one painting would outgrow a tile's (README: tiles)
TILE_SIDE = 512  # larger paintings are made in tiles this many pixels a side, chosen by memory (README: tiles)
MASK_WORKERS = 4  # requests whose person is being found at once; more wait their turn
RETRY_PREPARE_AFTER = 20.0  # seconds: a failed preparation is not started again sooner
# Where the CPU has bfloat16 arithmetic (OpenVINO reports BF16) it is offered as a choice; it is the
# default only by the rule scripts/measure_precision.py checks: every transfer model's bfloat16
# painting of the sample photos within BF16_FLOOR_DB of its float32 one (README: the runtimes).
BF16_FLOOR_DB = 45.0
DEFAULT_BF16 = False


_SHARED: dict[Settings, Stylizer] = {}
_SHARED_LOCK = threading.Lock()


class Stylizer:
    """The one façade a caller needs: the store, the model pool, the styles and their vectors;
    ``stylize`` is its verb. ``close()`` (or ``with``) lets its models go."""

    def __init__(
        self,
        manifest: Manifest,
        store: ModelStore,
        engine: Engine,
        fetch_workers: int = 8,
        tile_side: int = TILE_SIDE,
        memory_budget_mb: int = DEFAULT_BUDGET_MB,
        make_engine: Callable[[str, int, Path | None], Engine] = make_engine,
    ):
        self.manifest = manifest
        self.tile_side = tile_side  # 0: never tile
        self.tile_above: int | None = None  # paintings longer than this are tiled; None: the engine's MAX_PAINT_SIDE
        self.gate = MemoryGate(memory_budget_mb * MB)  # paintings at once, by their memory cost
        self.store = store
        self.pool = ModelPool(engine, store.fetch, make_engine)
        self.fetch_workers = fetch_workers
        self.mask_workers = ThreadPoolExecutor(max_workers=MASK_WORKERS, thread_name_prefix="stylize-mask")
        self.catalogue = Catalogue(manifest, store, self.pool)
        self.ready = False
        self.background = BackgroundPreparation(self.prepare, self._preparation, RETRY_PREPARE_AFTER)

    @property
    def engine(self) -> Engine:
        """The default runtime's engine."""
        return self.pool.default

    @property
    def load_ms(self) -> dict[tuple[str, str, str], float]:
        """(runtime, asset key, precision) → ms its model took to read and compile."""
        return self.pool.load_ms

    def close(self) -> None:
        """Let the models go and stop the mask workers (a request after this is refused)."""
        self.mask_workers.shutdown(wait=True)
        self.pool.close()

    def __enter__(self) -> Stylizer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, compile_cache: Path | None = None) -> Stylizer:
        """A stylizer as ``settings`` (default: from the environment) say; its runtimes keep what
        they compile in ``compile_cache`` (default: the store's cache, the folder that can be written)."""
        settings = settings or Settings.from_env()
        store = ModelStore.from_spec(settings.model_store, settings.cache_dir, settings.fetch_policy)
        return cls(
            load_manifest(settings.manifest_path),
            store,
            make_engine(settings.runtime, settings.threads, compile_cache or store.cache_dir),
            settings.fetch_workers,
            settings.tile_side,
            settings.memory_budget_mb,
        )

    @classmethod
    def shared(cls, settings: Settings | None = None) -> Stylizer:
        """The process's one stylizer for ``settings`` (default: from the environment): the page's
        visitors and the server's start-up (serve.py, which starts preparing before the first
        visitor) share its models and caches."""
        settings = settings or Settings.from_env()
        with _SHARED_LOCK:
            if settings not in _SHARED:
                _SHARED[settings] = cls.from_settings(settings)
            return _SHARED[settings]

    # --- what there is (catalogue.py) -------------------------------------------------------
    def assets(self, role: str) -> tuple[Asset, ...]:
        """The role's assets this store gives (the required ones it holds, the derived ones it has)."""
        return self.catalogue.assets(role)

    def missing(self, role: str | None = None) -> list[tuple[Asset, str]]:
        """The assets (of ``role``) this store could not give, with why (one sentence each)."""
        return self.catalogue.missing(role)

    @property
    def gallery(self) -> tuple[Asset, ...]:
        return self.catalogue.gallery

    @property
    def vectors(self) -> StyleVectors:
        return self.catalogue.vectors

    def style(self, name: str) -> Style:
        """A gallery style by its name (``style19``) or title (``Starry Night``)."""
        return self.catalogue.style(name)

    def defaults(self, options: StylizeOptions | None = None) -> StylizeOptions:
        """``options`` (default: ``StylizeOptions()``) with what this store cannot give replaced:
        the first transfer model or segmenter it has, and faces not looked for without a face
        detector. A caller's own explicit choice is checked when it is run instead."""
        options = options or StylizeOptions()
        changes: dict[str, object] = {}
        for role, field in (("transfer", "transfer"), ("segment", "segmenter")):
            have = self.assets(role)
            if have and not self.catalogue.available(role, getattr(options, field)):
                changes[field] = have[0].name
        if options.keep_faces and not self.assets("face"):
            changes["keep_faces"] = False
        return replace(options, **changes) if changes else options

    # --- loading ---------------------------------------------------------------------------------
    def prepare(self, progress: Preparation | None = None) -> dict[str, Path]:
        """Fetch every required asset (concurrently), load every model and have the gallery's
        style vectors ready, reporting each step to ``progress``. Safe to call again; ``ready``
        is true once it has succeeded."""
        progress = progress or self._preparation()
        try:
            paths = self.catalogue.fetch(progress.fetch, self.fetch_workers)
            progress.totals["models"] = sum(len(self.assets(role)) for role in MODEL_ROLES)  # derived variants included now
            for role in MODEL_ROLES:
                for asset in self.assets(role):
                    self.model(asset, None, self.precision_for(self.defaults()) if role == "transfer" else F32)  # as a request will
                    progress.step("models")
            self.catalogue.adopt_published_vectors()
            for asset in self.gallery:
                self.vectors.vector(self.style(asset.name))
                progress.step("styles")
        finally:
            progress.finished_at = time.monotonic()
        self.ready = True
        return paths

    def prepare_in_background(self) -> tuple[Future, Preparation]:
        """Start ``prepare`` on a worker thread, or join the one already running, so that visitors
        arriving together share one fetch; returns its future and progress. A failed attempt is
        started afresh on a call ``RETRY_PREPARE_AFTER`` seconds after it ended."""
        return self.background.start_or_join()

    def _preparation(self) -> Preparation:
        return Preparation(self.manifest.required(), sum(len(self.assets(role)) for role in MODEL_ROLES), len(self.gallery))

    def load_for(self, options: StylizeOptions) -> None:
        """Load the models ``options`` need now, so that a request's timings hold no loading."""
        self.transfer_net(options, tiled=False)
        if options.mask != "full":
            self.segmenter(options.segmenter, options.runtime)
            if options.keep_faces:
                self.face_detector(PHOTO_FACES, options.runtime)
                self.face_detector(VIDEO_FACES, options.runtime)
        self.vectors  # noqa: B018 - loads the predict model

    def warm_up(self, width: int, height: int, options: StylizeOptions) -> float:
        """Build the transfer model for the size a ``width``×``height`` input will be painted at
        (a webcam's frame size, say), so the first frame waits for no compile; returns the ms."""
        self.load_for(options)
        plan = self.plan(options, width, height)
        if plan.letterbox:
            return 0.0
        return self.transfer_net(options, plan.tiled).build_for(plan)

    def engine_for(self, name: str | None) -> Engine:
        """The engine called ``name`` (None: the default), made on first use."""
        return self.pool.engine(name)

    def precisions(self, engine: str | None = None) -> tuple[str, ...]:
        """The inference precisions ``engine`` (None: the default) offers on this machine."""
        return self.engine_for(engine).precisions()

    def precision_for(self, options: StylizeOptions) -> str:
        """The transfer network's arithmetic for ``options``: the one asked for, if this machine's
        engine offers it (one sentence if not), else the machine's default (``DEFAULT_BF16``)."""
        offered = self.precisions(options.runtime)
        if options.precision is None:
            return BF16 if DEFAULT_BF16 and BF16 in offered else F32
        if options.precision not in offered:
            raise InputError(f"This machine's {self.engine_for(options.runtime).name} cannot compute in {options.precision}; choose {F32}.")
        return options.precision

    def limits(self, options: StylizeOptions) -> Limits:
        """What ``options``' runtime and this stylizer allow a painting (``plan.Limits``)."""
        whole = MAX_PAINT_SIDE[self.engine_for(options.runtime).name]
        stages = None
        if self.tile_side > 0 and not options.letterbox:
            stages = self.pool.stage_plan(self.manifest.get("transfer", options.transfer))
        return Limits(whole, self.tile_side, self.tile_above, stages)

    def plan(self, options: StylizeOptions, width: int, height: int, style: str | Style | None = None, video: bool = False) -> PaintPlan:
        """What painting a ``width``×``height`` photo as ``options`` ask will do (``plan.plan``)."""
        asset = self.manifest.get("transfer", options.transfer)
        return plan(options, width, height, self.limits(options), style, asset.size, video)

    def stage_models(self, asset: Asset, engine: str | None = None, precision: str = F32) -> tuple[StagePlan, list[Model]] | None:
        """The transfer network cut into stages for tiled painting, each stage's model loaded
        once; None for a network that cannot be (one whose shapes are set at run time)."""
        return self.pool.stage_models(asset, engine, precision)

    def transfer_net(self, options: StylizeOptions, tiled: bool) -> TransferNet:
        """The transfer network ``options`` name on their runtime and precision (with its stages
        loaded when it is to paint in tiles)."""
        asset = self.manifest.get("transfer", options.transfer)
        precision = self.precision_for(options)
        stages = self.pool.stage_models(asset, options.runtime, precision) if tiled else None
        return TransferNet(asset, self.pool.model(asset, options.runtime, precision), stages, self.tile_side)

    def model(self, asset: Asset, engine: str | None = None, precision: str = F32, graph: str | None = None) -> Model:
        """The asset's model on ``engine`` (None: the default) in ``precision``, loaded once."""
        return self.pool.model(asset, engine, precision, graph)

    def segmenter(self, name: str, engine: str | None = None) -> Segmenter:
        asset = self.manifest.get("segment", name)
        return Segmenter(asset, self.model(asset, engine))

    def face_detector(self, name: str, engine: str | None = None) -> FaceDetector:
        asset = self.manifest.get("face", name)
        return FaceDetector(asset, self.model(asset, engine))

    def person_mask(self, rgb: np.ndarray, options: StylizeOptions, stream: VideoStream | None = None) -> tuple[np.ndarray, list[Face]]:
        """Where the person is in ``rgb`` (boolean, its height × width) and the faces found
        (``person.person_mask``): the segmenter ``options`` name, with every face the full-range
        detector finds in a photo, or the short-range one in a video frame of ``stream``, when
        ``options.keep_faces``."""
        detector = None
        if options.keep_faces and self.assets("face"):  # a store without face detectors: faces are not looked for
            detector = self.face_detector(PHOTO_FACES if stream is None else VIDEO_FACES, options.runtime)
        return person.person_mask(rgb, self.segmenter(options.segmenter, options.runtime), detector, stream)

    # --- running ---------------------------------------------------------------------------------
    def stylize(
        self, content: bytes | np.ndarray, style: str | Style, options: StylizeOptions | None = None, progress: TileProgress | None = None, waiting: Waiting | None = None
    ) -> Result:
        """Paint ``content`` (file bytes or RGB pixels) in ``style`` (a gallery name or a Style).
        A picture painted in tiles calls ``progress(tiles done, tiles in all)`` after each; a
        painting that waits for memory (``gate``) calls ``waiting(paintings ahead)``."""
        return Request(self, content, style, options, None, progress, waiting).run()

    def stylize_for_video(self, frame: np.ndarray, style: str | Style, options: StylizeOptions, stream: VideoStream) -> Result:
        """Paint one frame of a live video: as ``stylize``, with the painting and the person mask
        steadied against the stream's earlier frames and its faces looked for in one frame of a
        few (``stream`` remembers them; one per stream)."""
        return Request(self, frame, style, options, stream).run()

    def blended_vector(self, rgb: np.ndarray, style: Style, strength: float, mix_with: Style | None = None, mix: float = 0.0) -> np.ndarray:
        """The style's vector, mixed with a second style's by ``mix`` (0: the first alone, 1:
        the second alone, exactly), then blended with the photo's own for strengths below 1."""
        vector = self.vectors.vector(style)
        if mix_with is not None and mix > 0.0:
            other = self.vectors.vector(mix_with)
            vector = other if mix >= 1.0 else (1.0 - mix) * vector + mix * other
        if strength >= 1.0:
            return vector
        return strength * vector + (1.0 - strength) * self.vectors.predict(rgb)
