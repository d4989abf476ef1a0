"""python -m stylize: fetch the models, list the styles, paint a photo, compare variants, benchmark
the runtimes, publish.

A user's mistake ends with one line on stderr and exit status 2; only a bug shows a traceback.
"""

from __future__ import annotations

import argparse
import codecs
import io
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from .bench import run_bench
from .catalogue import PREDICT_RUNTIME
from .compare import compare_variants
from .config import Settings, tile_side
from .engine import ENGINES, PRECISIONS
from .errors import InputError, StylizeError
from .imaging import photo_pixels
from .options import MASK_MODES, StylizeOptions
from .pipeline import Stylizer
from .plan import PHOTO_FACES
from .publish import Publisher
from .store import ProgressTotal
from .styles import Style


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + message
        self.exit(2, f"error: {message}; see python -m stylize --help.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m stylize", description="Paint photos, or only their background, in an artwork's style.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("fetch", help="fetch every model and style image into the local cache")
    commands.add_parser("styles", help="list the style gallery")

    run = commands.add_parser("run", help="stylize one photo")
    run.add_argument("content", type=Path, help="photo to paint (JPEG, PNG or WEBP)")
    run.add_argument("--style", required=True, help="gallery style (style19 or 'Starry Night') or a path to your own style image")
    run.add_argument("--transfer", default=None, help=f"transfer model variant: int8, fp16 or dynamic (default on this CPU: {StylizeOptions.transfer}, or the first the store holds)")
    run.add_argument("--segmenter", default=None, help=f"segmentation model: selfie, selfie-landscape, deeplabv3, deeplabv3-gpu or segm-lite (default {StylizeOptions.segmenter}, or the first the store holds)")
    run.add_argument("--paint-faces", action="store_true", help="do not keep the faces a face detector finds (by default they are kept: part of the person in background mode, unpainted in person-only mode)")
    run.add_argument("--mask", default="background", choices=MASK_MODES, help="what to paint (default background)")
    run.add_argument("--strength", type=float, default=1.0, help="style strength from 0 to 1 (default 1)")
    run.add_argument("--max-side", type=_side, default=1024, help="longest side of the result in pixels, or 'full' for the photo's own size (default 1024)")
    run.add_argument("--paint-side", type=_side, default=None, help="stroke size: the longest side the network paints at, then scaled to the result; smaller is coarser (default: the result's size)")
    run.add_argument("--runtime", "--engine", dest="runtime", default=None, help="inference runtime: openvino or litert (default: STYLIZE_ENGINE, else openvino)")
    run.add_argument("--precision", choices=PRECISIONS, default=None, help="the transfer network's arithmetic on OpenVINO: f32, or bf16 where the CPU has it (default: bf16 there, else f32)")
    run.add_argument("--keep-colors", action="store_true", help="keep the photo's own colours: the artwork gives brightness and texture only")
    run.add_argument("--mix-with", default=None, help="a second style (gallery name or image path) mixed into the first")
    run.add_argument("--mix", type=float, default=0.5, help="how much of --mix-with: 0 the first style alone, 1 the second alone (default 0.5)")
    run.add_argument("--person-style", default=None, help="paint the person in this style (gallery name or image path) and the background in --style")
    run.add_argument("--tile-side", type=_tile_side, default=None, help="a painting larger than the runtime paints whole (OpenVINO 2048 px, LiteRT 768) is made in tiles this many pixels a side; 0 never tiles (default: STYLIZE_TILE_SIDE, else 512)")
    run.add_argument("--letterbox", action="store_true", help="paint a 384×384 square with the photo letterboxed into it, then scale it back (the networks' own size; coarse)")
    run.add_argument("-o", "--output", type=Path, required=True, help="where to write the result (PNG or JPEG)")

    publish = commands.add_parser("publish", help="upload the manifest's files and the gallery's style vectors to S3")
    publish.add_argument("--from", dest="source", type=Path, required=True, help="folder laid out like the store (models/, styles/, photos/)")
    publish.add_argument("--to", dest="target", required=True, help="s3://bucket/prefix")

    compare = commands.add_parser("compare", help="benchmark every model variant on one photo: size, median latency, PSNR")
    compare.add_argument("content", type=Path, help="photo to paint")
    compare.add_argument("--style", default="style19", help="gallery style (default style19)")
    compare.add_argument("--mask", default="background", choices=MASK_MODES)
    compare.add_argument("--runs", type=int, default=10, help="runs per variant (default 10)")
    compare.add_argument("--max-side", type=_side, default=1024, help="longest side of the result (default 1024; 'full' for the photo's own)")
    compare.add_argument("--runtime", "--engine", dest="runtime", action="append", choices=list(ENGINES), help="runtime to include (repeat for several; default all)")
    compare.add_argument("--json", type=Path, help="also write the figures to this JSON file")

    convert = commands.add_parser("convert", help="make float32, dynamic-range, float16 and full-integer transfer models with ai-edge-quantizer and TensorFlow's TFLiteConverter (needs requirements-convert.txt)")
    convert.add_argument("--from", dest="source", type=Path, required=True, help="folder laid out like the store (models/, styles/, photos/)")
    convert.add_argument("--to", dest="target", type=Path, required=True, help="folder to write: the source's files plus models/derived/")
    convert.add_argument("--samples", type=int, default=None, help="calibration pairs for ai-edge-quantizer's full-integer build (default: the full set, 78); TFLiteConverter's builds use 4 per gallery style")

    bench = commands.add_parser("bench", help="every model on every runtime, interleaved, plus webcam, 1024-px and 12 MP end-to-end figures")
    bench.add_argument("--runs", type=int, default=20, help="timed runs per model and runtime (default 20)")
    bench.add_argument("--frames", type=int, default=60, help="webcam frames timed (default 60)")
    bench.add_argument("--flicker-frames", type=int, default=100, help="frames of each clip the webcam's flicker and ghosting are measured on (default 100)")
    bench.add_argument("--profile", action="store_true", help="also print, per model and runtime, the layer types that take the time (OpenVINO's per-layer counters)")
    bench.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser


def _side(text: str) -> int | None:
    if text.strip().lower() in ("full", "none", "0"):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of pixels or 'full'") from None


def _tile_side(text: str) -> int:
    value = tile_side(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not 0 (never tile) or a tile side from 256 to 8192 pixels")
    return value


def _printable_anywhere() -> None:
    """Under an ASCII locale (``LC_ALL=C`` without Python's UTF-8 mode) a "—" or "≈" in a message
    would raise instead of printing: such characters become "?" there, and the command still works."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and codecs.lookup(stream.encoding).name != "utf-8":
            stream.reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    _printable_anywhere()
    args = build_parser().parse_args(argv)
    try:
        stylizer = Stylizer.from_settings(Settings.from_env())
        return COMMANDS[args.command](stylizer, args)
    except StylizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if os.environ.get("STYLIZE_DEBUG"):  # the operator's view: the whole chain of causes
            traceback.print_exception(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def cmd_fetch(stylizer: Stylizer, args: argparse.Namespace) -> int:
    assets = stylizer.manifest.required()
    total = ProgressTotal(assets, _draw_bar)
    stylizer.catalogue.fetch(total, stylizer.fetch_workers)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(f"{total.files} files ready in {stylizer.store.cache_dir} ({total.from_cache} were already cached), from the {stylizer.store.description}.")
    for asset, why in stylizer.missing():
        print(f"unavailable: {asset.role} {asset.name} — {why}")
    return 0


def cmd_styles(stylizer: Stylizer, args: argparse.Namespace) -> int:
    for asset in stylizer.gallery:
        print(f"{asset.name:<8} {asset.title}")
    return 0


def cmd_run(stylizer: Stylizer, args: argparse.Namespace) -> int:
    content = _read(args.content, "photo")
    style = _style_arg(args.style)
    _check_writable(args.output)  # before any model is fetched
    options = StylizeOptions(
        args.transfer or stylizer.catalogue.first_held("transfer", StylizeOptions.transfer),
        args.segmenter or (StylizeOptions.segmenter if args.mask == "full" else stylizer.catalogue.first_held("segment", StylizeOptions.segmenter)),
        args.mask,
        args.strength,
        args.max_side,
        args.paint_side,
        runtime=args.runtime,
        precision=args.precision,
        letterbox=args.letterbox,
        keep_colors=args.keep_colors,
        mix_with=_style_arg(args.mix_with),
        mix=args.mix,
        person_style=_style_arg(args.person_style),
        keep_faces=not args.paint_faces and (args.mask == "full" or stylizer.catalogue.holds("face", PHOTO_FACES)),
    )
    if args.tile_side is not None:
        stylizer.tile_side = args.tile_side
    started = time.perf_counter()
    rgb = photo_pixels(content, options.max_side)
    decode_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    stylizer.warm_up(rgb.shape[1], rgb.shape[0], options)
    load_ms = (time.perf_counter() - started) * 1000
    result = stylizer.stylize(rgb, style, options)
    result.timings_ms["decode"] += decode_ms
    result.elapsed_ms = result.total_ms + decode_ms
    try:
        Image.fromarray(result.image).save(args.output)
    except (OSError, ValueError) as exc:
        raise InputError(f"The result could not be written to {args.output} ({exc}); give a writable path ending in .png or .jpg.") from exc
    height, width = result.image.shape[:2]
    paint_w, paint_h = result.paint_size
    tiles = f" in {result.tiles} tiles" if result.tiles > 1 else ""
    extras = f", {len(result.faces)} face(s) kept" if result.faces and options.mask == "background" and options.person_style is None else ""
    extras += "".join(
        text
        for wanted, text in (
            (result.person_style is not None, f", the person in {result.person_style}"),
            (options.keep_colors, ", the photo's own colours"),
        )
        if wanted
    )
    print(f"{args.output}: {width}×{height} (painted at {paint_w}×{paint_h}{tiles}), style {result.style}{extras}, transfer {options.transfer} on {result.runtime} ({result.precision}), mask {options.mask}")
    print(f"load {load_ms:.1f} ms (once per process and paint size), then  " + "  ".join(f"{stage} {ms:.1f} ms{' (while painting)' if stage == 'segment' and not result.tiles else ''}" for stage, ms in result.stages) + f"  total {result.total_ms:.1f} ms")
    return 0


def cmd_publish(stylizer: Stylizer, args: argparse.Namespace) -> int:
    report = Publisher(stylizer.manifest, args.source, args.target, stylizer.engine_for(PREDICT_RUNTIME), say=print).publish()
    print(report.summary())
    return 1 if report.refused else 0


def cmd_compare(stylizer: Stylizer, args: argparse.Namespace) -> int:
    options = StylizeOptions(mask=args.mask, max_side=args.max_side)
    comparison = compare_variants(stylizer, _read(args.content, "photo"), args.style, options, runs=args.runs, runtimes=args.runtime)
    rows = comparison.rows()
    print(f"{'variant':<42}{'precision':>10}{'size MB':>9}{'load ms':>9}{'median ms':>11}{'total ms':>10}{'PSNR dB':>9}{'peak MB':>9}")
    for row in rows:
        fidelity = "ref" if row["reference"] else "∞" if row["psnr_db"] is None else f"{row['psnr_db']:.2f}"
        peak = "" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:.0f}"
        print(
            f"{row['variant']:<42}{row['precision']:>10}{row['size_mb']:>9.3f}{row['load_ms']:>9.0f}{row['median_ms']:>11.1f}"
            f"{row['median_total_ms']:>10.1f}{fidelity:>9}{peak:>9}"
        )
    ref = comparison.reference
    print(f"{comparison.runs} interleaved runs each after one warm-up; PSNR against {ref.transfer} transfer + {ref.segmenter} on {ref.runtime}.")
    for row in rows:
        if row["kind"] == "segment":
            faces = "no face found" if row["faces_kept_pct"] is None else f"worst face kept {row['faces_kept_pct']:.0f} %"
            print(f"{row['variant']:<42} mask agreement with {ref.segmenter} on {ref.runtime} {row['mask_agreement_pct']:.1f} % (IoU), {faces} by the segmenter alone")
    if args.json:
        _write_json(args.json, {"photo": str(args.content), "style": args.style, "mask": args.mask, "variants": rows})
    return 0


def cmd_convert(stylizer: Stylizer, args: argparse.Namespace) -> int:
    try:
        import ai_edge_quantizer  # noqa: F401 — the conversion tools, asked for before any work is done
        import tensorflow  # noqa: F401

        from .convert import FULL_CALIBRATION, convert
    except ImportError as exc:
        raise InputError(f"convert needs the conversion tools ({exc.name} is missing); install them with: .venv/bin/pip install -r requirements-convert.txt") from exc
    derived = convert(stylizer.manifest, args.source, args.target, samples=args.samples or FULL_CALIBRATION, say=print)
    listed = {a.key: a for a in stylizer.manifest.assets}
    for d in derived:
        pinned = listed.get(d.key)
        state = "matches the manifest" if pinned and pinned.sha256 == d.sha256 else "differs from the manifest" if pinned else "not in the manifest"
        print(f"{d.key}: {state}")
    print(f"{len(derived)} files in {args.target / 'models' / 'derived'}; publish the folder with: python -m stylize publish --from {args.target} --to s3://…")
    return 0


def cmd_bench(stylizer: Stylizer, args: argparse.Namespace) -> int:
    if args.json:
        _check_writable(args.json)
    report = run_bench(stylizer, runs=max(1, args.runs), frames=max(1, args.frames), flicker_frames=max(2, args.flicker_frames), profile=args.profile)
    if args.json:
        _write_json(args.json, report.as_json())
    return 0


COMMANDS = {"fetch": cmd_fetch, "styles": cmd_styles, "run": cmd_run, "publish": cmd_publish, "compare": cmd_compare, "bench": cmd_bench, "convert": cmd_convert}


def _style_arg(text: str | None) -> str | Style | None:
    """A style given on the command line: an image file's path, else a gallery name."""
    if text is None:
        return None
    path = Path(text)
    return Style.from_bytes(_read(path, "style image"), name=path.stem, title=path.name) if path.is_file() else text


def _check_writable(path: Path) -> None:
    """Refuse an output path that cannot be written before any work is done."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not folder.is_dir():
        raise InputError(f"The output {path} cannot be written (its folder does not exist, or it is a folder); give a file path in an existing folder.")


def _write_json(path: Path, body: dict) -> None:
    try:
        path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"The figures could not be written to {path} ({exc.strerror}); give a writable path.") from exc


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"The {what} {path} does not exist; check the path.") from exc
    except IsADirectoryError as exc:
        raise InputError(f"The {what} {path} is a folder; give an image file.") from exc
    except OSError as exc:
        raise InputError(f"The {what} {path} could not be read ({exc.strerror}); check its permissions.") from exc


def _draw_bar(total: ProgressTotal) -> None:
    if not sys.stderr.isatty():
        return
    filled = int(total.fraction * 30)
    sys.stderr.write(f"\rfetching [{'#' * filled}{'.' * (30 - filled)}] {total.describe()}")
    sys.stderr.flush()
