"""The models a process holds: one engine per runtime, each model loaded (and compiled) once per
runtime, precision and graph, the transfer network's stages for tiled painting, and how long each
took to load. Thread-safe: the page's visitors share one pool. ``close()`` (or ``with``) lets them
all go."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .engine import F32, Engine, Model, make_engine
from .engine.stages import STAGE, StagePlan, stage_plan
from .errors import ModelError
from .manifest import Asset

# The person and face networks (≤ 257², a few ms each) run on one thread: a second one costs them
# more CPU than it saves time, and on a live webcam that CPU is a painted frame's.
SINGLE_THREAD_ROLES = ("segment", "face")

ModelKey = tuple[str, str, str]  # (runtime, asset key or "key#graph", precision)


class ModelPool:
    """Engines and loaded models, keyed by runtime. ``fetch`` gives an asset's local file (the
    store's, verified); ``engine`` is the default runtime's engine; others are made on first use
    by ``make``, with its threads and compile cache."""

    def __init__(self, engine: Engine, fetch: Callable[[Asset], Path], make: Callable[[str, int, Path | None], Engine] = make_engine):
        self.default = engine
        self._fetch = fetch
        self._make = make  # (runtime, threads, compile cache) → engine
        self._engines: dict[str, Engine] = {engine.name: engine}
        self._models: dict[ModelKey, Model] = {}
        self._plans: dict[str, StagePlan | None] = {}  # asset key → its stage plan
        self.load_ms: dict[ModelKey, float] = {}  # ms to read and compile each model
        self._lock = threading.RLock()
        self.closed = False

    def engine(self, runtime: str | None = None) -> Engine:
        """The engine for ``runtime`` (None: the default), made on first use."""
        if runtime is None:
            return self.default
        with self._lock:
            if runtime not in self._engines:
                self._engines[runtime] = self._make(runtime, self.default.threads, getattr(self.default, "cache_dir", None))
            return self._engines[runtime]

    def model(self, asset: Asset, runtime: str | None = None, precision: str = F32, graph: str | None = None) -> Model:
        """The asset's model on ``runtime`` in ``precision``, loaded once; ``graph``: a rewrite of
        it (a stage of the transfer network, ``engine/stages.py``)."""
        engine = self.engine(runtime)
        key = (engine.name, asset.key if graph is None else f"{asset.key}#{graph}", precision)
        with self._lock:
            if self.closed:
                raise ModelError("The stylizer has been closed; make a new one.")
            if key not in self._models:
                path = self._fetch(asset)
                started = time.perf_counter()
                self._models[key] = engine.load(path, 1 if asset.role in SINGLE_THREAD_ROLES else None, precision, graph)
                self.load_ms[key] = (time.perf_counter() - started) * 1000.0
            return self._models[key]

    def stage_plan(self, asset: Asset) -> StagePlan | None:
        """The transfer network cut into stages (read from its file, once); None for a network
        that cannot be (one whose shapes are set at run time)."""
        with self._lock:
            if asset.key not in self._plans:
                try:
                    self._plans[asset.key] = stage_plan(self._fetch(asset).read_bytes())
                except ValueError:
                    self._plans[asset.key] = None
            return self._plans[asset.key]

    def stage_models(self, asset: Asset, runtime: str | None = None, precision: str = F32) -> tuple[StagePlan, list[Model]] | None:
        """The stage plan and each stage's model on ``runtime``, loaded once; None as ``stage_plan``."""
        plan = self.stage_plan(asset)
        if plan is None:
            return None
        return plan, [self.model(asset, runtime, precision, f"{STAGE}{i}") for i in range(len(plan.stages))]

    def loaded(self) -> frozenset[ModelKey]:
        """The keys of the models loaded now."""
        with self._lock:
            return frozenset(self._models)

    def unload(self, keep: frozenset[ModelKey]) -> int:
        """Let go of every model not in ``keep`` (its memory returns once no painting still uses
        it; asked for again, it is loaded again); returns how many."""
        with self._lock:
            gone = [key for key in self._models if key not in keep]
            for key in gone:
                del self._models[key]
        if gone:
            gc.collect()  # a model's runtime objects sit in reference cycles: freed now, not at the next collection
        return len(gone)

    def close(self) -> None:
        """Let every model and engine go; a model asked for afterwards is refused in one sentence."""
        with self._lock:
            self.closed = True
            self._models.clear()
            self._plans.clear()
            self._engines = {self.default.name: self.default}

    def __enter__(self) -> ModelPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
