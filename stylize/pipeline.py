"""Stylizer: one request from photo to painted result, with per-stage timings.

decode → segment (person mask) → predict (style vectors, cached; mixed with a second style and
blended for strength) → transfer (at the photo's own aspect ratio and a chosen resolution; a
second time for a person's own style) → colours (the photo's own, if kept) → composite (feathered
mask). A live video steadies the painting and mask against the stream's earlier frames, and
looks for faces in one frame of a few (``stream.VideoStream``). The person is found on another
thread while the picture is painted.

Sizes: the photo is scaled so that its longer side is at most ``max_side`` (``None``: its own
size) — that is the result's size. The transfer network paints at ``paint_side`` on the longer
side (``None``: the result's size), its "stroke size": a network that paints fewer pixels makes
strokes that are larger relative to the picture. The painting is then scaled to the result's size.
Each engine paints a picture whole up to ``MAX_PAINT_SIDE`` on the longer side (its memory grows
with the pixels). A larger painting is made in tiles of ``tile_side`` that share the whole
picture's statistics (``tiling.py``): at its own size, in bounded memory. With tiling off
(``tile_side`` 0) or for a network that cannot be cut into stages, it is painted at
``MAX_PAINT_SIDE`` and scaled up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import person
from .admission import DEFAULT_BUDGET_MB, MB, MemoryGate, Waiting, paint_cost
from .colors import keep_colors
from .config import Settings
from .engine import BF16, F32, Engine, Model, make_engine
from .engine.stages import STAGE, StagePlan, stage_plan
from .errors import InputError, StoreError
from .faces import Face, FaceDetector
from .imaging import (
    composite,
    decode_image,
    fit_within,
    from_unit_float,
    letterbox,
    output_size,
    pad_to_multiple,
    resize,
    to_unit_float,
    unletterbox,
)
from .manifest import Asset, Manifest, load_manifest
from .options import StylizeOptions
from .preparation import Preparation
from .result import Result
from .segment import Segmenter
from .store import ModelStore, ProgressTotal
from .stream import VideoStream
from .styles import Style, StyleVectors, decode_vectors, vectors_key
from .tiling import TileProgress, crop_shapes, paint_tiled, tile_plan

MODEL_ROLES = ("transfer", "segment", "face")  # the models prepare loads (the predict model comes with the style vectors)
MAX_PAINT_SIDE = {"openvino": 2048, "litert": 768}  # painted whole: LiteRT needs ~1.5 GB at 1024×768, OpenVINO ~0.6 GB at 2048×1536
TILE_SIDE = 512  # larger paintings are made in tiles this many pixels a side, chosen by memory (README: tiles)
SIZE_MULTIPLE = 4  # the transfer networks halve the picture twice and double it back
# Style vectors always come from LiteRT, whatever the request's engine: the predict network runs
# once per style, LiteRT's integer kernels are the reference for its int8 file (OpenVINO emulates
# them in float and lands up to 0.08 away per number), and so the vectors cached on disk and
# published beside the models are the same for every engine.
PREDICT_ENGINE = "litert"
# The person and face networks (≤ 257², a few ms each) run on one thread: a second one costs them
# more CPU than it saves time, and on a live webcam that CPU is a painted frame's.
SINGLE_THREAD_ROLES = ("segment", "face")
PHOTO_FACES, VIDEO_FACES = "face-full", "face-short"  # BlazeFace full range finds small faces; short range is made for a camera at arm's length
MASK_WORKERS = 4  # requests whose person is being found at once; more wait their turn
RETRY_PREPARE_AFTER = 20.0  # seconds: a failed preparation is not started again sooner
# Where the CPU has bfloat16 arithmetic (OpenVINO reports BF16) it is offered as a choice; it is the
# default only by the rule scripts/measure_precision.py checks: every transfer model's bfloat16
# painting of the sample photos within BF16_FLOOR_DB of its float32 one. Measured on an AVX-512 BF16
# EPYC: float16 43.1 dB (0.58× the time), dynamic-range 40.1 dB (0.55×), int8 23.9 dB (no faster) —
# so float32 stays the default (README: the runtimes).
BF16_FLOOR_DB = 45.0
DEFAULT_BF16 = False


_SHARED: dict[Settings, Stylizer] = {}
_SHARED_LOCK = threading.Lock()


class Stylizer:
    """Holds the store, the loaded models and the style-vector cache; ``stylize`` is its verb."""

    def __init__(
        self, manifest: Manifest, store: ModelStore, engine: Engine, fetch_workers: int = 8, tile_side: int = TILE_SIDE, memory_budget_mb: int = DEFAULT_BUDGET_MB
    ):
        self.manifest = manifest
        self.tile_side = tile_side  # 0: never tile
        self.tile_above: int | None = None  # paintings longer than this are tiled; None: the engine's MAX_PAINT_SIDE
        self.gate = MemoryGate(memory_budget_mb * MB)  # paintings at once, by their memory cost
        self.store = store
        self.engine = engine  # the default; others are made on demand with the same settings
        self.engines: dict[str, Engine] = {engine.name: engine}
        self.fetch_workers = fetch_workers
        self._models: dict[tuple[str, str, str], Model] = {}
        self._stages: dict[tuple[str, str, str], tuple[StagePlan, list[Model]] | None] = {}
        self.load_ms: dict[tuple[str, str, str], float] = {}  # (engine, asset key, precision) → ms to read and compile
        self._derived: frozenset[str] | None = None  # keys of the derived variants the store holds, once probed
        self._mask_workers = ThreadPoolExecutor(max_workers=MASK_WORKERS, thread_name_prefix="stylize-mask")
        self._styles: dict[str, Style] = {}
        self._lock = threading.RLock()
        self._vectors: StyleVectors | None = None
        self.ready = False
        self._preparing: tuple[Future, ProgressTotal] | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Stylizer:
        settings = settings or Settings.from_env()
        store = ModelStore.from_spec(settings.model_store, settings.cache_dir, settings.fetch_policy)
        return cls(
            load_manifest(settings.manifest_path),
            store,
            make_engine(settings.engine, settings.threads, store.cache_dir),  # the cache that can be written
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

    # --- what there is -------------------------------------------------------------------------
    def assets(self, role: str) -> tuple[Asset, ...]:
        """The role's assets the page and the comparison use: the required ones, and the derived
        variants (``python -m stylize convert``) that this store has."""
        derived = self.derived_available()
        return tuple(a for a in self.manifest.by_role(role) if a.required or a.key in derived)

    def derived_available(self, probe: bool = False) -> frozenset[str]:
        """Keys of the derived variants this store holds. ``probe`` asks the store (fetching and
        verifying them, once; ``prepare`` does it); without it, before that, only what the cache
        already holds is counted — so a page drawn while the store is slow or down never waits
        on it here."""
        if self._derived is not None:
            return self._derived
        derived = [a for a in self.manifest.assets if a.derived_from is not None]
        if not probe:
            return frozenset(a.key for a in derived if self.store.is_cached(a))
        found = set()
        for asset in derived:
            try:
                self.store.fetch(asset)
                found.add(asset.key)
            except StoreError:
                continue  # not published to this store: the shipped variants still work
        self._derived = frozenset(found)
        return self._derived

    @property
    def gallery(self) -> tuple[Asset, ...]:
        return self.assets("style")

    # --- loading ---------------------------------------------------------------------------------
    def prepare(self, progress: Preparation | None = None) -> dict[str, Path]:
        """Fetch every required asset (concurrently), load every model and have the gallery's
        style vectors ready, reporting each step to ``progress``. Safe to call again; ``ready``
        is true once it has succeeded."""
        progress = progress or self._preparation()
        try:
            paths = self.store.fetch_many(self.manifest.required(), progress.fetch, self.fetch_workers)
            self.derived_available(probe=True)
            progress.totals["models"] = sum(len(self.assets(role)) for role in MODEL_ROLES)  # derived variants included now
            for role in MODEL_ROLES:
                for asset in self.assets(role):
                    self.model(asset, None, self.precision_for(StylizeOptions()) if role == "transfer" else F32)  # as a request will
                    progress.step("models")
            self.adopt_published_vectors()
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
        started afresh on the next call."""
        with self._lock:
            job = self._preparing
            failed = job is not None and job[0].done() and job[0].exception() is not None
            if job is None or (failed and time.monotonic() - self._failed_at(job) >= RETRY_PREPARE_AFTER):
                progress = self._preparation()
                worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stylize-prepare")
                job = self._preparing = (worker.submit(self.prepare, progress), progress)
                worker.shutdown(wait=False)
            return job

    def _preparation(self) -> Preparation:
        return Preparation(self.manifest.required(), sum(len(self.assets(role)) for role in MODEL_ROLES), len(self.gallery))

    def _failed_at(self, job: tuple[Future, Preparation]) -> float:
        return job[1].finished_at or 0.0

    def load_for(self, options: StylizeOptions) -> None:
        """Load the models ``options`` need now, so that a request's timings hold no loading."""
        self.model(self.manifest.get("transfer", options.transfer), options.engine, self.precision_for(options))
        if options.mask != "full":
            self.segmenter(options.segmenter, options.engine)
            if options.keep_faces:
                self.face_detector(PHOTO_FACES, options.engine)
                self.face_detector(VIDEO_FACES, options.engine)
        self.vectors  # noqa: B018 - loads the predict model

    def warm_up(self, width: int, height: int, options: StylizeOptions) -> float:
        """Build the transfer model for the size a ``width``×``height`` input will be painted at
        (a webcam's frame size, say), so the first frame waits for no compile; returns the ms."""
        options = options.validated()
        self.load_for(options)
        asset = self.manifest.get("transfer", options.transfer)
        model = self.model(asset, options.engine, self.precision_for(options))
        if options.letterbox:
            return 0.0
        out_w, out_h = output_size(width, height, options.max_side)
        paint_w, paint_h = self.paint_size(out_w, out_h, options)
        if self.tiled(paint_w, paint_h, options):
            plan, models = self.stage_models(asset, options.engine, self.precision_for(options))
            spent = 0.0
            for stage, stage_model, crops in zip(plan.stages, models, crop_shapes(plan, _round_up(paint_w), _round_up(paint_h), self.tile_side), strict=True):
                for crop in crops:
                    spatial = {t.name: (1, *crop, t.shape[-1]) for t in stage_model.inputs if t.name in stage.spatial}
                    spent += stage_model.prepare_shape({t.name: spatial.get(t.name, t.shape) for t in stage_model.inputs})
            return spent
        shapes = {t.name: (1, _round_up(paint_h), _round_up(paint_w), 3) if t.shape[-1] == 3 else t.shape for t in model.inputs}
        return model.prepare_shape(shapes)

    def engine_named(self, name: str | None) -> Engine:
        """The engine called ``name`` (None: the default), made on first use."""
        if name is None:
            return self.engine
        with self._lock:
            if name not in self.engines:
                self.engines[name] = make_engine(name, self.engine.threads, getattr(self.engine, "cache_dir", None))
            return self.engines[name]

    def precisions(self, engine: str | None = None) -> tuple[str, ...]:
        """The inference precisions ``engine`` (None: the default) offers on this machine."""
        return self.engine_named(engine).precisions()

    def precision_for(self, options: StylizeOptions) -> str:
        """The transfer network's arithmetic for ``options``: the one asked for, if this machine's
        engine offers it (one sentence if not), else the machine's default (``DEFAULT_BF16``)."""
        offered = self.precisions(options.engine)
        if options.precision is None:
            return BF16 if DEFAULT_BF16 and BF16 in offered else F32
        if options.precision not in offered:
            raise InputError(f"This machine's {self.engine_named(options.engine).name} cannot compute in {options.precision}; choose {F32}.")
        return options.precision

    def paint_size(self, width: int, height: int, options: StylizeOptions) -> tuple[int, int]:
        """(width, height) the transfer network paints a ``width``×``height`` result at: the
        stroke size asked for, in tiles where it is larger than a tile, else at most the engine's
        ``MAX_PAINT_SIDE``."""
        side = min(max(width, height), options.paint_side or max(width, height))
        painted = output_size(width, height, side)
        if self.tiled(*painted, options):
            return painted
        return output_size(width, height, min(side, MAX_PAINT_SIDE[self.engine_named(options.engine).name]))

    def tiled(self, paint_w: int, paint_h: int, options: StylizeOptions) -> bool:
        """Whether a painting of ``paint_w``×``paint_h`` is made in tiles: when it is longer than
        the engine paints whole and the transfer network can be cut into stages."""
        above = self.tile_above if self.tile_above is not None else MAX_PAINT_SIDE[self.engine_named(options.engine).name]
        if self.tile_side <= 0 or options.letterbox or max(paint_w, paint_h) <= above:
            return False
        return self.stage_models(self.manifest.get("transfer", options.transfer), options.engine, self.precision_for(options)) is not None

    def stage_models(self, asset: Asset, engine: str | None = None, precision: str = F32) -> tuple[StagePlan, list[Model]] | None:
        """The transfer network cut into stages for tiled painting, each stage's model loaded
        once; None for a network that cannot be (one whose shapes are set at run time)."""
        key = (self.engine_named(engine).name, asset.key, precision)
        with self._lock:
            if key not in self._stages:
                try:
                    plan = stage_plan(self.store.fetch(asset).read_bytes())
                except ValueError:
                    self._stages[key] = None
                else:
                    self._stages[key] = (plan, [self.model(asset, engine, precision, f"{STAGE}{i}") for i in range(len(plan.stages))])
            return self._stages[key]

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

    def model(self, asset: Asset, engine: str | None = None, precision: str = F32, graph: str | None = None) -> Model:
        """The asset's model on ``engine`` (None: the default) in ``precision``, loaded once;
        ``graph``: a rewrite of it (a stage of the transfer network, ``engine/stages.py``)."""
        backend = self.engine_named(engine)
        key = (backend.name, asset.key if graph is None else f"{asset.key}#{graph}", precision)
        with self._lock:
            if key not in self._models:
                path = self.store.fetch(asset)
                started = time.perf_counter()
                self._models[key] = backend.load(path, 1 if asset.role in SINGLE_THREAD_ROLES else None, precision, graph)
                self.load_ms[key] = (time.perf_counter() - started) * 1000.0
            return self._models[key]

    @property
    def vectors(self) -> StyleVectors:
        with self._lock:
            if self._vectors is None:
                predict = self.manifest.predict
                self._vectors = StyleVectors(self.model(predict, PREDICT_ENGINE), predict.sha256, self.store.cache_dir)
            return self._vectors

    def style(self, name: str) -> Style:
        """A gallery style by its name (``style19``) or title (``Starry Night``)."""
        asset = self.manifest.get("style", name)
        with self._lock:
            if asset.key not in self._styles:
                data = self.store.fetch(asset).read_bytes()
                self._styles[asset.key] = Style(asset.name, asset.title, asset.sha256, decode_image(data, what=asset.title))
            return self._styles[asset.key]

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
        if options.keep_faces:
            detector = self.face_detector(PHOTO_FACES if stream is None else VIDEO_FACES, options.engine)
        return person.person_mask(rgb, self.segmenter(options.segmenter, options.engine), detector, stream)

    # --- running ---------------------------------------------------------------------------------
    def stylize(
        self, content: bytes | np.ndarray, style: str | Style, options: StylizeOptions | None = None, progress: TileProgress | None = None, waiting: Waiting | None = None
    ) -> Result:
        """Paint ``content`` (file bytes or RGB pixels) in ``style`` (a gallery name or a Style).
        A picture painted in tiles calls ``progress(tiles done, tiles in all)`` after each; a
        painting that waits for memory (``gate``) calls ``waiting(paintings ahead)``."""
        return self._run(content, style, options, None, progress, waiting)

    def stylize_for_video(self, frame: np.ndarray, style: str | Style, options: StylizeOptions, stream: VideoStream) -> Result:
        """Paint one frame of a live video: as ``stylize``, with the painting and the person mask
        steadied against the stream's earlier frames and its faces looked for in one frame of a
        few (``stream`` remembers them; one per stream)."""
        return self._run(frame, style, options, stream)

    def _run(
        self, content: bytes | np.ndarray, style: str | Style, options: StylizeOptions | None, stream: VideoStream | None, progress: TileProgress | None = None, waiting: Waiting | None = None
    ) -> Result:
        options = options if options is not None else StylizeOptions()
        if not isinstance(options, StylizeOptions):
            raise InputError(f"The options are a {type(options).__name__}; pass a StylizeOptions.")
        if not isinstance(style, str | Style):
            raise InputError(f"The style is a {type(style).__name__}; pass a gallery name or a Style.")
        # every name is checked before any work: an unknown one is refused even where it is unused
        transfer_asset = self.manifest.get("transfer", options.transfer)
        self.manifest.get("segment", options.segmenter)
        style, mix_with, person_style = (self._style_of(s) for s in (style, options.mix_with, options.person_style))
        timings: dict[str, float] = {}
        started = time.perf_counter()
        with _timed(timings, "decode"):
            rgb = photo_pixels(content, options.max_side)
        with self._admitted(rgb, options, stream, waiting, timings):
            # the person is found on another thread while the picture is painted (both mostly run
            # outside the GIL: NumPy, Pillow and the runtimes release it) — except for a picture
            # painted in tiles, whose mask's full-size planes would add to the painting's memory
            alongside = options.mask != "full" and not self.tiled(*self.paint_size(rgb.shape[1], rgb.shape[0], options), options)
            masking = self._mask_workers.submit(self._masks, rgb, options, person_style is not None, stream) if alongside else None
            try:
                with _timed(timings, "predict"):
                    vector = self.blended_vector(rgb, style, options.strength, mix_with, options.mix)
                    person_vector = None if person_style is None else self.blended_vector(rgb, person_style, options.strength)
                with _timed(timings, "transfer"):
                    painted, paint_size, tiles = self.transfer(rgb, vector, transfer_asset, options, progress)
                if person_vector is not None:
                    with _timed(timings, "transfer (person's style)"):
                        person_painted, _, _ = self.transfer(rgb, person_vector, transfer_asset, options, progress)
            except BaseException:
                if masking is not None:
                    wait([masking])  # no work of this request outlives it
                raise
            if masking is None and options.mask != "full":
                masking = _done(self._masks(rgb, options, person_style is not None, stream))
            keep, person_weight, faces, segment_ms = (None, None, [], None) if masking is None else masking.result()
            if segment_ms is not None:
                timings["segment"] = segment_ms
            if options.keep_colors:
                with _timed(timings, "colours"):
                    painted = keep_colors(painted, rgb)
                    if person_vector is not None:
                        person_painted = keep_colors(person_painted, rgb)
            if person_vector is not None:
                with _timed(timings, "composite"):
                    painted = composite(person_painted, painted, person_weight)
            if stream is not None:
                with _timed(timings, "steady"):
                    painted, keep = stream.steadier.update(rgb, painted, keep)
            with _timed(timings, "composite"):
                image = painted if keep is None else composite(rgb, painted, keep)
            return Result(
                image,
                rgb,
                keep,
                options,
                self._title(style, mix_with, options.mix),
                timings,
                self.engine_named(options.engine).name,
                paint_size,
                None if person_style is None else person_style.title,
                faces,
                precision=self.precision_for(options),
                tiles=tiles,
                elapsed_ms=(time.perf_counter() - started) * 1000.0,
            )

    @contextmanager
    def _admitted(self, rgb: np.ndarray, options: StylizeOptions, stream: VideoStream | None, waiting: Waiting | None, timings: dict[str, float]) -> Iterator[None]:
        """Hold this painting's share of the memory budget while it runs. A live video's frames
        are small and cannot wait: they are not queued."""
        if stream is not None:
            yield
            return
        height, width = rgb.shape[:2]
        paint_w, paint_h = self.paint_size(width, height, options)
        cost = paint_cost(width * height, paint_w * paint_h, self.engine_named(options.engine).name, self.tiled(paint_w, paint_h, options))
        started = time.perf_counter()
        with self.gate.admitted(cost, waiting):
            queued = (time.perf_counter() - started) * 1000.0
            if queued >= 1.0:
                timings["queued"] = queued
            yield

    def _masks(self, rgb: np.ndarray, options: StylizeOptions, person_styled: bool, stream: VideoStream | None) -> tuple[np.ndarray | None, np.ndarray | None, list[Face], float]:
        """(keep, person_weight, faces, ms): how much of the photo each pixel keeps (or, with a
        person's style, how much of the person's painting), with the feathered edge."""
        started = time.perf_counter()
        found, faces = self.person_mask(rgb, options, stream)
        keep, person_weight = person.keep_weights(found, faces, options, person_styled)
        return keep, person_weight, faces, (time.perf_counter() - started) * 1000.0

    def _style_of(self, style: str | Style | None) -> Style | None:
        return self.style(style) if isinstance(style, str) else style

    @staticmethod
    def _title(style: Style, mix_with: Style | None, mix: float) -> str:
        """What the result is painted in, as a person reads it."""
        if mix_with is None or mix == 0.0:
            return style.title
        if mix == 1.0:
            return mix_with.title
        return f"{style.title} {round(100 * (1 - mix))} % + {mix_with.title} {round(100 * mix)} %"

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

    def transfer(
        self, rgb: np.ndarray, vector: np.ndarray, asset: Asset, options: StylizeOptions, progress: TileProgress | None = None
    ) -> tuple[np.ndarray, tuple[int, int], int]:
        """The transfer network's painting of ``rgb`` at ``rgb``'s own size, the (width, height)
        it was painted at, and the tiles it was painted in (0: whole)."""
        height, width = rgb.shape[:2]
        paint_w, paint_h = self.paint_size(width, height, options)
        if self.tiled(paint_w, paint_h, options):
            plan, models = self.stage_models(asset, options.engine, self.precision_for(options))
            padded = pad_to_multiple(resize(rgb, paint_w, paint_h), SIZE_MULTIPLE)
            painted = paint_tiled(models, plan, padded, vector, self.tile_side, progress)[:paint_h, :paint_w]
            tiles = tile_plan(plan, padded.shape[1], padded.shape[0], self.tile_side).most
            return resize(painted, width, height), (paint_w, paint_h), tiles
        model = self.model(asset, options.engine, self.precision_for(options))
        image_input = next(t.name for t in model.inputs if t.shape[-1] == 3)
        vector_input = next(t.name for t in model.inputs if t.shape[-1] != 3)
        if options.letterbox:
            square, box = letterbox(rgb, asset.size)
            out = model.run({image_input: to_unit_float(square)[None], vector_input: vector})[0]
            return unletterbox(from_unit_float(out.reshape(asset.size, asset.size, 3)), box, width, height), (asset.size, asset.size), 0
        padded = pad_to_multiple(resize(rgb, paint_w, paint_h), SIZE_MULTIPLE)
        out = model.run({image_input: to_unit_float(padded)[None], vector_input: vector})[0]
        painted = from_unit_float(out[0, :paint_h, :paint_w])
        return resize(painted, width, height), (paint_w, paint_h), 0


def photo_pixels(content: bytes | np.ndarray, max_side: int | None) -> np.ndarray:
    """RGB pixels of a photo (file bytes or an RGB frame), scaled down to ``max_side`` (None:
    kept at its own size)."""
    if isinstance(content, bytes | bytearray | memoryview):
        content = decode_image(bytes(content))
    elif not isinstance(content, np.ndarray):
        raise InputError(f"The photo is a {type(content).__name__}; pass the file's bytes or height × width × 3 uint8 RGB pixels.")
    elif content.ndim != 3 or content.shape[2] != 3 or content.dtype != np.uint8:
        raise InputError(f"The frame has shape {content.shape} and type {content.dtype}; pass height × width × 3 uint8 RGB pixels.")
    return content if max_side is None else fit_within(content, max_side)


def _done(value) -> Future:
    """``value`` as a finished future (a mask found after the painting rather than beside it)."""
    future: Future = Future()
    future.set_result(value)
    return future


def _round_up(side: int) -> int:
    return -(-side // SIZE_MULTIPLE) * SIZE_MULTIPLE


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0  # a stage run twice counts both
