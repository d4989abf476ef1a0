"""Shared fixtures: the real files in ../shared, a real S3 endpoint (moto's server over HTTP on
127.0.0.1, seeded from ../shared), and stylizers reading from both."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from stylize import Settings, Stylizer
from stylize.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STYLIZE_SHARED_DIR", ROOT.parent / "shared")).resolve()
BUCKET = "stylize-test-models"
PREFIX = "v1"
# The commands these tests start write UTF-8, as they would to a person's terminal, and the tests
# read it as UTF-8 whatever this machine's locale (CI may run under LC_ALL=C without Python's
# UTF-8 mode); test_cli checks the commands under an ASCII locale on their own.
if not os.environ.get("PYTHONIOENCODING"):
    os.environ["PYTHONIOENCODING"] = "utf-8"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "models").is_dir():
        pytest.exit(f"the shared model folder {SHARED} is missing; set STYLIZE_SHARED_DIR", returncode=2)
    return SHARED


@pytest.fixture(scope="session")
def manifest():
    return load_manifest()


@contextlib.contextmanager
def moto_server(**env):
    """moto's server in its own process, over HTTP on 127.0.0.1; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/moto-api/")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def page_process(port: int, env: dict, log: Path):
    """The page served as the container serves it (streamlit run serve.py) on 127.0.0.1:``port``."""
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=ROOT,
            env={"MALLOC_ARENA_MAX": "2", **env},  # as the container (Dockerfile)
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)


@pytest.fixture(scope="session")
def moto_endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Every connection this process opens goes to this machine: the tests need no internet."""
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not (host in ("localhost", "::1") or host.startswith("127.")):
                raise AssertionError(f"a test tried to reach {host}; tests must stay on this machine")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="session")
def aws_env(moto_endpoint):
    """boto3's standard configuration pointed at the local endpoint, for the whole session."""
    values = {
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "AWS_ENDPOINT_URL": moto_endpoint,  # CloudFormation and IAM, for the infra tests
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    yield values
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def seeded_bucket(aws_env, shared, manifest) -> str:
    """s3://BUCKET/PREFIX holding every asset of ../shared that the manifest lists."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for asset in manifest.assets:
        path = shared / asset.key
        if path.is_file():
            s3.upload_file(str(path), BUCKET, f"{PREFIX}/{asset.key}")
    return f"s3://{BUCKET}/{PREFIX}"


@pytest.fixture(scope="session")
def stylizer(shared, tmp_path_factory) -> Stylizer:
    """One prepared stylizer on the folder store, shared by the tests that only run models."""
    settings = Settings(model_store=str(shared), cache_dir=tmp_path_factory.mktemp("cache"))
    s = Stylizer.from_settings(settings)
    s.prepare()
    return s


@pytest.fixture(scope="session")
def photo_bytes(shared):
    return lambda name: (shared / "photos" / name).read_bytes()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed; scripts/setup.sh dev installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


def pytest_collection_modifyitems(config, items):
    """A test that reads ../shared (its ``shared`` fixture, directly or through another, such as
    ``stylizer``) or drives the page needs the real models: it is marked ``models``, so that
    ``pytest -m "not models"`` is the fast tier, run without them."""
    for item in items:
        if "shared" in getattr(item, "fixturenames", ()) or item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.models)


PARTIAL_OMITS = ("fp16", "selfie", "face-short", "face-full", "boy", "man_in_suit", "yoga_balcony")


@pytest.fixture(scope="session")
def partial_store(shared, manifest, tmp_path_factory) -> Path:
    """A folder store that holds only part of the manifest (links into ../shared): no float16
    transfer model, no selfie segmenter, no face detector, no sample photo."""
    folder = tmp_path_factory.mktemp("partial-store")
    for asset in manifest.required():
        if asset.name in PARTIAL_OMITS:
            continue
        (folder / asset.key).parent.mkdir(parents=True, exist_ok=True)
        (folder / asset.key).symlink_to(shared / asset.key)
    return folder
