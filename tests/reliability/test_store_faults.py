"""Store faults on real servers — moto's S3 and misbehaving HTTP servers on 127.0.0.1: each ends
in one sentence naming the store, within the deadline, with nothing corrupt or partial left in the
cache; a store that recovers is used."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import boto3
import pytest

from stylize import StoreError
from stylize.config import FetchPolicy
from stylize.store import ModelStore

from ..conftest import ROOT, free_port, moto_server
from .servers import SilentServer, flaky_handler, http_server, trickling_handler

pytestmark = pytest.mark.reliability

QUICK = FetchPolicy(connect_timeout=1.0, read_timeout=1.0, deadline=4.0, tries=4, backoff=0.1)


def nothing_partial(cache) -> bool:
    return not [p for p in cache.rglob("*") if p.is_file() and (p.suffix == ".part" or p.stat().st_size == 0)]


def assert_one_sentence(err, *words):
    message = str(err.value)
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message, message
    for word in words:
        assert word in message, (word, message)


@pytest.fixture
def asset(manifest):
    return manifest.get("transfer", "int8")


def timed_failure(store, asset, limit):
    started = time.monotonic()
    with pytest.raises(StoreError) as err:
        store.fetch(asset)
    elapsed = time.monotonic() - started
    assert elapsed <= limit, elapsed
    return err, elapsed


def test_missing_bucket(aws_env, tmp_path, asset):
    err, _ = timed_failure(ModelStore.from_spec("s3://no-such-bucket-here/v1", tmp_path, QUICK), asset, 5)
    assert_one_sentence(err, "bucket no-such-bucket-here does not exist", "STYLIZE_MODEL_STORE")
    assert nothing_partial(tmp_path)


def test_missing_key(seeded_bucket, tmp_path, asset):
    err, _ = timed_failure(ModelStore.from_spec(seeded_bucket + "/wrong-prefix", tmp_path, QUICK), asset, 5)
    assert_one_sentence(err, "does not exist", "publish")
    assert nothing_partial(tmp_path)


def test_bad_credentials(aws_env, tmp_path, asset, monkeypatch):
    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="0") as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOTAREALKEY00000")
        err, _ = timed_failure(ModelStore.from_spec("s3://models/v1", tmp_path, QUICK), asset, 5)
    assert_one_sentence(err, "access was denied", "credentials")
    assert nothing_partial(tmp_path)


def test_refused_connection(aws_env, tmp_path, asset, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    err, _ = timed_failure(ModelStore.from_spec("s3://models/v1", tmp_path, QUICK), asset, QUICK.deadline + 2)
    assert_one_sentence(err, "could not be fetched from the bucket s3://models/v1", "reachable")
    assert nothing_partial(tmp_path)


@pytest.mark.parametrize("kind", ["s3", "https mirror"])
def test_silent_store(aws_env, tmp_path, asset, monkeypatch, kind):
    silent = SilentServer()
    try:
        if kind == "s3":
            monkeypatch.setenv("AWS_ENDPOINT_URL_S3", silent.url)
            spec = "s3://models/v1"
        else:
            spec = silent.url + "/store"
        err, elapsed = timed_failure(ModelStore.from_spec(spec, tmp_path, QUICK), asset, QUICK.deadline + 2)
        assert_one_sentence(err, "did not answer in time", "reachable")
        assert len(silent.connections) <= QUICK.tries, "one connection per try, no more"
    finally:
        silent.close()
    assert nothing_partial(tmp_path)


def test_trickling_store(shared, tmp_path, asset):
    with http_server(trickling_handler(shared, byte_every=0.05)) as (url, _):
        err, elapsed = timed_failure(ModelStore.from_spec(url, tmp_path, QUICK), asset, QUICK.deadline + 2)
    assert_one_sentence(err, "too slowly to finish within 4 s")
    assert elapsed >= QUICK.deadline - 0.5, "it was given its whole deadline"
    assert nothing_partial(tmp_path)


def test_corrupt_object(seeded_bucket, tmp_path, asset, aws_env):
    bucket, prefix = seeded_bucket[5:].split("/", 1)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=f"corrupt/{asset.key}", Body=b"\x00" * asset.bytes)
    err, _ = timed_failure(ModelStore.from_spec(f"s3://{bucket}/corrupt", tmp_path, QUICK), asset, 5)
    assert_one_sentence(err, "does not match the manifest", "republish")
    assert not (tmp_path / asset.key).exists() and nothing_partial(tmp_path)


def test_5xx_then_success(shared, tmp_path, asset):
    handler = flaky_handler(shared, failures=2, status=503)
    with http_server(handler) as (url, _):
        path = ModelStore.from_spec(url, tmp_path, QUICK).fetch(asset)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == asset.sha256
    assert handler.seen[f"/{asset.key}"] == 3, "two failures, then the file"
    assert nothing_partial(tmp_path)


def test_persistent_5xx_ends_in_one_sentence(shared, tmp_path, asset):
    with http_server(flaky_handler(shared, failures=100, status=500)) as (url, _):
        err, _ = timed_failure(ModelStore.from_spec(url, tmp_path, QUICK), asset, QUICK.deadline + 2)
    assert_one_sentence(err, f"after {QUICK.tries} tries", "HTTP 500")


def test_a_silent_store_fails_a_whole_fetch_within_30_s_by_default(aws_env, tmp_path, manifest, monkeypatch):
    """The default policy, every asset at once (8 workers): one sentence in under 30 s, and the
    other workers make no new tries once the first asset has failed."""
    silent = SilentServer()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", silent.url)
    try:
        store = ModelStore.from_spec("s3://models/v1", tmp_path)
        started = time.monotonic()
        with pytest.raises(StoreError) as err:
            store.fetch_many(manifest.required(), workers=8)
        elapsed = time.monotonic() - started
        connections = len(silent.connections)
    finally:
        silent.close()
    assert elapsed < 30, elapsed
    assert_one_sentence(err, "within 25 s", "did not answer in time")
    assert connections <= 8 * 3, connections
    assert nothing_partial(tmp_path)


def test_four_processes_fetch_into_one_cache(seeded_bucket, tmp_path, manifest):
    cache = tmp_path / "shared-cache"
    env = {**os.environ, "STYLIZE_MODEL_STORE": seeded_bucket, "STYLIZE_CACHE_DIR": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-m", "stylize", "fetch"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8") for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outs
    for asset in manifest.required():
        assert hashlib.sha256((cache / asset.key).read_bytes()).hexdigest() == asset.sha256
    assert nothing_partial(cache)
