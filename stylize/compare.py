"""Model variants side by side: file size, median latency over N runs, and fidelity (PSNR) to the
float reference, all measured on the machine that runs it.

The float reference is the float16 transfer model with the float32 DeepLabV3 segmenter: XNNPACK
computes float16-weight models in float32, so this is as close to the original float network as
the store holds. Each variant differs from the reference in one part only: transfer variants run
with the reference segmenter, segmenters with the reference transfer model, so a PSNR figure
speaks of that one model.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

import numpy as np

from .imaging import psnr
from .pipeline import Result, StylizeOptions, Stylizer, photo_pixels
from .styles import Style

REFERENCE = {"transfer": "fp16", "segment": "deeplabv3"}


@dataclass(frozen=True)
class VariantReport:
    kind: str  # "transfer" or "segment": the stage this variant changes
    name: str
    title: str
    precision: str
    file_bytes: int
    runs: int
    median_ms: float  # of the stage it changes
    median_total_ms: float
    psnr_db: float  # against the float reference; inf where identical to it
    is_reference: bool
    image: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def as_row(self) -> dict:
        return {
            "variant": self.label,
            "precision": self.precision,
            "size_mb": round(self.file_bytes / 1e6, 3),
            "runs": self.runs,
            "median_ms": round(self.median_ms, 1),
            "median_total_ms": round(self.median_total_ms, 1),
            "psnr_db": None if np.isinf(self.psnr_db) else round(self.psnr_db, 2),
            "reference": self.is_reference,
        }


@dataclass(frozen=True)
class Comparison:
    reports: tuple[VariantReport, ...]
    reference: StylizeOptions
    runs: int

    def rows(self) -> list[dict]:
        return [r.as_row() for r in self.reports]


def compare_variants(stylizer: Stylizer, content: bytes | np.ndarray, style: str | Style, options: StylizeOptions, runs: int = 5) -> Comparison:
    """Run every transfer variant (and every segmenter, when a mask is on) ``runs`` times."""
    runs = max(1, int(runs))
    options = options.validated()
    rgb = photo_pixels(content, options.max_side)
    style = stylizer.style(style) if isinstance(style, str) else style
    reference_options = replace(options, transfer=REFERENCE["transfer"], segmenter=REFERENCE["segment"])

    candidates = [("transfer", replace(reference_options, transfer=a.name), a) for a in stylizer.assets("transfer")]
    if options.mask != "full":
        candidates += [("segment", replace(reference_options, segmenter=a.name), a) for a in stylizer.assets("segment")]
    # the reference is itself a candidate (twice, with a mask): each distinct setting runs once
    measured: dict[StylizeOptions, list[Result]] = {}
    for _, variant_options, _ in candidates:
        if variant_options not in measured:
            measured[variant_options] = [stylizer.stylize(rgb, style, variant_options) for _ in range(runs)]
    reference = measured[reference_options][-1].image
    reports = []
    for kind, variant_options, asset in candidates:
        results = measured[variant_options]
        reports.append(
            VariantReport(
                kind=kind,
                name=asset.name,
                title=asset.title,
                precision=asset.precision,
                file_bytes=asset.bytes,
                runs=runs,
                median_ms=statistics.median(r.timings_ms[kind] for r in results),
                median_total_ms=statistics.median(r.total_ms for r in results),
                psnr_db=psnr(results[-1].image, reference),
                is_reference=REFERENCE[kind] == asset.name,
                image=results[-1].image,
            )
        )
    return Comparison(tuple(reports), reference_options, runs)
