"""Cache and filesystem faults, made real: a read-only filesystem, a full one (small tmpfs
mounts, so these need root as CI has; elsewhere they are skipped with the reason), a file where
the cache folder should be, a folder where a model file should be, a stale ``.part`` file. Each
recovers or ends in one sentence; no corrupt file is ever left in the cache."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from stylize import Settings, StoreError, StylizeOptions, Stylizer
from stylize.manifest import load_manifest
from stylize.store import STALE_PART_SECONDS, ModelStore

from ..conftest import ROOT

pytestmark = pytest.mark.reliability


@contextlib.contextmanager
def tmpfs(path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, encoding="utf-8")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'}); CI runs as root and can")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount_read_only(path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


def good(path, asset) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == asset.sha256


def test_read_only_cache_filled_by_fetch_is_read_and_writes_go_elsewhere(shared, tmp_path, photo_bytes):
    with tmpfs(tmp_path / "ro", "64m") as cache:
        store_assets = load_manifest().required()
        ModelStore.from_spec(str(shared), cache).fetch_many(store_assets)
        remount_read_only(cache)
        stylizer = Stylizer.from_settings(Settings(model_store=str(shared), cache_dir=cache))
        assert stylizer.store.fallback_reason and "cannot be written" in stylizer.store.fallback_reason
        assert stylizer.store.cache_dir != cache
        # the read-only cache's verified files are used as they are: nothing is fetched again
        for asset in store_assets:
            assert stylizer.store.cached_path(asset).is_relative_to(cache)
        result = stylizer.stylize(photo_bytes("boy.jpg"), "style5", StylizeOptions(mask="background"))
        assert result.image.shape == (426, 640, 3)
        # and the CLI says nothing alarming: it works
        ran = subprocess.run(
            [sys.executable, "-m", "stylize", "run", str(shared / "photos" / "boy.jpg"), "--style", "style5", "-o", str(tmp_path / "out.png")],
            cwd=ROOT, env={**os.environ, "STYLIZE_CACHE_DIR": str(cache), "STYLIZE_MODEL_STORE": str(shared)}, capture_output=True, encoding="utf-8", timeout=300,
        )
        assert ran.returncode == 0, ran.stderr
        assert "Traceback" not in ran.stderr


def test_read_only_empty_cache_falls_back_to_a_private_one(shared, tmp_path, manifest):
    with tmpfs(tmp_path / "ro-empty", "1m") as cache:
        remount_read_only(cache)
        store = ModelStore.from_spec(str(shared), cache)
        path = store.fetch(manifest.predict)
        assert good(path, manifest.predict) and not path.is_relative_to(cache)
        ran = subprocess.run(
            [sys.executable, "-m", "stylize", "run", str(shared / "photos" / "boy.jpg"), "--style", "style5", "-o", str(tmp_path / "out.png")],
            cwd=ROOT, env={**os.environ, "STYLIZE_CACHE_DIR": str(cache), "STYLIZE_MODEL_STORE": str(shared)}, capture_output=True, encoding="utf-8", timeout=300,
        )
        assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr


def test_full_disk_is_one_sentence_and_leaves_nothing(shared, tmp_path, manifest):
    with tmpfs(tmp_path / "full", "1m") as cache:
        store = ModelStore.from_spec(str(shared), cache)
        big = manifest.predict  # 2.8 MB into 1 MB
        with pytest.raises(StoreError) as err:
            store.fetch(big)
        message = str(err.value)
        assert "is full (no space left on the device)" in message and "STYLIZE_CACHE_DIR" in message and "\n" not in message
        assert [p for p in cache.rglob("*") if p.is_file()] == [], "no partial or corrupt file"
        # what fits still works in the same cache
        small = manifest.get("style", "style0")
        assert good(store.fetch(small), small)


def test_cache_path_is_a_file(shared, tmp_path, manifest, photo_bytes):
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder", encoding="utf-8")
    stylizer = Stylizer.from_settings(Settings(model_store=str(shared), cache_dir=blocker))
    assert stylizer.store.cache_dir != blocker and "cannot be written" in stylizer.store.fallback_reason
    assert stylizer.stylize(photo_bytes("boy.jpg"), "style2", StylizeOptions(mask="full")).image.shape == (426, 640, 3)
    assert blocker.read_text(encoding="utf-8") == "not a folder", "the user's file is left alone"


def test_folder_where_a_model_file_belongs_is_replaced(shared, tmp_path, manifest):
    asset = manifest.get("transfer", "fp16")
    in_the_way = tmp_path / asset.key
    (in_the_way / "junk").mkdir(parents=True)
    store = ModelStore.from_spec(str(shared), tmp_path)
    path = store.fetch(asset)
    assert path == in_the_way and good(path, asset)


def test_stale_parts_are_removed_fresh_ones_kept(shared, tmp_path, manifest):
    folder = tmp_path / "models"
    folder.mkdir()
    stale, fresh = folder / f".x.{uuid.uuid4().hex}.part", folder / f".y.{uuid.uuid4().hex}.part"
    stale.write_bytes(b"half a model")
    fresh.write_bytes(b"another process, fetching now")
    old = time.time() - STALE_PART_SECONDS - 60
    os.utime(stale, (old, old))
    ModelStore.from_spec(str(shared), tmp_path)
    assert not stale.exists() and fresh.exists()


def test_corrupt_cached_file_never_reaches_a_model(shared, tmp_path, manifest, photo_bytes):
    """A model file damaged in the cache (a bad disk, a bad copy) is refetched, not loaded."""
    settings = Settings(model_store=str(shared), cache_dir=tmp_path)
    first = Stylizer.from_settings(settings)
    options = StylizeOptions(mask="full", transfer="int8")
    expected = first.stylize(photo_bytes("boy.jpg"), "style8", options).image
    path = first.store.cached_path(manifest.get("transfer", "int8"))
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))
    again = Stylizer.from_settings(settings).stylize(photo_bytes("boy.jpg"), "style8", options).image
    assert np.array_equal(again, expected)
    assert good(path, manifest.get("transfer", "int8"))


def test_output_path_checked_before_the_work(shared, tmp_path):
    started = time.monotonic()
    ran = subprocess.run(
        [sys.executable, "-m", "stylize", "run", str(shared / "photos" / "boy.jpg"), "--style", "style1", "-o", str(tmp_path / "missing" / "out.png")],
        cwd=ROOT, env={**os.environ, "STYLIZE_CACHE_DIR": str(tmp_path / "c"), "STYLIZE_MODEL_STORE": str(shared)}, capture_output=True, encoding="utf-8", timeout=120,
    )
    assert ran.returncode == 2 and ran.stderr.startswith("error: The output") and "Traceback" not in ran.stderr
    assert not (tmp_path / "c" / "models").exists(), "refused before any model was fetched"
    assert time.monotonic() - started < 30
