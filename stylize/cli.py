"""python -m stylize: fetch the models, list the styles, paint a photo, compare variants, publish.

A user's mistake ends with one line on stderr and exit status 2; only a bug shows a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from .compare import compare_variants
from .config import Settings
from .errors import InputError, StylizeError
from .pipeline import MASK_MODES, STAGES, StylizeOptions, Stylizer
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
    run.add_argument("--transfer", default="int8", help="transfer model variant: int8, fp16 or dynamic (default int8)")
    run.add_argument("--segmenter", default="deeplabv3", help="segmentation model: deeplabv3, deeplabv3-gpu or segm-lite")
    run.add_argument("--mask", default="background", choices=MASK_MODES, help="what to paint (default background)")
    run.add_argument("--strength", type=float, default=1.0, help="style strength from 0 to 1 (default 1)")
    run.add_argument("--max-side", type=int, default=1024, help="longest side of the result in pixels (default 1024)")
    run.add_argument("-o", "--output", type=Path, required=True, help="where to write the result (PNG or JPEG)")

    publish = commands.add_parser("publish", help="upload the manifest's files and the gallery's style vectors to S3")
    publish.add_argument("--from", dest="source", type=Path, required=True, help="folder laid out like the store (models/, styles/, photos/)")
    publish.add_argument("--to", dest="target", required=True, help="s3://bucket/prefix")

    compare = commands.add_parser("compare", help="benchmark every model variant on one photo: size, median latency, PSNR")
    compare.add_argument("content", type=Path, help="photo to paint")
    compare.add_argument("--style", default="style19", help="gallery style (default style19)")
    compare.add_argument("--mask", default="background", choices=MASK_MODES)
    compare.add_argument("--runs", type=int, default=10, help="runs per variant (default 10)")
    compare.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        stylizer = Stylizer.from_settings(Settings.from_env())
        return COMMANDS[args.command](stylizer, args)
    except StylizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def cmd_fetch(stylizer: Stylizer, args: argparse.Namespace) -> int:
    assets = stylizer.manifest.required()
    total = ProgressTotal(assets, _draw_bar)
    stylizer.store.fetch_many(assets, total, stylizer.fetch_workers)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(f"{total.files} files ready in {stylizer.store.cache_dir} ({total.from_cache} were already cached), from the {stylizer.store.description}.")
    return 0


def cmd_styles(stylizer: Stylizer, args: argparse.Namespace) -> int:
    for asset in stylizer.gallery:
        print(f"{asset.name:<8} {asset.title}")
    return 0


def cmd_run(stylizer: Stylizer, args: argparse.Namespace) -> int:
    content = _read(args.content, "photo")
    style_path = Path(args.style)
    style = Style.from_bytes(_read(style_path, "style image"), name=style_path.stem, title=style_path.name) if style_path.is_file() else args.style
    options = StylizeOptions(args.transfer, args.segmenter, args.mask, args.strength, args.max_side).validated()
    started = time.perf_counter()
    stylizer.load_for(options)
    load_ms = (time.perf_counter() - started) * 1000
    result = stylizer.stylize(content, style, options)
    try:
        Image.fromarray(result.image).save(args.output)
    except (OSError, ValueError) as exc:
        raise InputError(f"The result could not be written to {args.output} ({exc}); give a writable path ending in .png or .jpg.") from None
    height, width = result.image.shape[:2]
    print(f"{args.output}: {width}×{height}, style {result.style}, transfer {options.transfer}, mask {options.mask}")
    print(f"load {load_ms:.1f} ms (once per process), then  " + "  ".join(f"{stage} {result.timings_ms[stage]:.1f} ms" for stage in STAGES) + f"  total {result.total_ms:.1f} ms")
    return 0


def cmd_publish(stylizer: Stylizer, args: argparse.Namespace) -> int:
    report = Publisher(stylizer.manifest, args.source, args.target, stylizer.engine, say=print).publish()
    print(report.summary())
    return 1 if report.refused else 0


def cmd_compare(stylizer: Stylizer, args: argparse.Namespace) -> int:
    comparison = compare_variants(stylizer, _read(args.content, "photo"), args.style, StylizeOptions(mask=args.mask), runs=args.runs)
    rows = comparison.rows()
    print(f"{'variant':<24}{'precision':>10}{'size MB':>9}{'runs':>6}{'median ms':>11}{'total ms':>10}{'PSNR dB':>9}")
    for row in rows:
        fidelity = "ref" if row["reference"] else "∞" if row["psnr_db"] is None else f"{row['psnr_db']:.2f}"
        print(f"{row['variant']:<24}{row['precision']:>10}{row['size_mb']:>9.3f}{row['runs']:>6}{row['median_ms']:>11.1f}{row['median_total_ms']:>10.1f}{fidelity:>9}")
    if args.json:
        args.json.write_text(json.dumps({"photo": str(args.content), "style": args.style, "mask": args.mask, "variants": rows}, indent=2))
    return 0


COMMANDS = {"fetch": cmd_fetch, "styles": cmd_styles, "run": cmd_run, "publish": cmd_publish, "compare": cmd_compare}


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"The {what} {path} does not exist; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"The {what} {path} is a folder; give an image file.") from None
    except OSError as exc:
        raise InputError(f"The {what} {path} could not be read ({exc.strerror}); check its permissions.") from None


def _draw_bar(total: ProgressTotal) -> None:
    if not sys.stderr.isatty():
        return
    filled = int(total.fraction * 30)
    sys.stderr.write(f"\rfetching [{'#' * filled}{'.' * (30 - filled)}] {total.describe()}")
    sys.stderr.flush()
