"""Styles and their vectors.

A style vector (Magenta's 100-number "bottleneck") depends only on the style image and the predict
model, so it is computed once and kept, in memory and on disk, under the key (style image sha256,
predict model sha256). The gallery's styles come from the store; a user's own image works the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .engine import Model
from .imaging import center_square, decode_image, to_unit_float
from .manifest import Asset

PREDICT_SIDE = 256
VECTOR_SHAPE = (1, 1, 1, 100)

VECTORS_PREFIX = "style-vectors"  # where published gallery vectors live in the store


def vectors_key(predict: Asset) -> str:
    return f"{VECTORS_PREFIX}/{predict.sha256}.json"


def encode_vectors(predict: Asset, vectors: dict[str, np.ndarray]) -> bytes:
    """The published form of a predict model's gallery vectors: deterministic JSON."""
    body = {
        "predict_sha256": predict.sha256,
        "vectors": {sha: [float(v) for v in np.asarray(vec, dtype=np.float32).ravel()] for sha, vec in sorted(vectors.items())},
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def decode_vectors(predict: Asset, data: bytes) -> dict[str, np.ndarray]:
    """Vectors from a published file, or ValueError when it is not for this predict model."""
    body = json.loads(data)
    if body.get("predict_sha256") != predict.sha256:
        raise ValueError("the vectors were computed with another predict model")
    vectors = {}
    for sha, values in body["vectors"].items():
        vector = np.asarray(values, dtype=np.float32)
        if vector.shape != (100,) or not np.isfinite(vector).all():
            raise ValueError(f"the vector of style {sha[:12]} is malformed")
        vectors[sha] = vector
    return vectors


@dataclass(frozen=True, eq=False)
class Style:
    """A style image: ``name`` identifies it, ``title`` is what a person reads. Two Styles of the
    same image under the same names are equal (so options holding one can key a cache)."""

    name: str
    title: str
    sha256: str
    pixels: np.ndarray = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Style) and (self.name, self.title, self.sha256) == (other.name, other.title, other.sha256)

    def __hash__(self) -> int:
        return hash((self.name, self.title, self.sha256))

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "custom", title: str = "Your style") -> Style:
        pixels = decode_image(data, what="The style image")
        return cls(name, title, hashlib.sha256(data).hexdigest(), pixels)


class StyleVectors:
    """Style vectors of one predict model, computed at most once per style per cache."""

    def __init__(self, model: Model, model_sha256: str, cache_dir: Path | None):
        self.model = model
        self.model_sha256 = model_sha256
        self.folder = Path(cache_dir) / "style-vectors" / model_sha256[:16] if cache_dir else None
        self._memory: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.computed = 0

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """The vector of any image, computed now (the content image's own, for strength)."""
        square = to_unit_float(center_square(rgb, PREDICT_SIDE))
        return self.model.run({self.model.inputs[0].name: square[None]})[0].reshape(VECTOR_SHAPE)

    def vector(self, style: Style) -> np.ndarray:
        """The style's vector: from memory, else from disk, else computed and stored in both."""
        with self._lock:
            found = self._memory.get(style.sha256)
            if found is None:
                found = self._read(style.sha256)
                if found is None:
                    found = self.predict(style.pixels)
                    self.computed += 1
                    self._write(style.sha256, found)
                self._memory[style.sha256] = found
            return found

    def add(self, style_sha256: str, vector: np.ndarray) -> None:
        """Adopt a precomputed vector (from the store) for the style with this sha256."""
        vector = np.asarray(vector, dtype=np.float32).reshape(VECTOR_SHAPE)
        with self._lock:
            self._memory[style_sha256] = vector
            self._write(style_sha256, vector)

    def _path(self, style_sha256: str) -> Path | None:
        return self.folder / f"{style_sha256}.npy" if self.folder else None

    def _read(self, style_sha256: str) -> np.ndarray | None:
        path = self._path(style_sha256)
        if path is None or not path.is_file():
            return None
        try:
            vector = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError):
            return None
        return vector.astype(np.float32) if vector.shape == VECTOR_SHAPE and np.isfinite(vector).all() else None

    def _write(self, style_sha256: str, vector: np.ndarray) -> None:
        """Keep the vector on disk too; a cache that can't be written (full, read-only) only
        costs a recomputation in the next process, so that is all that happens."""
        path = self._path(style_sha256)
        if path is None:
            return
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(fd, "wb") as f:
                np.save(f, vector.astype(np.float32), allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            return
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
