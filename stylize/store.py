"""ModelStore: fetch manifest assets from S3, an HTTPS mirror or a folder into a verified cache.

Every file lands in the cache through a temporary file in the same folder, is checked against the
manifest's size and sha256, and only then renamed into place, so a crash, a bad download or two
processes fetching at once never leave a corrupt file where a good one is expected. A cached file
with the right checksum is used as it is; one with the wrong checksum is fetched again.

Every wait is bounded (``FetchPolicy``): a connect timeout, a read timeout (a store silent for
longer fails that try), and a deadline for all tries of one asset, enforced by a watchdog that
closes the connection — so a store that trickles bytes fails too. Tries are spaced by exponential
backoff with full jitter; each uses one connection.

Cache faults recover where they can: a cache folder that can't be written (read-only, a file in
its place) is still read, and new files go to a private temporary cache instead; a folder where
a file should be is removed and the file fetched again; ``.part`` files older than
``STALE_PART_SECONDS`` (left by a killed process) are deleted. A full disk ends in one sentence.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import random
import shutil
import stat
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

from .config import FetchPolicy
from .errors import StoreError
from .manifest import Asset

DEFAULT_POLICY = FetchPolicy()
CHUNK = 1 << 16
STALE_PART_SECONDS = 600  # a .part file this old belongs to a process that died mid-fetch
log = logging.getLogger(__name__)


class Deadline:
    """The time left for one asset's fetch; ``watch`` closes a stream when it runs out, so that
    a read blocked on a store trickling bytes ends too."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def too_slow(self) -> TransientError:
        return TransientError(f"it sent too slowly to finish within {self.seconds:.0f} s")

    def watch(self, stream) -> threading.Timer:
        timer = threading.Timer(self.remaining(), _close_quietly, args=(stream,))
        timer.daemon = True
        timer.start()
        return timer


def copy_before(deadline: Deadline, stream, blocks: Iterable[bytes], out: BinaryIO, on_bytes: Callable[[int], None]) -> None:
    """Copy ``blocks`` read from ``stream`` to ``out`` before ``deadline``; a watchdog closes the
    stream when it passes, so a read blocked on a trickling store ends too."""
    watchdog = deadline.watch(stream)
    try:
        for block in blocks:
            if deadline.expired:
                raise deadline.too_slow()
            out.write(block)
            on_bytes(len(block))
    finally:
        watchdog.cancel()
    if deadline.expired:
        raise deadline.too_slow()


def _reason(exc: BaseException) -> str:
    """A short reason for a failed try, for the one sentence the user reads."""
    reason = getattr(exc, "reason", None) or exc
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    if isinstance(reason, TimeoutError) or "timed out" in text.lower() or "timeout" in text.lower():
        return "it did not answer in time"
    if isinstance(reason, ConnectionRefusedError) or "refused" in text.lower():
        return "the connection was refused"
    return text[:200]


def _close_quietly(stream) -> None:
    with contextlib.suppress(Exception):  # closing a stream another thread reads from may fail any way
        stream.close()


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


class _Skipped(StoreError):
    """Not tried, because another asset of the same batch had failed."""


class TransientError(Exception):
    """A failure worth trying again (a dropped connection, a 5xx, a throttled request)."""


