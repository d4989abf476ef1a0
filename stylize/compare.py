"""Model variants side by side: runtime × model file (each transfer model in every inference
precision the runtime offers on this CPU: float32, and bfloat16 where OpenVINO reports it), each
with its file size, load time, median latency, peak memory and fidelity (PSNR) to the float
reference — all measured on the machine that runs it.

The float reference is the float16 transfer model with MediaPipe's selfie segmenter, on LiteRT:
XNNPACK computes float16-weight models in float32, so this is as close to the original float
network as the store holds. A transfer variant runs with the reference segmenter, a segmenter
with the reference transfer model, each on its own runtime, so a PSNR figure speaks of that one
model on that one runtime (the two runtimes' float models agree to about 50 dB, far above any
variant's difference).

A segmenter is not a lower-precision copy of another, so PSNR against one of them says nothing of
its quality. Its rows give instead its mask's agreement with the best mask available (the selfie
segmenter's on LiteRT, chosen by ``scripts/measure_masks.py``: intersection over union) and the
share of every detected face it keeps by itself (the worst face; the pipeline adds the faces it
misses when ``keep_faces`` is on, which is the default).

Runs are interleaved (A, B, C, A, B, C …) after one warm-up run of each, so a noisy neighbour on
a shared machine slows every variant alike — within one model's group of settings (its runtimes
and arithmetic), the groups one after another, so that only one model's builds are in memory at
a time (``_groups``). The picture is painted at most ``COMPARE_SIDE`` px on its longer side. A
variant's memory is what the process's peak rose above what was resident before it: loading its
model (when not loaded yet) and its first run at this size (an interpreter's or compiled model's
buffers for it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .engine import BF16, ENGINES, F32, PRECISION_TITLES, RUNTIME_TITLES
from .imaging import photo_pixels, psnr
from .manifest import Asset
from .mask_quality import faces_kept
from .memory import peak_rss_mb, reset_peak, rss_mb
from .options import StylizeOptions
from .pipeline import Stylizer
from .result import Result
from .styles import Style

REFERENCE = {"transfer": "fp16", "segment": "selfie", "runtime": "litert"}
FLOAT32 = "fp32"  # the rebuilt float32 model (python -m stylize convert): the reference where the store has it


FIDELITY_ORDER = ("fp32", "fp16", "dynamic", "int8")  # a file's number format, the most faithful first


def reference_for(stylizer: Stylizer) -> dict[str, str]:
    """The float reference: the float32 transfer model when the store has it, else float16 — or,
    in a store that holds neither, its most faithful transfer model; the selfie segmenter, or the
    store's first one."""
    transfers = stylizer.assets("transfer")
    names = [a.name for a in transfers]
    segmenters = [a.name for a in stylizer.assets("segment")]
    reference = dict(REFERENCE)
    if FLOAT32 in names:
        reference["transfer"] = FLOAT32
    elif REFERENCE["transfer"] not in names and transfers:
        reference["transfer"] = min(transfers, key=lambda a: FIDELITY_ORDER.index(a.precision) if a.precision in FIDELITY_ORDER else len(FIDELITY_ORDER)).name
    if REFERENCE["segment"] not in segmenters and segmenters:
        reference["segment"] = segmenters[0]
    return reference

EMPTY = np.zeros((0, 0, 3), np.uint8)
RunProgress = Callable[[int, int, str], None]  # (runs done, runs in all, what runs now)
# The longest side a comparison paints at. Every variant runs (runs + 1) times on every runtime:
# at a 12 MP photo's own size that was 3 minutes and 3.5 GB for six OpenVINO rows alone (the
# task has 4 GB); at 1024 px LiteRT's interpreter alone needs about 1.5 GB (≈ 2 KB a pixel). The
# ratios it reports — speed, size, fidelity — read the same at 640 (README: the comparison).
COMPARE_SIDE = 640


@dataclass(frozen=True)
class VariantReport:
    kind: str  # "transfer" or "segment": the stage this variant changes
    name: str
    title: str
    precision: str
    runtime: str
    file_bytes: int
    runs: int
    load_ms: float  # reading and compiling the file at its own size, once per process
    median_ms: float  # of the stage it changes
    median_total_ms: float
    psnr_db: float  # against the float reference; inf where identical to it
    peak_rss_mb: float | None  # memory it added at its peak: loading it (if new) and its first run at this size
    is_reference: bool
    image: np.ndarray
    mask_agreement: float | None = None  # (segment) % intersection over union with the reference segmenter's mask
    faces_kept: float | None = None  # (segment) % of the worst-kept detected face that the segmenter alone keeps
    inference_precision: str = F32  # the arithmetic the runtime computed the transfer network in

    @property
    def label(self) -> str:
        arithmetic = f" · {PRECISION_TITLES[self.inference_precision]}" if self.inference_precision != F32 else ""
        return f"{self.kind} {self.name} · {RUNTIME_TITLES[self.runtime]}{arithmetic}"

    def as_row(self) -> dict:
        return {
            "variant": self.label,
            "kind": self.kind,
            "model": self.name,
            "runtime": self.runtime,
            "precision": self.precision,
            "inference_precision": self.inference_precision,
            "size_mb": round(self.file_bytes / 1e6, 3),
            "runs": self.runs,
            "load_ms": round(self.load_ms, 1),
            "median_ms": round(self.median_ms, 1),
            "median_total_ms": round(self.median_total_ms, 1),
            "psnr_db": None if np.isinf(self.psnr_db) else round(self.psnr_db, 2),
            "peak_rss_mb": None if self.peak_rss_mb is None else round(self.peak_rss_mb),
            "reference": self.is_reference,
            "mask_agreement_pct": None if self.mask_agreement is None else round(self.mask_agreement, 1),
            "faces_kept_pct": None if self.faces_kept is None else round(self.faces_kept, 1),
        }


