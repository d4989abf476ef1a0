"""The graph rewrites a model can be loaded with, by name (``Engine.load(..., graph=…)``): its
instance normalisations' statistics as outputs or as inputs (``moments.py``), or one stage of the
network cut at them (``stages.py``, ``STAGE`` + its index)."""

from __future__ import annotations

from ..errors import ModelError
from . import moments, stages

REWRITES = (moments.OUTPUTS, moments.INPUTS)


def rewrite(data: bytes, kind: str, name: str = "the model") -> bytes:
    """``data`` rewritten by ``kind``; a ``ModelError`` naming the file (``name``) if it cannot be."""
    if kind not in REWRITES and not kind.startswith(stages.STAGE):
        raise ModelError(f"{kind!r} is not a rewrite of a network; use one of {', '.join(REWRITES)} or {stages.STAGE}N.")
    try:
        if kind.startswith(stages.STAGE):
            return stages.stage_bytes(data, int(kind.removeprefix(stages.STAGE)))
        return moments.moments_as_outputs(data) if kind == moments.OUTPUTS else moments.moments_as_inputs(data)
    except ValueError as exc:
        raise ModelError(f"{name} cannot be painted in tiles ({exc}).") from exc
