"""A fake engine and a fake store, so the orchestration (preparation, retry, planning, the pool's
concurrency, a store that holds part of the manifest, error paths) is tested in milliseconds
without ../shared: ``pytest -m "not models"``.

The fake engine implements the ``Engine`` protocol. What each of its models does is written in its
own file (a few bytes of JSON), so a fake store is a folder of such files with a manifest pinning
them — the same ``ModelStore``, ``Catalogue``, ``ModelPool`` and ``Stylizer`` run over it:

- ``transfer``: (image 1×H×W×3, vector 1×1×1×100) → the image's negative, shifted by the vector's
  mean — deterministic, so a painting can be checked pixel for pixel;
- ``predict``: image → a 100-number vector of the image's mean colour;
- ``segment``: image → one probability channel, "person" where the picture is bright.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from stylize.engine import F32, TensorInfo
from stylize.errors import ModelError
from stylize.manifest import Asset, Manifest

SHAPES = {
    "transfer": (("content", (1, 384, 384, 3)), ("style", (1, 1, 1, 100))),
    "predict": (("style_image", (1, 256, 256, 3)),),
    "segment": (("image", (1, 64, 64, 3)),),
}


@dataclass
class FakeModel:
    path: Path
    engine: str
    role: str
    delay: float = 0.0
    runs: int = 0
    inputs: tuple[TensorInfo, ...] = ()
    float_inputs: frozenset[str] = frozenset()
    shapes_built: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.inputs = tuple(TensorInfo(name, shape) for name, shape in SHAPES[self.role])
        self._lock = threading.Lock()

    def run(self, feeds: Mapping[str, np.ndarray], raw: bool = False) -> list[np.ndarray]:
        with self._lock:  # as a real model: never two runs at once
            self.runs += 1
            if self.delay:
                time.sleep(self.delay)
            if self.role == "transfer":
                image, vector = np.asarray(feeds["content"], np.float32), np.asarray(feeds["style"], np.float32)
                return [np.clip(1.0 - image + 0.01 * float(vector.mean()), 0.0, 1.0)]
            if self.role == "predict":
                image = np.asarray(feeds["style_image"], np.float32)
                return [np.resize(image.mean(axis=(0, 1, 2)), (1, 1, 1, 100)).astype(np.float32)]
            image = np.asarray(feeds["image"], np.float32)
            return [(image.mean(axis=-1, keepdims=True) > 0.5).astype(np.float32)]

    def build_for_shapes(self, shapes: Mapping[str, tuple[int, ...]]) -> float:
        key = tuple(sorted(shapes.items()))
        if key in self.shapes_built:
            return 0.0
        self.shapes_built.add(key)
        return 0.01

    def release(self) -> None:
        pass


class FakeEngine:
    """The ``Engine`` protocol in microseconds. ``loads`` counts every load (a pool must load each
    model once, however many threads ask)."""

    def __init__(self, name: str = "openvino", threads: int = 1, load_delay: float = 0.0):
        self.name, self.threads, self.load_delay = name, threads, load_delay
        self.loads: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()

    def load(self, path: Path, threads: int | None = None, precision: str = F32, graph: str | None = None) -> FakeModel:
        spec = json.loads(Path(path).read_bytes())
        if self.load_delay:
            time.sleep(self.load_delay)
        with self._lock:
            self.loads.append((Path(path).name, graph))
        if spec.get("broken"):
            raise ModelError(f"{Path(path).name} is not a model this engine can read; republish it.")
        return FakeModel(Path(path), self.name, spec["role"], spec.get("delay", 0.0))

    def precisions(self) -> tuple[str, ...]:
        return (F32,)


def _jpeg(colour: tuple[int, int, int], size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, "JPEG", quality=95)
    return out.getvalue()


@dataclass(frozen=True)
class FakeStore:
    folder: Path
    manifest: Manifest


def fake_store(folder: Path, omit: tuple[str, ...] = (), with_urls: tuple[str, ...] = (), public_base: str = "http://127.0.0.1:9") -> FakeStore:
    """A folder laid out like the store, and a manifest pinning its files: one predict model, two
    transfer models (int8, fp16), two segmenters (selfie, deeplabv3), three gallery styles and a
    sample photo. ``omit``: asset names written into the manifest but not into the folder (a store
    that holds part of the manifest); ``with_urls``: asset names given a public address under
    ``public_base`` (the caller serves the folder there)."""
    rows = [
        ("predict", "predict-int8", "models/predict.tflite", json.dumps({"role": "predict"}).encode()),
        ("transfer", "int8", "models/transfer_int8.tflite", json.dumps({"role": "transfer"}).encode()),
        ("transfer", "fp16", "models/transfer_fp16.tflite", json.dumps({"role": "transfer", "precision": "fp16"}).encode()),
        ("segment", "selfie", "models/selfie.tflite", json.dumps({"role": "segment"}).encode()),
        ("segment", "deeplabv3", "models/deeplabv3.tflite", json.dumps({"role": "segment", "name": "deeplab"}).encode()),
        ("style", "style0", "styles/style0.jpg", _jpeg((200, 40, 40))),
        ("style", "style1", "styles/style1.jpg", _jpeg((40, 200, 40))),
        ("style", "style2", "styles/style2.jpg", _jpeg((40, 40, 200))),
        ("photo", "sample", "photos/sample.jpg", _jpeg((120, 120, 120), 96)),
    ]
    assets = []
    for role, name, key, data in rows:
        if name not in omit:
            (folder / key).parent.mkdir(parents=True, exist_ok=True)
            (folder / key).write_bytes(data)
        extra = {"person_class": 0, "mask_output": "probability"} if role == "segment" else {}
        assets.append(
            Asset(
                key=key,
                name=name,
                title=name.replace("-", " ").title(),
                role=role,
                precision="int8" if "int8" in name else "fp16",
                size=384 if role == "transfer" else 256,
                bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                url=f"{public_base}/{key}" if name in with_urls else None,
                **extra,
            )
        )
    return FakeStore(folder, Manifest(tuple(assets)))
