"""The model store against real backends: a folder, moto's S3 server, and an HTTP mirror."""

from __future__ import annotations

import functools
import hashlib
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from stylize import StoreError
from stylize.config import FetchPolicy
from stylize.store import ModelStore, ProgressTotal, S3Source, source_from_spec

from .conftest import BUCKET, free_port, moto_server


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(cache):
    return [p for p in cache.rglob("*.part")]


@pytest.fixture
def predict(manifest):
    return manifest.predict


def test_folder_store_fetches_verified_copy_once(shared, manifest, predict, tmp_path):
    store = ModelStore.from_spec(str(shared), tmp_path)
    path = store.fetch(predict)
    assert sha(path) == predict.sha256 and path == tmp_path / predict.key
    before = path.stat().st_ino, path.stat().st_mtime_ns
    seen = []
    store.fetch(predict, seen.append)
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == before, "a good cached file must not be fetched again"
    assert seen[-1].cached


def test_corrupt_cached_file_is_fetched_again(shared, predict, tmp_path):
    store = ModelStore.from_spec(f"file://{shared}", tmp_path)
    path = store.fetch(predict)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not store.is_cached(predict)
    store.fetch(predict)
    assert sha(path) == predict.sha256


def test_file_differing_from_manifest_is_refused_and_nothing_is_left(shared, manifest, tmp_path):
    store_root = tmp_path / "store"
    shutil.copytree(shared / "models", store_root / "models")
    asset = manifest.get("transfer", "int8")
    tampered = store_root / asset.key
    tampered.chmod(0o644)
    tampered.write_bytes(tampered.read_bytes()[:-10] + b"0123456789")
    store = ModelStore.from_spec(str(store_root), tmp_path / "cache")
    with pytest.raises(StoreError) as err:
        store.fetch(asset)
    assert asset.key in str(err.value) and "does not match the manifest" in str(err.value)
    assert not store.cached_path(asset).exists()
    assert leftovers(tmp_path / "cache") == []


def test_s3_store_fetches_everything_with_progress(seeded_bucket, manifest, tmp_path):
    store = ModelStore.from_spec(seeded_bucket, tmp_path)
    assert isinstance(store.source, S3Source)
    updates = []
    total = ProgressTotal(manifest.required(), lambda t: updates.append(t.fraction))
    paths = store.fetch_many(manifest.required(), total, workers=8)
    assert len(paths) == len(manifest.required()) == 40
    for asset in manifest.required():
        assert sha(paths[asset.key]) == asset.sha256
    assert updates[-1] == 1.0 and len(updates) > len(paths)
    assert total.from_cache == 0
    # a second fetch reads nothing from S3: every file is already cached and verified
    again = ProgressTotal(manifest.required(), lambda t: None)
    store.fetch_many(manifest.required(), again)
    assert again.from_cache == 40


def test_s3_missing_key_and_bucket_are_clear(seeded_bucket, manifest, tmp_path):
    store = ModelStore.from_spec(seeded_bucket + "-elsewhere", tmp_path)
    asset = manifest.predict
    with pytest.raises(StoreError) as err:
        store.fetch(asset)
    message = str(err.value)
    assert asset.key in message and "does not exist" in message and "publish" in message
    assert "\n" not in message
    missing_bucket = ModelStore.from_spec("s3://no-such-bucket/models", tmp_path)
    with pytest.raises(StoreError, match="bucket no-such-bucket does not exist"):
        missing_bucket.fetch(asset)
    assert leftovers(tmp_path) == []


def test_s3_unreachable_endpoint_is_clear(manifest, tmp_path, monkeypatch, aws_env):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    store = ModelStore(source_from_spec(f"s3://{BUCKET}/v1"), tmp_path, FetchPolicy(tries=2, backoff=0.01))
    with pytest.raises(StoreError, match="after 2 tries.*reachable"):
        store.fetch(manifest.predict)
    assert leftovers(tmp_path) == []


def test_s3_without_credentials_is_clear(seeded_bucket, manifest, tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = ModelStore.from_spec(seeded_bucket, tmp_path / "cache")
    with pytest.raises(StoreError, match="no AWS credentials"):
        store.fetch(manifest.predict)


def test_s3_bad_credentials_are_clear(shared, manifest, tmp_path, monkeypatch, aws_env):
    """A moto server that checks credentials (as AWS does) refuses keys it doesn't know."""
    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="0") as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
        store = ModelStore.from_spec("s3://models/v1", tmp_path)
        with pytest.raises(StoreError) as err:
            store.fetch(manifest.predict)
    message = str(err.value)
    assert "access was denied" in message and "credentials" in message and manifest.predict.key in message
    assert leftovers(tmp_path) == []


def test_concurrent_fetches_of_one_asset_agree(seeded_bucket, manifest, tmp_path):
    asset = manifest.get("segment", "deeplabv3")
    stores = [ModelStore.from_spec(seeded_bucket, tmp_path) for _ in range(4)]
    threads = [threading.Thread(target=s.fetch, args=(asset,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sha(tmp_path / asset.key) == asset.sha256
    assert leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def http_mirror(shared):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(shared))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_https_mirror_store(http_mirror, manifest, tmp_path):
    store = ModelStore.from_spec(http_mirror, tmp_path)
    style = manifest.get("style", "style3")
    assert sha(store.fetch(style)) == style.sha256
    with pytest.raises(StoreError, match=r"HTTP 404.*mirror"):
        ModelStore.from_spec(http_mirror + "/nothing-here", tmp_path / "other").fetch(style)


def test_public_store_needs_a_url(manifest, tmp_path):
    segm_lite = manifest.get("segment", "segm-lite")
    assert segm_lite.url is None
    with pytest.raises(StoreError, match="no public download address.*STYLIZE_MODEL_STORE"):
        ModelStore.from_spec("public", tmp_path).fetch(segm_lite)


@pytest.mark.parametrize(
    "spec, message",
    [("s3://", "names no bucket"), ("ftp://host/x", "is not a store"), ("/no/such/folder", "is not a folder")],
)
def test_bad_store_specs(spec, message):
    with pytest.raises(StoreError, match=message):
        source_from_spec(spec)


def test_seeded_bucket_holds_the_shared_files(seeded_bucket, manifest):
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="v1/styles/")
    assert len(listed["Contents"]) == 26
