"""ModelStore: fetch manifest assets from S3, an HTTPS mirror or a folder into a verified cache.

Every file lands in the cache through a temporary file in the same folder, is checked against the
manifest's size and sha256, and only then renamed into place, so a crash, a bad download or two
processes fetching at once never leave a corrupt file where a good one is expected. A cached file
with the right checksum is used as it is; one with the wrong checksum is fetched again.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from .errors import StoreError
from .manifest import Asset

CHUNK = 1 << 20


@dataclass(frozen=True)
class Progress:
    """How far the fetch of one asset has come; ``done == total`` once it is in the cache."""

    asset: Asset
    done: int
    total: int
    cached: bool = False


ProgressCallback = Callable[[Progress], None]


class ProgressTotal:
    """Adds up the progress of several concurrent fetches into one figure for a progress bar.

    Call it with each ``Progress``; it calls ``on_change(self)`` after every update.
    """

    def __init__(self, assets: Iterable[Asset], on_change: Callable[[ProgressTotal], None]):
        assets = list(assets)
        self.files = len(assets)
        self.total_bytes = sum(a.bytes for a in assets) or 1
        self.on_change = on_change
        self._done: dict[str, int] = {}
        self._finished: set[str] = set()
        self._cached: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self._done[progress.asset.key] = progress.done
            if progress.done == progress.total:
                self._finished.add(progress.asset.key)
            if progress.cached:
                self._cached.add(progress.asset.key)
            self.on_change(self)

    @property
    def fraction(self) -> float:
        return min(1.0, sum(self._done.values()) / self.total_bytes)

    @property
    def from_cache(self) -> int:
        return len(self._cached)

    def describe(self) -> str:
        done_mb = sum(self._done.values()) / 1e6
        return f"{done_mb:.1f} of {self.total_bytes / 1e6:.1f} MB, {len(self._finished)} of {self.files} files"


class TransientError(Exception):
    """A failure worth trying again (a dropped connection, a 5xx, a throttled request)."""


class Source(Protocol):
    """Where assets come from. ``download`` writes the asset's bytes to ``out``."""

    description: str

    def download(self, asset: Asset, out: BinaryIO, on_bytes: Callable[[int], None]) -> None: ...


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class FolderSource:
    """A folder laid out like the store (``models/``, ``styles/``, ``photos/``)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.description = f"folder {self.root}"

    def download(self, asset: Asset, out: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        path = self.root / asset.key
        try:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(CHUNK), b""):
                    out.write(block)
                    on_bytes(len(block))
        except FileNotFoundError:
            raise StoreError(
                f"{asset.key} is not in the {self.description}; copy it there or point STYLIZE_MODEL_STORE at a store that has it."
            ) from None


class HttpSource:
    """An HTTPS mirror laid out like the store, or (``base=None``) each asset's public URL."""

    def __init__(self, base: str | None, timeout: float = 30.0):
        self.base = base.rstrip("/") if base else None
        self.timeout = timeout
        self.description = f"mirror {self.base}" if self.base else "public download addresses"

    def url_for(self, asset: Asset) -> str:
        if self.base:
            return f"{self.base}/{urllib.parse.quote(asset.key)}"
        if not asset.url:
            raise StoreError(
                f"{asset.key} has no public download address; set STYLIZE_MODEL_STORE to an s3:// bucket, https:// mirror or folder that holds it."
            )
        return asset.url

    def download(self, asset: Asset, out: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        url = self.url_for(asset)
        request = urllib.request.Request(url, headers={"User-Agent": "stylize-model-store"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    on_bytes(len(block))
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TransientError(f"HTTP {exc.code}") from exc
            raise StoreError(
                f"{asset.key} could not be downloaded from {url} (HTTP {exc.code}); check that the {self.description} holds it."
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientError(str(getattr(exc, "reason", exc))) from exc


class S3Source:
    """``s3://bucket/prefix`` through boto3 and its standard configuration."""

    def __init__(self, bucket: str, prefix: str = "", client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.description = f"bucket s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            # boto3 reads credentials, region and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL itself.
            self._client = boto3.session.Session().client(
                "s3", config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
            )
        return self._client

    def object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def download(self, asset: Asset, out: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        key = self.object_key(asset.key)
        try:
            self.client.download_fileobj(self.bucket, key, out, Callback=on_bytes)
        except NoCredentialsError:
            raise StoreError(
                f"{asset.key} could not be read from {self.description}: no AWS credentials were found; set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
            ) from None
        except EndpointConnectionError as exc:
            raise TransientError(str(exc)) from exc
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NotFound") and not self._bucket_exists():
                code = "NoSuchBucket"
            if code == "NoSuchBucket":
                hint = f"the bucket {self.bucket} does not exist; check STYLIZE_MODEL_STORE (and AWS_ENDPOINT_URL_S3 for a non-AWS endpoint)"
            elif code in ("404", "NoSuchKey", "NotFound"):
                hint = f"s3://{self.bucket}/{key} does not exist; publish the models there (python -m stylize publish) or fix the prefix"
            elif code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"):
                hint = "access was denied; check the AWS credentials and that their policy allows s3:GetObject on the models prefix"
            elif code.startswith("5") or code in ("SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable"):
                raise TransientError(code) from exc
            else:
                hint = f"S3 answered {code or exc}"
            raise StoreError(f"{asset.key} could not be read from {self.description}: {hint}.") from None
        except BotoCoreError as exc:
            raise TransientError(str(exc)) from exc


    def _bucket_exists(self) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            return str(exc.response.get("Error", {}).get("Code", "")) not in ("404", "NoSuchBucket", "NotFound")
        return True


def source_from_spec(spec: str) -> Source:
    """The source named by a ``STYLIZE_MODEL_STORE`` value."""
    spec = spec.strip()
    if spec in ("", "public"):
        return HttpSource(None)
    parsed = urllib.parse.urlparse(spec)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StoreError(f"STYLIZE_MODEL_STORE={spec!r} names no bucket; use s3://bucket/prefix.")
        return S3Source(parsed.netloc, parsed.path)
    if parsed.scheme in ("http", "https"):
        return HttpSource(spec)
    if parsed.scheme == "file":
        return FolderSource(Path(urllib.request.url2pathname(parsed.path)))
    if parsed.scheme and len(parsed.scheme) > 1:
        raise StoreError(f"STYLIZE_MODEL_STORE={spec!r} is not a store; use s3://bucket/prefix, https://…, public, or a folder.")
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise StoreError(f"STYLIZE_MODEL_STORE={spec!r} is not a folder here; give a folder laid out like the store, or an s3:// or https:// address.")
    return FolderSource(folder)


class ModelStore:
    """Verified local copies of manifest assets, fetched from one source."""

    def __init__(self, source: Source, cache_dir: Path, retries: int = 3, backoff: float = 0.5):
        self.source = source
        self.cache_dir = Path(cache_dir)
        self.retries = retries
        self.backoff = backoff
        self._verified: dict[str, tuple[int, int, int]] = {}  # key → (inode, size, mtime) last verified

    @classmethod
    def from_spec(cls, spec: str, cache_dir: Path) -> ModelStore:
        return cls(source_from_spec(spec), cache_dir)

    @property
    def description(self) -> str:
        return self.source.description

    def cached_path(self, asset: Asset) -> Path:
        return self.cache_dir / asset.key

    def is_cached(self, asset: Asset) -> bool:
        """Whether the cache holds the asset with the right sha256 (hashed once per file version)."""
        path = self.cached_path(asset)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if self._verified.get(asset.key) == version:
            return True
        if stat.st_size != asset.bytes or file_sha256(path) != asset.sha256:
            return False
        self._verified[asset.key] = version
        return True

    def fetch(self, asset: Asset, progress: ProgressCallback | None = None) -> Path:
        """The cached, verified file of ``asset``, downloading it first if needed."""
        path = self.cached_path(asset)
        if self.is_cached(asset):
            if progress:
                progress(Progress(asset, asset.bytes, asset.bytes, cached=True))
            return path
        for attempt in range(self.retries + 1):
            try:
                self._download_verified(asset, path, progress)
                return path
            except TransientError as exc:
                if attempt == self.retries:
                    raise StoreError(
                        f"{asset.key} could not be fetched from the {self.description} after {attempt + 1} tries ({exc}); check that the store is reachable and try again."
                    ) from None
                time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def fetch_many(self, assets: Iterable[Asset], progress: ProgressCallback | None = None, workers: int = 8) -> dict[str, Path]:
        """Fetch several assets at once; returns key → path. On the first error the rest are
        cancelled and that error is raised."""
        assets = list(assets)
        paths: dict[str, Path] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(assets) or 1))) as pool:
            futures = {pool.submit(self.fetch, a, progress): a.key for a in assets}
            for future in as_completed(futures):
                if future.exception() is not None:
                    for other in futures:
                        other.cancel()
                    raise future.exception()
                paths[futures[future]] = future.result()
        return {a.key: paths[a.key] for a in assets}

    def read_unpinned(self, key: str) -> bytes | None:
        """The bytes of an object the manifest doesn't pin (derived data such as published style
        vectors), or None when the store doesn't have it; the caller validates what it reads."""
        buffer = io.BytesIO()
        stand_in = Asset(key=key, name=key, title=key, role="derived", precision="", size=0, bytes=0, sha256="", url=None)
        try:
            self.source.download(stand_in, buffer, lambda _: None)
        except (StoreError, TransientError):
            return None
        return buffer.getvalue()

    def _download_verified(self, asset: Asset, path: Path, progress: ProgressCallback | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        tmp = Path(tmp_name)
        done = 0

        def on_bytes(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(Progress(asset, min(done, asset.bytes), asset.bytes))

        try:
            with os.fdopen(fd, "wb") as out:
                self.source.download(asset, out, on_bytes)
            size = tmp.stat().st_size
            digest = file_sha256(tmp)
            if size != asset.bytes or digest != asset.sha256:
                raise StoreError(
                    f"{asset.key} from the {self.description} does not match the manifest ({size} bytes, sha256 {digest[:12]}…, expected {asset.bytes} bytes, {asset.sha256[:12]}…); republish the right file to the store."
                )
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        if progress:
            progress(Progress(asset, asset.bytes, asset.bytes))