class Source(Protocol):
    """Where assets come from. ``download`` writes the asset's bytes to ``out`` before ``deadline``
    runs out (raising ``TransientError`` when it does)."""

    description: str

    def download(self, asset: Asset, out: BinaryIO, on_bytes: Callable[[int], None], deadline: Deadline) -> None: ...


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

    def download(self, asset: Asset, out: BinaryIO, on_bytes: Callable[[int], None], deadline: Deadline) -> None:
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

    def __init__(self, base: str | None, policy: FetchPolicy = DEFAULT_POLICY):
        self.base = base.rstrip("/") if base else None
        self.policy = policy
        self.description = f"mirror {self.base}" if self.base else "public download addresses"

    def url_for(self, asset: Asset) -> str:
        if self.base:
            return f"{self.base}/{urllib.parse.quote(asset.key)}"
        if not asset.url:
            raise StoreError(
                f"{asset.key} has no public download address; set STYLIZE_MODEL_STORE to an s3:// bucket, https:// mirror or folder that holds it."
            )
        return asset.url

    def download(self, asset: Asset, out: BinaryIO, on_bytes: Callable[[int], None], deadline: Deadline) -> None:
        url = self.url_for(asset)
        request = urllib.request.Request(url, headers={"User-Agent": "stylize-model-store"})
        timeout = max(0.1, min(self.policy.read_timeout, deadline.remaining()))  # urllib: for the connect and each read
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                copy_before(deadline, response, iter(lambda: response.read1(CHUNK), b""), out, on_bytes)
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TransientError(f"HTTP {exc.code}") from exc
            raise StoreError(
                f"{asset.key} could not be downloaded from {url} (HTTP {exc.code}); check that the {self.description} holds it."
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientError(_reason(exc)) from exc
        except (OSError, ValueError, AttributeError) as exc:  # the watchdog closed the response under a read
            if deadline.expired:
                raise deadline.too_slow() from exc
            raise TransientError(_reason(exc)) from exc


class S3Source:
    """``s3://bucket/prefix`` through boto3 and its standard configuration."""

    def __init__(self, bucket: str, prefix: str = "", client=None, policy: FetchPolicy = DEFAULT_POLICY):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.description = f"bucket s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = client
        self.policy = policy

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            # boto3 reads credentials, region and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL itself.
            # One attempt per call: ModelStore retries, within its deadline.
            self._client = boto3.session.Session().client(
                "s3",
                config=Config(
                    retries={"mode": "standard", "total_max_attempts": 1},
                    connect_timeout=self.policy.connect_timeout,
                    read_timeout=self.policy.read_timeout,
                ),
            )
        return self._client

    def object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def download(self, asset: Asset, out: BinaryIO, on_bytes: Callable[[int], None], deadline: Deadline) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        key = self.object_key(asset.key)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]  # one connection, streamed
            try:
                copy_before(deadline, body, body.iter_chunks(CHUNK), out, on_bytes)
            finally:
                body.close()
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
            raise TransientError(_reason(exc)) from exc
        except (OSError, ValueError, AttributeError) as exc:  # the watchdog closed the body under a read
            if deadline.expired:
                raise deadline.too_slow() from exc
            raise TransientError(_reason(exc)) from exc


    def _bucket_exists(self) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            return str(exc.response.get("Error", {}).get("Code", "")) not in ("404", "NoSuchBucket", "NotFound")
        return True


