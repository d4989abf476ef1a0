"""The transfer networks on OpenVINO as this checkout builds them against as an earlier commit
built them, in one process: the earlier commit's ``stylize/engine`` is exported with ``git
archive`` into a temporary folder and imported under another name beside this one. For each
transfer model and inference precision, the two builds run interleaved (A, B, A, B …) on a sample
photo at 384² and at the webcam's and the 1024 px photo's sizes: the median times, their ratio and
how far apart the outputs are; then, per commit, the ratios the issue's targets are stated in
(int8 and float16-in-bfloat16 against float16 in float32), from the same interleaved runs.

    .venv/bin/python scripts/measure_commits.py --base 696784c [--store ../shared] [--runs 30]

On an AVX-512 machine, a CPU without AVX-512 and VNNI as far as it can show one: hold oneDNN to
AVX2 and build both as the engine does on such a CPU (``--no-vnni``: the low-precision
transformations off, and no fold where the commit's engine reads AVX-512 from the flags) —
``ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python scripts/measure_commits.py --base … --no-vnni``.
(That caps the convolutions and element-wise kernels, not every OpenVINO kernel; on a real AVX2
CPU the engine finds both by itself.)
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import inspect
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from interleaved import compare, medians, photo_feeds

from stylize.engine.openvino import OpenVINOEngine

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "int8": "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite",
    "float16": "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite",
}
SIZES = ((384, 384), (480, 640), (768, 1024))


def engine_at(commit: str, folder: Path):
    """The ``OpenVINOEngine`` class of ``commit``, imported as the package ``stylize_at_commit``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "stylize"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    spec = importlib.util.spec_from_file_location("stylize_at_commit", folder / "stylize" / "__init__.py", submodule_search_locations=[str(folder / "stylize")])
    package = importlib.util.module_from_spec(spec)
    sys.modules["stylize_at_commit"] = package
    spec.loader.exec_module(package)
    return importlib.import_module("stylize_at_commit.engine.openvino").OpenVINOEngine


def load(engine, path: Path, precision: str):
    """``engine.load`` of a model in ``precision``; an engine older than the precision choice (before
    e557ae5) loads in f32 only."""
    if "precision" in inspect.signature(engine.load).parameters:
        return engine.load(path, precision=precision)
    assert precision == "f32", "this commit's engine computes in f32 only"
    return engine.load(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the earlier commit")
    parser.add_argument("--store", type=Path, default=ROOT.parent / "shared", help="a folder holding models/ and photos/ (default ../shared)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-vnni", action="store_true", help="build both as on a CPU without VNNI")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engines = {args.base: engine_at(args.base, Path(folder)), "this checkout": OpenVINOEngine}
        if args.no_vnni:
            for engine in engines.values():
                module = sys.modules[engine.__module__]
                module.cpu_has_vnni = module.cpu_has_avx512 = lambda cpuinfo=None: False  # (an older engine never reads the second)
        precisions = ("f32",) if args.no_vnni else OpenVINOEngine().precisions()  # an AVX2 CPU has no bfloat16
        for height, width, feeds in photo_feeds(args.store, SIZES):
            models = {
                (commit, name, precision): load(engine(threads=2), args.store / "models" / file, precision)
                for name, file in MODELS.items()
                for precision in precisions
                if name == "float16" or precision == "f32"  # the int8 model's convolutions are int8 whatever the hint
                for commit, engine in engines.items()
            }
            outputs = {key: model.run(feeds)[0] for key, model in models.items()}
            times = medians({key: functools.partial(model.run, feeds) for key, model in models.items()}, args.runs)
            for name in MODELS:
                for precision in precisions:
                    if (args.base, name, precision) not in times:
                        continue
                    before, after = times[(args.base, name, precision)], times[("this checkout", name, precision)]
                    print(
                        f"{width}x{height}  {name:8s} {precision}: {before * 1e3:6.2f} -> {after * 1e3:6.2f} ms ({after / before:.3f}x), "
                        f"outputs {compare(outputs[(args.base, name, precision)], outputs[('this checkout', name, precision)])}"
                    )
            for commit in engines:
                yardstick = times[(commit, "float16", "f32")]
                ratios = [f"{label} {times[key] / yardstick:.2f}x" for label, key in (("int8", (commit, "int8", "f32")), ("float16 bf16", (commit, "float16", "bf16"))) if key in times]
                print(f"{width}x{height}  {commit}, against float16 in f32: " + ", ".join(ratios))


if __name__ == "__main__":
    main()
