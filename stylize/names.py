"""One word per concept, its allowed values, and the names a person reads for them.

- **runtime**: the inference library that runs a model, ``openvino`` or ``litert`` (a string, in
  options, results and settings). An **engine** is the object that loads models for one runtime
  (``engine/``; ``Stylizer.engine`` is the default runtime's).
- **precision**: the arithmetic a runtime computes a float network in, ``f32`` or ``bf16``. A model
  file's own number format (int8, float16, …) is its asset's ``precision`` in the manifest, shown
  with ``FORMAT_TITLES``.
- **mask mode**: what is painted, ``full``, ``background`` (the person kept) or ``foreground``.
- **role**: what an asset of the store is for.
- Preparing a stylizer is three steps, each named for what it does: **fetch** (store → verified
  cache), **load** (cache → a compiled model in the pool) and **ready the styles** (their vectors).

A model's own display name is its manifest ``label`` (short, for choices) or ``title`` (long).
"""

from __future__ import annotations

from typing import Literal, get_args

from .errors import InputError

Runtime = Literal["openvino", "litert"]
Precision = Literal["f32", "bf16"]
MaskMode = Literal["full", "background", "foreground"]
Role = Literal["predict", "transfer", "segment", "face", "style", "photo"]

RUNTIMES: tuple[str, ...] = get_args(Runtime)
PRECISIONS: tuple[str, ...] = get_args(Precision)
MASK_MODES: tuple[str, ...] = get_args(MaskMode)
ROLES: tuple[str, ...] = get_args(Role)
F32, BF16 = PRECISIONS

RUNTIME_TITLES = {"openvino": "OpenVINO", "litert": "LiteRT"}
PRECISION_TITLES = {"f32": "float32", "bf16": "bfloat16"}
MASK_TITLES = {"full": "Whole picture", "background": "Background only (keep the person)", "foreground": "Person only"}
FORMAT_TITLES = {"int8": "int8", "fp16": "float16", "dynamic": "int8 weights", "fp32": "float32", "int16x8": "int16 × int8"}


def one_of(value: object, allowed: tuple[str, ...], what: str, where: str = "") -> str:
    """``value`` if it is one of ``allowed``, else one sentence naming ``what`` it should be
    (``where``: the setting or flag that gave it, for the hint)."""
    if value not in allowed:
        hint = f" ({where})" if where else ""
        raise InputError(f"{value!r} is not {what}; use one of: {', '.join(allowed)}{hint}.")
    return value  # type: ignore[return-value]
