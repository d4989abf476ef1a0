"""python -m stylize as a user runs it, reading the models from the local S3 endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PIL import Image

from stylize.engine.cpu import cpu_has_avx512, cpu_has_vnni

from .conftest import ROOT


def run_cli(*args, env_extra=None, cache=None):
    env = {**os.environ, **(env_extra or {})}
    if cache is not None:
        env["STYLIZE_CACHE_DIR"] = str(cache)
    return subprocess.run([sys.executable, "-m", "stylize", *args], cwd=ROOT, env=env, capture_output=True, encoding="utf-8", timeout=300)


def test_fetch_styles_and_run_from_s3(seeded_bucket, shared, tmp_path):
    store = {"STYLIZE_MODEL_STORE": seeded_bucket}
    cache = tmp_path / "cache"
    fetched = run_cli("fetch", env_extra=store, cache=cache)
    assert fetched.returncode == 0, fetched.stderr
    assert "40 files ready" in fetched.stdout and "0 were already cached" in fetched.stdout
    assert len([p for p in cache.rglob("*") if p.is_file()]) == 40

    styles = run_cli("styles", env_extra=store, cache=cache)
    assert styles.returncode == 0 and len(styles.stdout.splitlines()) == 26
    assert "style19  Starry Night" in styles.stdout

    out = tmp_path / "painted.png"
    ran = run_cli(
        "run", str(shared / "photos" / "man_in_suit.jpg"), "--style", "Starry Night", "--transfer", "fp16",
        "--mask", "background", "--segmenter", "segm-lite", "--strength", "0.8", "-o", str(out),
        env_extra=store, cache=cache,
    )
    assert ran.returncode == 0, ran.stderr
    assert Image.open(out).size == (399, 640)
    for stage in ("decode", "segment", "predict", "transfer", "composite", "total"):
        assert f"{stage} " in ran.stdout


def test_own_style_image_path(shared, tmp_path):
    out = tmp_path / "mine.jpg"
    ran = run_cli(
        "run", str(shared / "photos" / "boy.jpg"), "--style", str(shared / "photos" / "yoga_balcony.jpg"), "--mask", "full", "-o", str(out),
        env_extra={"STYLIZE_MODEL_STORE": str(shared)}, cache=tmp_path / "cache",
    )
    assert ran.returncode == 0, ran.stderr
    assert Image.open(out).size == (640, 426)


def test_mistakes_exit_nonzero_with_one_line(shared, tmp_path):
    env = {"STYLIZE_MODEL_STORE": str(shared)}
    cases = [
        (["run", str(shared / "photos" / "boy.jpg"), "--style", "Mona Lisa", "-o", str(tmp_path / "x.png")], "no style called"),
        (["run", str(tmp_path / "missing.jpg"), "--style", "style1", "-o", str(tmp_path / "x.png")], "does not exist"),
        (["run", str(ROOT / "pyproject.toml"), "--style", "style1", "-o", str(tmp_path / "x.png")], "not an image"),
        (["run", str(shared / "photos" / "boy.jpg"), "--style", "style1", "--transfer", "int4", "-o", str(tmp_path / "x.png")], "int8, fp16, dynamic"),
        (["run", str(shared / "photos" / "boy.jpg"), "--style", "style1"], "required"),
        (["run", str(shared / "photos" / "boy.jpg"), "--style", "style1", "-o", str(tmp_path / "no" / "dir.png")], "cannot be written"),
        (["run", str(shared / "photos" / "boy.jpg"), "--style", "style1", "--engine", "tpu", "-o", str(tmp_path / "x.png")], "not a known inference runtime"),
        (["run", str(shared / "photos" / "boy.jpg"), "--style", "style1", "--tile-side", "100", "-o", str(tmp_path / "x.png")], "is not 0 (never tile) or a tile side"),
    ]
    for args, message in cases:
        ran = run_cli(*args, env_extra=env, cache=tmp_path / "cache")
        lines = [line for line in ran.stderr.splitlines() if not line.startswith("INFO:")]
        assert ran.returncode == 2, (args, ran.stderr)
        assert len(lines) == 1 and message in lines[0], (args, ran.stderr)
        assert "Traceback" not in ran.stderr


def test_a_photo_larger_than_the_runtime_paints_whole_is_painted_in_tiles(shared, tmp_path):
    """2400×1800 is past OpenVINO's whole-picture limit (2048): painted at its own size in tiles,
    or — tiles turned off — at the limit and scaled up."""
    photo = tmp_path / "large.jpg"
    Image.open(shared / "photos" / "boy.jpg").resize((2400, 1800)).save(photo, quality=92)
    env = {"STYLIZE_MODEL_STORE": str(shared)}
    for tile_side, painted in (("512", "painted at 2400×1800 in "), ("0", "painted at 2048×1536)")):
        out = tmp_path / f"tiles-{tile_side}.png"
        ran = run_cli("run", str(photo), "--style", "style19", "--mask", "full", "--max-side", "full", "--engine", "openvino", "--tile-side", tile_side, "-o", str(out), env_extra=env, cache=tmp_path / "cache")
        assert ran.returncode == 0, ran.stderr
        assert painted in ran.stdout, ran.stdout
        assert Image.open(out).size == (2400, 1800)


def test_the_commands_work_under_an_ascii_locale(shared, tmp_path):
    """A terminal or container without a UTF-8 locale (LC_ALL=C, Python's UTF-8 mode off) gets
    the same results, with "×" and "—" printed as "?" instead of a UnicodeEncodeError."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "LANG", "LC_ALL", "LC_CTYPE")}
    env.update({"LC_ALL": "C", "PYTHONUTF8": "0", "STYLIZE_MODEL_STORE": str(shared), "STYLIZE_CACHE_DIR": str(tmp_path / "cache")})
    out = tmp_path / "painted.png"
    for args, code in (
        (["run", str(shared / "photos" / "boy.jpg"), "--style", "Starry Night", "--mask", "full", "-o", str(out)], 0),
        (["run", str(shared / "photos" / "boy.jpg"), "--style", "Mona Lisa", "-o", str(out)], 2),
    ):
        ran = subprocess.run([sys.executable, "-m", "stylize", *args], cwd=ROOT, env=env, capture_output=True, timeout=300)
        stdout, stderr = ran.stdout.decode("ascii"), ran.stderr.decode("ascii")  # nothing but ASCII reaches such a terminal
        assert ran.returncode == code, stderr
        assert "Traceback" not in stderr and "UnicodeEncodeError" not in stderr
        if code == 0:
            assert "640?426" in stdout and Image.open(out).size == (640, 426), stdout
        else:
            assert [line for line in stderr.splitlines() if line.startswith("error: ")] and "no style called" in stderr, stderr


def test_unreachable_store_is_one_line(tmp_path):
    ran = run_cli(
        "fetch",
        env_extra={"STYLIZE_MODEL_STORE": "s3://models/v1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
        cache=tmp_path,
    )
    assert ran.returncode == 2
    assert ran.stderr.strip().startswith("error: ") and "could not be fetched" in ran.stderr and "Traceback" not in ran.stderr


def test_bench_prints_and_writes_its_figures(shared, tmp_path):
    """A short bench (1 timed run per model, 3 webcam frames): the figures it prints and the JSON
    it writes are the same measurements, for both runtimes and every model."""
    out = tmp_path / "bench.json"
    ran = run_cli("bench", "--runs", "1", "--frames", "3", "--flicker-frames", "8", "--profile", "--json", str(out), env_extra={"STYLIZE_MODEL_STORE": str(shared)}, cache=tmp_path / "cache")
    assert ran.returncode == 0, ran.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["runtimes"] == ["openvino", "litert"] and figures["default_runtime"] == "openvino"
    models = {(m["name"], m["runtime"], m["inference_precision"]): m for m in figures["models"]}
    names = ("predict-int8", "int8", "fp16", "dynamic", "selfie", "selfie-landscape", "deeplabv3", "deeplabv3-gpu", "segm-lite", "face-short", "face-full")
    cpu = figures["cpu"]
    assert cpu["openvino_capabilities"] and "FP32" in cpu["openvino_capabilities"] and cpu["precisions"][0] == "f32"
    assert ("bf16" in cpu["precisions"]) == ("BF16" in cpu["openvino_capabilities"])
    assert f"OpenVINO capabilities {', '.join(cpu['openvino_capabilities'])}" in ran.stdout, "the hardware is printed with every run"
    assert (cpu["vnni"], cpu["avx512"]) == (cpu_has_vnni(), cpu_has_avx512())
    assert f"VNNI {'yes' if cpu['vnni'] else 'no'}; AVX-512 {'yes' if cpu['avx512'] else 'no'};" in ran.stdout
    transfers = ("int8", "fp16", "dynamic")
    expected_rows = {(n, r, "f32") for n in names for r in ("openvino", "litert")} | {(n, "openvino", p) for n in transfers for p in cpu["precisions"]}
    assert set(models) == expected_rows, "every model on both runtimes; each transfer network on OpenVINO in every precision offered"
    for (name, _runtime, _precision), m in models.items():
        assert m["median_ms"] > 0 and m["load_ms"] > 0
        expected = models[(name, "litert", "f32")]["median_ms"] / m["median_ms"]
        assert abs(m["ratio_vs_litert"] - expected) < 0.01
        assert f"{name:<16}" in ran.stdout
    profiles = figures["profiles"]
    assert set(profiles) == {f"{n} · openvino · {p}" for n, r, p in expected_rows if r == "openvino"}, "--profile: every OpenVINO model"
    for key, layers in profiles.items():
        assert abs(sum(share for _kind, _ms, share in layers) - 100.0) < 0.5 and all(ms > 0 for _kind, ms, _share in layers)
        name, _, precision = key.split(" · ")
        assert f"{name} on openvino in {precision}, by layer type: {layers[0][0]}" in ran.stdout
    assert any(kind.startswith("Convolution") for kind, _ms, _share in profiles["int8 · openvino · f32"][:3]), "the convolutions are among the int8 model's top layers"
    assert figures["webcam_fps"] > 0 and figures["photo_1024_ms"] > 0 and figures["photo_12mp_s"] > 0
    assert figures["photo_12mp_paint"] == "4000×3000" and figures["photo_12mp_tiles"] > 1, "painted at its own size, in tiles"
    assert f"→ 4000×3000 (painted at 4000×3000 in {figures['photo_12mp_tiles']} tiles of 512)" in ran.stdout
    assert 100 < figures["peak_rss_mb"] < 24_000
    assert all(v and v > 50 for v in figures["rss_all_loaded_mb"].values())
    assert f"{figures['webcam_fps']} frames/s" in ran.stdout
    assert 0 < figures["webcam_flicker_steady"] < figures["webcam_flicker_raw"] and figures["webcam_ghost_db"] > 0
    assert f"flicker {figures['webcam_flicker_raw']} raw → {figures['webcam_flicker_steady']} steady" in ran.stdout


def test_creative_options_on_the_command_line(shared, tmp_path):
    env, cache = {"STYLIZE_MODEL_STORE": str(shared)}, tmp_path / "cache"
    out = tmp_path / "split.png"
    ran = run_cli(
        "run", str(shared / "photos" / "man_in_suit.jpg"), "--style", "style19", "--mix-with", "style3", "--mix", "0.25",
        "--person-style", "style5", "--keep-colors", "-o", str(out), env_extra=env, cache=cache,
    )
    assert ran.returncode == 0, ran.stderr
    assert Image.open(out).size == (399, 640)
    assert "style Starry Night 75 % + " in ran.stdout and "25 %, the person in Kandinsky Composition, the photo's own colours" in ran.stdout
    assert "transfer (person's style) " in ran.stdout and "colours " in ran.stdout
    refused = run_cli("run", str(shared / "photos" / "boy.jpg"), "--style", "style1", "--person-style", "style5", "--mask", "full", "-o", str(out), env_extra=env, cache=cache)
    assert refused.returncode == 2 and "needs the person found" in refused.stderr and "Traceback" not in refused.stderr


def test_a_partial_store_runs_with_what_it_has_and_lists_the_rest(partial_store, shared, tmp_path):
    store = {"STYLIZE_MODEL_STORE": str(partial_store)}
    cache = tmp_path / "cache"
    fetched = run_cli("fetch", env_extra=store, cache=cache)
    assert fetched.returncode == 0, fetched.stderr
    unavailable = [line for line in fetched.stdout.splitlines() if line.startswith("unavailable: ")]
    assert len(unavailable) == 7 and "unavailable: transfer fp16 — models/magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite is not in the folder" in fetched.stdout
    out = tmp_path / "painted.png"
    ran = run_cli("run", str(shared / "photos" / "boy.jpg"), "--style", "style19", "-o", str(out), env_extra=store, cache=cache)
    assert ran.returncode == 0, ran.stderr
    assert "mask background" in ran.stdout and Image.open(out).size == (640, 426)
    refused = run_cli("run", str(shared / "photos" / "boy.jpg"), "--style", "style19", "--transfer", "fp16", "--mask", "full", "-o", str(out), env_extra=store, cache=cache)
    assert refused.returncode == 2 and refused.stderr.startswith("error: ") and "fp16" in refused.stderr and "Traceback" not in refused.stderr
    compared = run_cli("compare", str(shared / "photos" / "boy.jpg"), "--style", "style19", "--mask", "full", "--runs", "1", "--runtime", "openvino", env_extra=store, cache=cache)
    assert compared.returncode == 0, compared.stderr
    assert "PSNR against dynamic transfer" in compared.stdout and "fp16" not in compared.stdout.split("PSNR against")[1].splitlines()[1:]