def source_from_spec(spec: str, policy: FetchPolicy = DEFAULT_POLICY) -> Source:
    """The source named by a ``STYLIZE_MODEL_STORE`` value."""
    spec = spec.strip()
    if spec in ("", "public"):
        return HttpSource(None, policy)
    parsed = urllib.parse.urlparse(spec)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StoreError(f"STYLIZE_MODEL_STORE={spec!r} names no bucket; use s3://bucket/prefix.")
        return S3Source(parsed.netloc, parsed.path, policy=policy)
    if parsed.scheme in ("http", "https"):
        return HttpSource(spec, policy)
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

    def __init__(self, source: Source, cache_dir: Path, policy: FetchPolicy = DEFAULT_POLICY):
        self.source = source
        self.policy = policy
        self.configured_dir = Path(cache_dir)
        self.cache_dir, self.fallback_reason = _writable_cache(self.configured_dir)
        # where verified files are looked for: the configured cache even when it is read-only
        self._read_dirs = tuple(dict.fromkeys([self.configured_dir, self.cache_dir]))
        self._verified: dict[Path, tuple[int, int, int]] = {}  # path → (inode, size, mtime) last verified
        self._sleep = time.sleep
        remove_stale_parts(self.cache_dir)

    @classmethod
    def from_spec(cls, spec: str, cache_dir: Path, policy: FetchPolicy = DEFAULT_POLICY) -> ModelStore:
        return cls(source_from_spec(spec, policy), cache_dir, policy)

    @property
    def description(self) -> str:
        return self.source.description

    def cached_path(self, asset: Asset) -> Path:
        """Where the asset's verified copy is, or will be once fetched."""
        return self._locate(asset) or self.cache_dir / asset.key

    def is_cached(self, asset: Asset) -> bool:
        """Whether a cache holds the asset with the right sha256 (hashed once per file version)."""
        return self._locate(asset) is not None

    def _locate(self, asset: Asset) -> Path | None:
        for folder in self._read_dirs:
            path = folder / asset.key
            try:
                st = path.stat()
            except OSError:
                continue
            version = (st.st_ino, st.st_size, st.st_mtime_ns)
            if self._verified.get(path) == version:
                return path
            if not stat.S_ISREG(st.st_mode) or st.st_size != asset.bytes:
                continue
            try:
                if file_sha256(path) != asset.sha256:
                    continue
            except OSError:
                continue
            self._verified[path] = version
            return path
        return None

    def fetch(self, asset: Asset, progress: ProgressCallback | None = None, abort: threading.Event | None = None) -> Path:
        """The cached, verified file of ``asset``, downloading it first if needed: tries spaced
        by jittered backoff, all within the policy's deadline; no new try once ``abort`` is set
        (another asset of the same batch has failed)."""
        found = self._locate(asset)
        if found is not None:
            if progress:
                progress(Progress(asset, asset.bytes, asset.bytes, cached=True))
            return found
        if abort is not None and abort.is_set():
            raise _Skipped(f"{asset.key} was not fetched because another file from the {self.description} could not be; see that error.")
        path = self.cache_dir / asset.key
        deadline = Deadline(self.policy.deadline)
        tries = 0
        while True:
            tries += 1
            try:
                self._download_verified(asset, path, progress, deadline)
                return path
            except TransientError as exc:
                pause = random.uniform(0, self.policy.backoff * 2 ** (tries - 1))
                # a new try must have time for a whole read timeout: a silent store is not asked once more
                out_of_time = deadline.remaining() - pause < min(self.policy.read_timeout, self.policy.deadline / 2)
                if tries >= self.policy.tries or out_of_time or (abort is not None and abort.is_set()):
                    attempts = f"{tries} {'try' if tries == 1 else 'tries'}"
                    within = f"within {self.policy.deadline:.0f} s ({attempts}; last: {exc})" if out_of_time else f"after {attempts} (last: {exc})"
                    raise StoreError(
                        f"{asset.key} could not be fetched from the {self.description} {within}; "
                        "check that the store is reachable, or raise STYLIZE_FETCH_DEADLINE for a slow link."
                    ) from None
                self._sleep(pause)

    def fetch_many(self, assets: Iterable[Asset], progress: ProgressCallback | None = None, workers: int = 8) -> dict[str, Path]:
        """Fetch several assets at once; returns key → path. On the first error the rest are
        cancelled and that error is raised."""
        assets = list(assets)
        paths: dict[str, Path] = {}
        failed = threading.Event()  # once one asset fails, the others make no new try: a dead store is not asked again and again

        def one(asset: Asset) -> Path:
            try:
                return self.fetch(asset, progress, failed)
            except BaseException:
                failed.set()  # by the worker itself, before it takes the next asset
                raise

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(assets) or 1))) as pool:
            futures = {pool.submit(one, a): a.key for a in assets}
            for future in as_completed(futures):
                error = future.exception()
                if isinstance(error, _Skipped):
                    continue  # the asset that did fail is reported, not the ones skipped after it
                if error is not None:
                    for other in futures:
                        other.cancel()
                    raise error
                paths[futures[future]] = future.result()
        return {a.key: paths[a.key] for a in assets}

    def read_unpinned(self, key: str) -> bytes | None:
        """The bytes of an object the manifest doesn't pin (derived data such as published style
        vectors), or None when the store doesn't have it; the caller validates what it reads."""
        buffer = io.BytesIO()
        stand_in = Asset(key=key, name=key, title=key, role="derived", precision="", size=0, bytes=0, sha256="", url=None)
        try:
            self.source.download(stand_in, buffer, lambda _: None, Deadline(self.policy.deadline))
        except (StoreError, TransientError):
            return None
        return buffer.getvalue()

    def _download_verified(self, asset: Asset, path: Path, progress: ProgressCallback | None, deadline: Deadline) -> None:
        done = 0

        def on_bytes(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(Progress(asset, min(done, asset.bytes), asset.bytes))

        tmp: Path | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
            tmp = Path(tmp_name)
            with os.fdopen(fd, "wb") as out:
                self.source.download(asset, out, on_bytes, deadline)
            size = tmp.stat().st_size
            digest = file_sha256(tmp)
            if size != asset.bytes or digest != asset.sha256:
                raise StoreError(
                    f"{asset.key} from the {self.description} does not match the manifest ({size} bytes, sha256 {digest[:12]}…, expected {asset.bytes} bytes, {asset.sha256[:12]}…); republish the right file to the store."
                )
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)  # a folder where the file belongs (inside our own cache): it goes
            os.replace(tmp, path)
        except OSError as exc:
            raise StoreError(_cache_write_problem(exc, path.parent)) from None
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        if progress:
            progress(Progress(asset, asset.bytes, asset.bytes))


def _cache_write_problem(exc: OSError, folder: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"The cache folder {folder} is full (no space left on the device); free some space or set STYLIZE_CACHE_DIR to a folder with room."
    return f"The cache folder {folder} could not be written ({exc.strerror or exc}); make it writable or set STYLIZE_CACHE_DIR to a folder that is."


def _writable_cache(folder: Path) -> tuple[Path, str | None]:
    """``folder`` if new files can be written there, else a private temporary cache, with why."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
        return folder, None
    except OSError as exc:
        fallback = Path(tempfile.mkdtemp(prefix="stylize-cache-"))
        reason = f"the cache folder {folder} cannot be written ({exc.strerror or exc}); new files go to {fallback}"
        log.warning(reason)
        return fallback, reason


def remove_stale_parts(folder: Path, older_than: float = STALE_PART_SECONDS) -> int:
    """Delete ``.part`` files a killed process left behind; returns how many."""
    removed = 0
    cutoff = time.time() - older_than
    try:
        candidates = list(folder.rglob("*.part"))
    except OSError:
        return 0
    for part in candidates:
        try:
            if part.is_file() and part.stat().st_mtime < cutoff:
                part.unlink()
                removed += 1
        except OSError:
            continue
    return removed
