"""What this store offers: the manifest's assets it could give (and why the others are unavailable),
the derived variants it holds, the gallery's styles and their style vectors.

A store may hold only part of the manifest — the ``public`` store has public addresses for some
assets only. A missing asset costs only what needs it: a missing transfer model or segmenter is one
variant fewer, missing face detectors mean faces are not looked for, missing sample photos mean a
visitor brings their own. Only what no painting can do without is essential: the style-predict
model, one transfer model and one gallery style; without them preparation fails in one sentence.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .errors import MissingAsset, StoreError
from .imaging import decode_image
from .manifest import Asset, Manifest
from .pool import ModelPool
from .store import ModelStore, ProgressTotal
from .styles import Style, StyleVectors, decode_vectors, vectors_key

# Style vectors always come from LiteRT, whatever the request's runtime: the predict network runs
# once per style, LiteRT's integer kernels are the reference for its int8 file (OpenVINO emulates
# them in float), and so the vectors cached on disk and published beside the models are the same
# for every runtime.
PREDICT_RUNTIME = "litert"
log = logging.getLogger(__name__)


class Catalogue:
    def __init__(self, manifest: Manifest, store: ModelStore, pool: ModelPool):
        self.manifest, self.store, self.pool = manifest, store, pool
        self.unavailable: dict[str, str] = {}  # asset key → why the store could not give it (one sentence)
        self._derived: frozenset[str] | None = None  # keys of the derived variants the store holds, once probed
        self._styles: dict[str, Style] = {}
        self._vectors: StyleVectors | None = None
        self._surveyed = False
        self._lock = threading.RLock()

    # --- what there is -------------------------------------------------------------------------
    def fetch(self, progress: ProgressTotal, workers: int) -> dict[str, Path]:
        """Fetch every asset the manifest lists (concurrently) and probe the derived variants; an
        asset the store does not hold is recorded in ``unavailable`` unless it is essential."""
        missing: dict[str, MissingAsset] = {}
        paths = self.store.fetch_many(self.manifest.required(), progress, workers, missing)
        for key in missing:
            progress.missing(self._asset(key))
        self._check_essentials(missing)
        with self._lock:
            for key, error in missing.items():
                if key not in self.unavailable:
                    log.warning("Not in the model store, so not offered: %s", error)  # the operator's: paths and keys
                self.unavailable[key] = str(error)
        self.derived_available(probe=True)
        self._surveyed = True
        return paths

    def survey(self, workers: int = 8) -> None:
        """Learn what the store holds (``fetch``, once; after ``Stylizer.prepare`` it has been)."""
        if not self._surveyed:
            assets = self.manifest.required()
            self.fetch(ProgressTotal(assets, lambda _: None), workers)

    def _check_essentials(self, missing: dict[str, MissingAsset]) -> None:
        predict = self.manifest.predict
        if predict.key in missing:
            raise missing[predict.key]
        for role in ("transfer", "style"):
            wanted = [a for a in self.manifest.by_role(role) if a.required]
            if wanted and all(a.key in missing for a in wanted):
                raise StoreError(
                    f"The {self.store.description} holds no {role} {'model' if role == 'transfer' else 'image'} of the manifest "
                    f"(first: {missing[wanted[0].key]}); point STYLIZE_MODEL_STORE at a store that has them."
                ) from missing[wanted[0].key]

    def _asset(self, key: str) -> Asset:
        return next(a for a in self.manifest.assets if a.key == key)

    def assets(self, role: str) -> tuple[Asset, ...]:
        """The role's assets this store gives: the required ones it holds, and the derived
        variants (``python -m stylize convert``) it has."""
        derived = self.derived_available()
        return tuple(a for a in self.manifest.by_role(role) if (a.required and a.key not in self.unavailable) or a.key in derived)

    def missing(self, role: str | None = None) -> list[tuple[Asset, str]]:
        """The assets (of ``role``) the store could not give, with why."""
        return [(a, self.unavailable[a.key]) for a in self.manifest.assets if a.key in self.unavailable and role in (None, a.role)]

    def holds(self, role: str, name: str) -> bool:
        """Whether the store holds the asset (fetching it); one it lacks is recorded as unavailable."""
        asset = self.manifest.get(role, name)
        try:
            self.store.fetch(asset)
            return True
        except MissingAsset as exc:
            with self._lock:
                if asset.key not in self.unavailable:
                    log.warning("Not in the model store, so not offered: %s", exc)
                self.unavailable[asset.key] = str(exc)
            return False

    def first_held(self, role: str, preferred: str) -> str:
        """``preferred`` if the store holds it (fetching it), else the first of the role's assets
        it holds — what a caller who named none should get; a store without any: one sentence."""
        names = [preferred] + [a.name for a in self.manifest.by_role(role) if a.required and a.name != preferred]
        for name in names:
            if self.holds(role, name):
                return name
        raise StoreError(f"The {self.store.description} holds no {role} model of the manifest; point STYLIZE_MODEL_STORE at a store that has one.")

    def available(self, role: str, name: str) -> bool:
        asset = self.manifest.get(role, name)
        return any(a.key == asset.key for a in self.assets(role))

    def derived_available(self, probe: bool = False) -> frozenset[str]:
        """Keys of the derived variants this store holds. ``probe`` asks the store (fetching and
        verifying them, once; ``fetch`` does it); without it, before that, only what the cache
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

    # --- styles --------------------------------------------------------------------------------
    @property
    def vectors(self) -> StyleVectors:
        """The style-vector cache (loads the predict model on first use)."""
        with self._lock:
            if self._vectors is None:
                predict = self.manifest.predict
                self._vectors = StyleVectors(self.pool.model(predict, PREDICT_RUNTIME), predict.sha256, self.store.cache_dir)
            return self._vectors

    def style(self, name: str) -> Style:
        """A gallery style by its name (``style19``) or title (``Starry Night``)."""
        asset = self.manifest.get("style", name)
        with self._lock:
            if asset.key not in self._styles:
                data = self.store.fetch(asset).read_bytes()
                self._styles[asset.key] = Style(asset.name, asset.title, asset.sha256, decode_image(data, what=asset.title))
            return self._styles[asset.key]

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
