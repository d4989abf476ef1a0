"""``python -m stylize convert``: the project's own model variants, from the float16 transfer file.

1. ``float32.py`` recovers a float32 transfer model from the float16 one (bit-identical outputs on
   LiteRT);
2. ``quantize.py`` makes dynamic-range int8, float16-weight and full-integer int8 (int8 I/O)
   builds of it with ai-edge-quantizer, the last calibrated on (content image, style vector)
   pairs from the store's photos and the gallery's styles, the vectors from the predict network;
3. ``tf_model.py`` rebuilds it as a TensorFlow model, and ``tf_builds.py`` has TensorFlow's
   ``TFLiteConverter`` make the seed post's builds of that: dynamic-range, float16, full-integer
   int8 (float and int8 I/O) and int8 with the normalisations in float, calibrated on augmented
   pairs (crops, mirror images, brightness, three sizes) for every gallery style.

The output folder is a complete store: the source store's files (linked, or copied where links
are not possible) plus ``models/derived/``. Every derived file is listed in
``models/manifest.toml`` with its sha256, so ``publish`` uploads it and the page's store verifies
it like any other file. A second run writes the same bytes (the calibration set and the order of
its pairs are fixed, and min/max calibration does not depend on the order).

Its dependencies (``requirements-convert.txt``) are not in the page's container.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..imaging import center_square, decode_image, to_unit_float
from ..manifest import Asset, Manifest
from .float32 import float32_from_float16
from .quantize import RECIPES, calibration_pairs, quantized
from .tf_builds import BUILDS, representative_pairs, tflite_builds

DERIVED_FOLDER = "models/derived"
FULL_CALIBRATION = 78  # 3 photos (and their mirror images) × 26 styles, each pair once


@dataclass(frozen=True)
class Derived:
    name: str
    key: str
    precision: str
    recipe: str
    calibration: str
    bytes: int
    sha256: str
    label: str = ""


def convert(manifest: Manifest, source: Path, target: Path, samples: int = FULL_CALIBRATION, say: Callable[[str], None] = lambda _: None) -> list[Derived]:
    """Write the derived variants of ``source`` (a folder laid out like the store) to ``target``,
    with the source's own files beside them; returns what was written."""
    source, target = Path(source), Path(target)
    fp16 = manifest.get("transfer", "fp16")
    if not (source / fp16.key).is_file():
        raise InputError(f"--from {source} has no {fp16.key}; give a folder laid out like the store (models/, styles/, photos/).")
    _mirror(manifest, source, target)
    float32 = float32_from_float16((source / fp16.key).read_bytes())
    written = [_write(target, "fp32", "fp32", "float16 weights widened to float32 (DEQUANTIZE folded)", "", float32, say, "float32 (rebuilt)")]

    from ai_edge_litert.interpreter import Interpreter

    inputs = Interpreter(model_content=float32).get_input_details()
    image_name = next(d["name"] for d in inputs if d["shape"][-1] == 3)
    vector_name = next(d["name"] for d in inputs if d["shape"][-1] != 3)
    photos, styles = _photos(manifest, source), _style_vectors(manifest, source)
    pairs = list(calibration_pairs(photos, styles, samples))
    calibration = f"{samples} pairs: {len(manifest.by_role('photo'))} photos and their mirror images, gallery styles, vectors from {manifest.predict.name}"
    for recipe in RECIPES:
        data = quantized(float32, recipe, pairs, (image_name, vector_name))
        written.append(_write(target, recipe.name, recipe.precision, recipe.recipe, calibration if recipe.calibrated else "", data, say, recipe.label))
    representative = list(representative_pairs(photos, styles))
    calibration = (
        f"{len(representative)} pairs: every gallery style ({len(styles)}) × 4 contents from {len(manifest.by_role('photo'))} photos "
        f"(whole or cropped, mirrored, 90–110 % brightness, 384×384, 512×384, 384×512), vectors from {manifest.predict.name}"
    )
    built = tflite_builds(float32, representative)
    for spec in BUILDS:
        written.append(_write(target, spec.name, spec.precision, spec.recipe, calibration if spec.calibrated else "", built[spec.name], say, spec.label))
    return written


def _write(target: Path, name: str, precision: str, recipe: str, calibration: str, data: bytes, say, label: str) -> Derived:
    key = f"{DERIVED_FOLDER}/magenta_transfer_{name}.tflite"
    path = target / key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    digest = hashlib.sha256(data).hexdigest()
    say(f"{name:<18}{len(data):>10} bytes  sha256 {digest[:16]}…  {recipe}")
    return Derived(name, key, precision, recipe, calibration, len(data), digest, label)


def _mirror(manifest: Manifest, source: Path, target: Path) -> None:
    """The source store's files in ``target`` too (hard links where possible)."""
    for asset in manifest.assets:
        src, dst = source / asset.key, target / asset.key
        if not src.is_file() or (dst.is_file() and dst.stat().st_size == src.stat().st_size):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)


def _photos(manifest: Manifest, source: Path):
    return [decode_image((source / a.key).read_bytes()) for a in manifest.by_role("photo") if (source / a.key).is_file()]


def _style_vectors(manifest: Manifest, source: Path):
    from ..engine import make_engine
    from ..styles import PREDICT_SIDE, VECTOR_SHAPE

    model = make_engine("litert", 2).load(source / manifest.predict.key)
    vectors = []
    for asset in manifest.by_role("style"):
        path = source / asset.key
        if path.is_file():
            square = to_unit_float(center_square(decode_image(path.read_bytes()), PREDICT_SIDE))
            vectors.append(model.run({model.inputs[0].name: square[None]})[0].reshape(VECTOR_SHAPE))
    return vectors


def manifest_entries(derived: list[Derived], asset: Asset) -> str:
    """The TOML for ``models/manifest.toml`` that lists ``derived`` (derived from ``asset``)."""
    blocks = []
    for d in derived:
        lines = [
            "[[asset]]",
            f'key = "{d.key}"',
            f'name = "{d.name}"',
            f'title = "Magenta transfer ({d.name}, derived)"',
            f'label = "{d.label}"',
            'role = "transfer"',
            f'precision = "{d.precision}"',
            "size = 384",
            f"bytes = {d.bytes}",
            f'sha256 = "{d.sha256}"',
            f'derived_from = "{asset.name}"',
            f'recipe = "{d.recipe}"',
        ]
        if d.calibration:
            lines.append(f'calibration = "{d.calibration}"')
        lines.append("required = false")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