@dataclass(frozen=True)
class Comparison:
    reports: tuple[VariantReport, ...]
    reference: StylizeOptions
    runs: int

    def rows(self) -> list[dict]:
        return [r.as_row() for r in self.reports]

    def detail_box(self, side: int = 192) -> tuple[int, int, int, int]:
        """(left, top, width, height) of the ``side``-pixel square where the variants' pictures
        differ most: the place to look at them side by side, pixel for pixel."""
        height, width = self.reports[0].image.shape[:2]
        side_h, side_w = min(side, height), min(side, width)
        # how much the variants disagree, per pixel: their standard deviation, from running sums
        # (a float stack of every variant's picture was 130 MB at 640 px for a converted store's 36 rows)
        total, squares = np.zeros((height, width, 3), np.float64), np.zeros((height, width, 3), np.float64)
        for r in self.reports:
            total += r.image
            squares += np.square(r.image, dtype=np.float64)
        count = len(self.reports)
        spread = np.sqrt(np.maximum(squares / count - np.square(total / count), 0.0)).mean(axis=2)
        step = 16
        best, box = -1.0, (0, 0, side_w, side_h)
        # summed-area table: the spread inside any window in constant time
        table = np.pad(spread.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        for top in range(0, height - side_h + 1, step):
            for left in range(0, width - side_w + 1, step):
                total = table[top + side_h, left + side_w] - table[top, left + side_w] - table[top + side_h, left] + table[top, left]
                if total > best:
                    best, box = total, (left, top, side_w, side_h)
        return box

    def crops(self, side: int = 192) -> list[np.ndarray]:
        """Each report's picture cut to ``detail_box``: the same pixels of every variant, at 1:1."""
        left, top, width, height = self.detail_box(side)
        return [r.image[top : top + height, left : left + width] for r in self.reports]


def compare_variants(
    stylizer: Stylizer,
    content: bytes | np.ndarray,
    style: str | Style,
    options: StylizeOptions,
    runs: int = 5,
    runtimes: Sequence[str] | None = None,
    progress: RunProgress | None = None,
) -> Comparison:
    """Run every transfer variant (and every segmenter, when a mask is on) on every runtime — each
    transfer variant in every inference precision the runtime offers here — ``runs`` times,
    interleaved, after one warm-up run each."""
    runs = max(1, int(runs))
    runtimes = tuple(runtimes or ENGINES)
    stylizer.catalogue.survey(stylizer.fetch_workers)  # every variant the store has, derived ones included
    options = replace(options, max_side=min(options.max_side or COMPARE_SIDE, COMPARE_SIDE))
    rgb = photo_pixels(content, options.max_side)
    style = stylizer.style(style) if isinstance(style, str) else style
    ref = reference_for(stylizer)
    reference_options = replace(options, transfer=ref["transfer"], segmenter=ref["segment"], runtime=ref["runtime"], precision=F32)

    candidates = _candidates(stylizer, reference_options, runtimes, options.mask != "full")
    # the reference setting is itself a candidate (twice, with a mask): each distinct setting runs once per round
    settings = list(dict.fromkeys([reference_options] + [c[1] for c in candidates]))
    total = len(settings) * (runs + 1)
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    load_ms: dict[StylizeOptions, float] = {}
    peak: dict[StylizeOptions, float | None] = {}
    results: dict[StylizeOptions, list[Result]] = {s: [] for s in settings}
    kept = stylizer.pool.loaded()  # the models loaded before (the visitors' own): kept after
    for group in _groups(settings):
        for setting in group:  # warm-up: load, compile this size, measure memory
            before = rss_mb() if reset_peak() else None
            started = time.perf_counter()
            stylizer.load_for(setting)
            load_ms[setting] = (time.perf_counter() - started) * 1000.0
            stylizer.stylize(rgb, style, setting)
            peak[setting] = None if before is None else max(0.0, peak_rss_mb() - before)
            step(_describe(stylizer, setting))
        for run in range(runs):
            for setting in group:
                result = stylizer.stylize(rgb, style, setting)
                if run < runs - 1:  # only the last run's picture is kept: the earlier ones for their times
                    result = replace(result, image=EMPTY, keep_weight=None)
                results[setting].append(result)
                step(_describe(stylizer, setting))
        stylizer.pool.unload(kept)

    reference = results[reference_options][-1].image
    masks = _mask_figures(stylizer, rgb, reference_options, [c[1] for c in candidates if c[0] == "segment"])
    stylizer.pool.unload(kept)  # the segmenters the mask figures loaded again
    reports = [_report(stylizer, kind, setting, asset, results[setting], reference, setting == reference_options, load_ms[setting], peak[setting], masks) for kind, setting, asset in candidates]
    return Comparison(tuple(reports), reference_options, runs)


def _groups(settings: list[StylizeOptions]) -> list[list[StylizeOptions]]:
    """The settings in the groups a comparison measures together: one transfer model on every
    runtime and in every arithmetic, or one segmenter on every runtime, in the order given. Only
    one group's models are loaded at a time — all of them at once took 2.2 GB with the three
    shipped transfer models and 7.6 GB with a converted store's twelve (LiteRT's interpreters
    hold hundreds of MB each) — so runs are interleaved within a group: each model's runtimes and
    arithmetic against each other in the same moments, models against each other less closely."""
    groups: dict[tuple[str, str], list[StylizeOptions]] = {}
    for setting in settings:
        groups.setdefault((setting.transfer, setting.segmenter), []).append(setting)
    return list(groups.values())


def _candidates(stylizer: Stylizer, reference: StylizeOptions, runtimes: Sequence[str], masked: bool) -> list[tuple[str, StylizeOptions, Asset]]:
    """(kind, setting, asset) of every variant to measure: each transfer model in each precision
    of each runtime, and with a mask each segmenter, all else as the reference."""
    candidates = []
    for runtime in runtimes:
        base = replace(reference, runtime=runtime)  # float32: a segmenter's row changes nothing else
        candidates += [("transfer", replace(base, transfer=a.name, precision=precision), a) for a in stylizer.assets("transfer") for precision in stylizer.precisions(runtime)]
        if masked:
            candidates += [("segment", replace(base, segmenter=a.name), a) for a in stylizer.assets("segment")]
    return candidates


def _report(
    stylizer: Stylizer, kind: str, setting: StylizeOptions, asset: Asset, measured: list[Result], reference: np.ndarray, is_reference: bool,
    load_ms: float, peak: float | None, masks: dict[StylizeOptions, dict[str, float]],
) -> VariantReport:
    return VariantReport(
        kind=kind,
        name=asset.name,
        title=asset.title,
        precision=asset.precision,
        runtime=setting.runtime,
        file_bytes=asset.bytes,
        runs=len(measured),
        load_ms=stylizer.load_ms.get((setting.runtime, asset.key, setting.precision), load_ms),
        median_ms=statistics.median(r.timings_ms[kind] for r in measured),
        median_total_ms=statistics.median(r.total_ms for r in measured),
        psnr_db=psnr(measured[-1].image, reference),
        peak_rss_mb=peak,
        is_reference=is_reference,
        image=measured[-1].image,
        **(masks.get(setting, {}) if kind == "segment" else {}),
        inference_precision=setting.precision,
    )


def _mask_figures(stylizer: Stylizer, rgb: np.ndarray, reference: StylizeOptions, settings: list[StylizeOptions]) -> dict[StylizeOptions, dict[str, float]]:
    """Per segmenter setting: its mask's agreement with the reference segmenter's, and the worst
    share of a detected face it keeps by itself."""
    if not settings:
        return {}
    faces = stylizer.face_detector("face-full").detect(rgb)
    best, _ = stylizer.person_mask(rgb, replace(reference, keep_faces=False))
    figures = {}
    for setting in settings:
        mask, _ = stylizer.person_mask(rgb, replace(setting, keep_faces=False))
        union = (mask | best).sum()
        kept = faces_kept(mask.astype(np.float32), faces)
        figures[setting] = {
            "mask_agreement": float((mask & best).sum() / union * 100.0) if union else 100.0,
            "faces_kept": min(kept) * 100.0 if kept else None,
        }
    return figures


def _describe(stylizer: Stylizer, setting: StylizeOptions) -> str:
    """What a setting runs, as a person reads it (the manifest's titles)."""
    segmenter = f" with the {stylizer.manifest.get('segment', setting.segmenter).title}" if setting.mask != "full" else ""
    arithmetic = " in bfloat16" if setting.precision == BF16 else ""
    return f"{stylizer.manifest.get('transfer', setting.transfer).title}{segmenter} on {RUNTIME_TITLES[setting.runtime]}{arithmetic}"
