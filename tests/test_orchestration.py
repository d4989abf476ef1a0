"""The fast tier: planning, the model pool, preparation and its retry, a store that holds part of
the manifest, and the error paths — on a fake engine and a fake store (tests/fakes.py), without
../shared. ``pytest -m "not models"`` runs these with the other tests that need no model file."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np
import pytest

from stylize import StylizeOptions, Stylizer
from stylize.engine.stages import Stage, StagePlan
from stylize.errors import InputError, MissingAsset, ModelError, StoreError
from stylize.imaging import decode_image
from stylize.plan import PHOTO_FACES, Limits, plan
from stylize.pool import ModelPool
from stylize.store import FolderSource, HttpSource, ModelStore, ProgressTotal
from tests.conftest import ROOT
from tests.fakes import FakeEngine, fake_store

ONE_STAGE = StagePlan("image", "vector", "out", (Stage(0, ("image",), ("vector",), ("out",), Fraction(1), Fraction(1), None, 3),))


def make_stylizer(tmp_path, omit=(), engine=None, source=None, **kwargs) -> tuple[Stylizer, FakeEngine]:
    store = fake_store(tmp_path / "store", omit=omit)
    engine = engine or FakeEngine()
    engines: dict[str, FakeEngine] = {engine.name: engine}

    def make(name, threads, cache):
        return engines.setdefault(name, FakeEngine(name))

    model_store = ModelStore(source or FolderSource(store.folder), tmp_path / "cache")
    return Stylizer(store.manifest, model_store, engine, tile_side=0, make_engine=make, **kwargs), engine


# --- planning: pure, no model ------------------------------------------------------------------
def test_plan_sizes_a_photo_for_the_result_and_the_network():
    whole = Limits(whole_side=2048)
    p = plan(StylizeOptions(max_side=1024), 4000, 3000, whole)
    assert p.result == (1024, 768) and p.paint == (1024, 768) and p.padded == (1024, 768) and not p.tiled
    odd = plan(StylizeOptions(max_side=None), 1001, 667, whole)
    assert odd.result == (1001, 667) and odd.padded == (1004, 668), "padded to the network's multiple of 4"
    coarse = plan(StylizeOptions(max_side=None, paint_side=256), 1001, 667, whole)
    assert coarse.result == (1001, 667) and coarse.paint == (256, 171)
    capped = plan(StylizeOptions(max_side=None), 4000, 3000, whole)
    assert capped.paint == (2048, 1536) and not capped.tiled, "a network that cannot be cut is painted at the runtime's cap"
    boxed = plan(StylizeOptions(letterbox=True), 640, 426, whole, letterbox_side=384)
    assert boxed.paint == boxed.padded == (384, 384) and boxed.result == (640, 426)


def test_plan_tiles_only_what_is_longer_than_a_runtime_paints_whole():
    tiling = Limits(whole_side=2048, tile_side=512, stages=ONE_STAGE)
    big = plan(StylizeOptions(max_side=None), 4000, 3000, tiling)
    assert big.tiled and big.paint == (4000, 3000), "painted at its own size, in tiles"
    bigger = plan(StylizeOptions(max_side=None), 8000, 6000, tiling)
    assert bigger.tiles > big.tiles > 1
    assert not plan(StylizeOptions(max_side=None), 2048, 1536, tiling).tiled
    assert not plan(StylizeOptions(max_side=None), 4000, 3000, Limits(2048, 0, None, ONE_STAGE)).tiled, "tile side 0: never"
    assert plan(StylizeOptions(max_side=None), 1200, 900, Limits(2048, 512, 1024, ONE_STAGE)).tiled, "tile_above lowers the threshold"
    assert not big.mask_alongside and plan(StylizeOptions(), 640, 480, tiling).mask_alongside, "a tiled painting's mask waits for it"


def test_the_time_estimate_runs_at_the_speed_of_the_visitors_last_painting():
    """After one result the model gives that result's own plan exactly the time it took (its
    queueing left out), and every other plan the same multiple of the reference machine's time; a
    picture in tiles costs its tiled rate, a larger photo its decode."""
    import dataclasses

    from stylize.estimate import CostModel
    from stylize.result import Result

    tiling = Limits(whole_side=2048, tile_side=512, stages=ONE_STAGE)
    model = CostModel()
    small = plan(StylizeOptions(max_side=1024), 1536, 1024, tiling)
    taken = Result(np.zeros((683, 1024, 3), np.uint8), np.zeros((683, 1024, 3), np.uint8), None, StylizeOptions(), "s", {"queued": 900.0}, paint_size=small.paint, elapsed_ms=1400.0)
    learned = model.learned((1536, 1024), taken)
    assert learned.seconds((1536, 1024), small) == pytest.approx(0.5), "1.4 s, less 0.9 s queued"
    assert learned.speed == pytest.approx(500.0 / model.modelled_ms((1536, 1024), small.paint, small.result, False))
    big = plan(StylizeOptions(max_side=None), 4000, 3000, tiling)
    assert big.tiled
    assert learned.seconds((4000, 3000), big) == pytest.approx(learned.speed * model.seconds((4000, 3000), big))
    assert model.seconds((4000, 3000), big) > dataclasses.replace(model, tiled_ms_per_mp=model.whole_ms_per_mp).seconds((4000, 3000), big)
    assert model.seconds((4000, 3000), small) > model.seconds((1536, 1024), small), "the larger photo takes longer to decode"
    assert model.learned((1536, 1024), dataclasses.replace(taken, elapsed_ms=0.0, timings_ms={})) == model, "a result with no time says nothing"


def test_plan_names_the_models_and_styles_a_request_needs():
    p = plan(StylizeOptions(mix_with="style2", person_style="style3"), 640, 480, Limits(768), style="style1")
    assert p.transfer == StylizeOptions.transfer and p.segmenter == "selfie" and p.face_detector == PHOTO_FACES
    assert p.styles == ("style1", "style2", "style3")
    full = plan(StylizeOptions(mask="full"), 640, 480, Limits(768), style="style1")
    assert full.segmenter is None and full.face_detector is None
    assert plan(StylizeOptions(), 640, 480, Limits(768), video=True).face_detector == "face-short"


# --- the pool --------------------------------------------------------------------------------
def test_pool_loads_each_model_once_however_many_threads_ask(tmp_path):
    store = fake_store(tmp_path)
    engine = FakeEngine(load_delay=0.05)
    pool = ModelPool(engine, lambda asset: store.folder / asset.key)
    transfer = store.manifest.get("transfer", "int8")
    with ThreadPoolExecutor(8) as workers:
        models = list(workers.map(lambda _: pool.model(transfer), range(16)))
    assert all(m is models[0] for m in models) and engine.loads == [("transfer_int8.tflite", None)]
    assert pool.load_ms[("openvino", transfer.key, "f32")] >= 50.0
    with pool:
        pass
    with pytest.raises(ModelError, match="closed"):
        pool.model(transfer)


def test_pool_lets_go_of_what_it_was_not_told_to_keep_and_loads_it_again_when_asked(tmp_path):
    store = fake_store(tmp_path)
    engine = FakeEngine()
    pool = ModelPool(engine, lambda asset: store.folder / asset.key)
    int8, fp16 = store.manifest.get("transfer", "int8"), store.manifest.get("transfer", "fp16")
    kept_model = pool.model(int8)
    keep = pool.loaded()
    pool.model(fp16)
    assert pool.unload(keep) == 1 and pool.loaded() == keep
    assert pool.model(int8) is kept_model, "what was kept is the same model"
    pool.model(fp16)
    assert [name for name, _ in engine.loads] == ["transfer_int8.tflite", "transfer_fp16.tflite", "transfer_fp16.tflite"]


# --- the façade on the fake engine ----------------------------------------------------------
def test_a_prepared_stylizer_paints_what_its_engine_computes(tmp_path):
    stylizer, engine = make_stylizer(tmp_path)
    stylizer.prepare()
    assert stylizer.ready and not stylizer.missing()
    photo = (np.arange(96 * 64 * 3) % 251).astype(np.uint8).reshape(96, 64, 3)
    result = stylizer.stylize(photo, "style1", StylizeOptions(mask="full", max_side=None))
    vector = stylizer.vectors.vector(stylizer.style("style1"))
    expected = np.clip(1.0 - photo / 255.0 + 0.01 * float(vector.mean()), 0, 1) * 255.0
    assert result.image.shape == photo.shape and np.abs(result.image - expected).max() <= 1.0
    assert result.paint_size == (64, 96) and result.tiles == 0 and result.runtime == "openvino"
    with stylizer:
        pass
    with pytest.raises(ModelError, match="closed"):
        stylizer.stylize(photo, "style1", StylizeOptions(mask="full", transfer="fp16"))


def test_background_preparation_is_shared_and_retried_only_after_a_pause(tmp_path):
    stylizer, _ = make_stylizer(tmp_path, omit=("predict-int8",))
    jobs = [stylizer.prepare_in_background() for _ in range(3)]
    assert all(job is jobs[0] for job in jobs), "visitors arriving together share one attempt"
    with pytest.raises(StoreError, match="predict.tflite is not in the folder"):
        jobs[0][0].result(timeout=10)
    assert stylizer.prepare_in_background() is jobs[0], "no new attempt right after a failure"
    offset = [0.0]
    stylizer.background._clock = lambda: time.monotonic() + offset[0]
    offset[0] = stylizer.background.retry_after + 1.0
    again = stylizer.prepare_in_background()
    assert again is not jobs[0]
    with pytest.raises(StoreError):
        again[0].result(timeout=10)
    assert not stylizer.ready


def test_library_errors_keep_their_cause(tmp_path):
    store = fake_store(tmp_path, omit=("fp16",))
    model_store = ModelStore(FolderSource(store.folder), tmp_path / "cache")
    with pytest.raises(MissingAsset) as caught:
        model_store.fetch(store.manifest.get("transfer", "fp16"))
    assert isinstance(caught.value.__cause__, FileNotFoundError), "the operator's log keeps the cause"
    assert "\n" not in str(caught.value), "the visitor reads one sentence"


# --- a store that holds part of the manifest ------------------------------------------------
def test_a_partial_store_serves_what_it_has_and_says_what_it_lacks(tmp_path):
    stylizer, _ = make_stylizer(tmp_path, omit=("fp16", "selfie", "sample"))
    progress = stylizer._preparation()
    stylizer.prepare(progress)
    assert stylizer.ready and progress.fraction == 1.0, "the missing files do not hold the progress bar back"
    assert [a.name for a in stylizer.assets("transfer")] == ["int8"]
    assert [a.name for a in stylizer.assets("segment")] == ["deeplabv3"] and stylizer.assets("photo") == ()
    missing = {a.name: why for a, why in stylizer.missing()}
    assert set(missing) == {"fp16", "selfie", "sample"} and all("is not in the folder" in why for why in missing.values())
    defaults = stylizer.defaults()
    assert defaults.segmenter == "deeplabv3" and defaults.transfer == "int8"
    photo = np.full((48, 64, 3), 200, np.uint8)
    result = stylizer.stylize(photo, "style0", defaults)
    assert result.image.shape == photo.shape
    with pytest.raises(InputError, match=r"fp16 is not in this store .*choose one of: int8"):
        stylizer.stylize(photo, "style0", StylizeOptions(transfer="fp16", mask="full"))
    with pytest.raises(InputError, match="selfie is not in this store"):
        stylizer.stylize(photo, "style0", StylizeOptions(transfer="int8", segmenter="selfie"))


def test_a_store_without_what_every_painting_needs_fails_in_one_sentence(tmp_path):
    stylizer, _ = make_stylizer(tmp_path, omit=("int8", "fp16"))
    with pytest.raises(StoreError, match="holds no transfer model") as caught:
        stylizer.prepare()
    assert isinstance(caught.value.__cause__, MissingAsset)


def test_an_unreachable_store_is_not_a_partial_one(tmp_path):
    """A store that cannot be reached fails preparation as a whole: a dead link must not pass for
    a store that lacks every optional file."""
    store = fake_store(tmp_path / "store")
    dead = ModelStore(HttpSource("http://127.0.0.1:9"), tmp_path / "cache")
    dead._sleep = lambda _: None
    catalogue_missing: dict = {}
    with pytest.raises(StoreError, match="could not be fetched"):
        dead.fetch_many(store.manifest.required(), None, 4, catalogue_missing)
    assert not catalogue_missing


@pytest.fixture
def public_addresses(tmp_path):
    """A local HTTP server standing in for the public download addresses."""
    folder = tmp_path / "public"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_the_public_store_serves_the_assets_that_have_an_address(tmp_path, public_addresses):
    folder, base = public_addresses
    published = ("predict-int8", "int8", "deeplabv3", "style0", "style1", "style2")
    store = fake_store(folder, with_urls=published, public_base=base)
    engine = FakeEngine()
    stylizer = Stylizer(store.manifest, ModelStore.from_spec("public", tmp_path / "cache"), engine, tile_side=0, make_engine=lambda n, t, c: engine)
    stylizer.prepare()
    assert {a.name for a in stylizer.assets("transfer")} == {"int8"} and {a.name for a in stylizer.assets("segment")} == {"deeplabv3"}
    missing = {a.name: why for a, why in stylizer.missing()}
    assert set(missing) == {"fp16", "selfie", "sample"} and all("has no public download address" in why for why in missing.values())
    photo = decode_image((store.folder / "styles/style0.jpg").read_bytes())
    assert stylizer.stylize(photo, "style2", stylizer.defaults()).image.shape == photo.shape


def test_progress_total_forgets_a_missing_file(tmp_path):
    store = fake_store(tmp_path)
    assets = store.manifest.required()
    total = ProgressTotal(assets, lambda _: None)
    total.missing(assets[0])
    assert total.files == len(assets) - 1 and total.total_bytes == sum(a.bytes for a in assets[1:])


def test_the_cli_says_one_sentence_and_with_stylize_debug_the_causes(tmp_path):
    env = {**os.environ, "STYLIZE_MODEL_STORE": str(tmp_path / "empty"), "STYLIZE_CACHE_DIR": str(tmp_path / "cache")}
    (tmp_path / "empty").mkdir()
    plain = subprocess.run([sys.executable, "-m", "stylize", "fetch"], cwd=ROOT, env=env, capture_output=True, encoding="utf-8", timeout=120)
    assert plain.returncode == 2 and plain.stderr.startswith("error: ") and len(plain.stderr.strip().splitlines()) == 1, plain.stderr
    debug = subprocess.run([sys.executable, "-m", "stylize", "fetch"], cwd=ROOT, env={**env, "STYLIZE_DEBUG": "1"}, capture_output=True, encoding="utf-8", timeout=120)
    assert debug.returncode == 2 and debug.stderr.startswith(plain.stderr.strip().splitlines()[0])
    assert "FileNotFoundError" in debug.stderr and "direct cause" in debug.stderr, "the operator sees the chain of causes"
