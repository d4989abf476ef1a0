"""The verified cache: every file lands through a temporary file in the same folder, is checked
against the manifest's size and sha256, and only then renamed into place — so a crash, a bad
download or two processes fetching at once never leave a corrupt file where a good one is
expected. A cached file with the right checksum is used as it is (hashed once per file version).

Cache faults recover where they can: a folder that can't be written (read-only, a file in its
place) is still read, and new files go to a private temporary cache instead; a folder where a file
should be is removed and the file fetched again; ``.part`` files older than
``STALE_PART_SECONDS`` (left by a killed process) are deleted. A full disk ends in one sentence.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import StoreError
from ..manifest import Asset
from .deadline import CHUNK

STALE_PART_SECONDS = 600  # a .part file this old belongs to a process that died mid-fetch
log = logging.getLogger(__name__)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class VerifiedCache:
    """Verified copies of assets under ``configured_dir`` (or, where that cannot be written, a
    private temporary folder: ``cache_dir``, with ``fallback_reason``)."""

    def __init__(self, configured_dir: Path):
        self.configured_dir = Path(configured_dir)
        self.cache_dir, self.fallback_reason = _writable_cache(self.configured_dir)
        # where verified files are looked for: the configured cache even when it is read-only
        self._read_dirs = tuple(dict.fromkeys([self.configured_dir, self.cache_dir]))
        self._verified: dict[Path, tuple[int, int, int]] = {}  # path → (inode, size, mtime) last verified
        remove_stale_parts(self.cache_dir)

    def locate(self, asset: Asset) -> Path | None:
        """The asset's verified copy, if a cache folder holds one."""
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

    def write(self, asset: Asset, download: Callable[[BinaryIO], None], source: str) -> Path:
        """Write the asset's bytes (``download(out)``) into the cache, verified; nothing is left
        behind when the download fails or the bytes do not match the manifest (``source``: where
        they came from, for the sentence)."""
        path = self.cache_dir / asset.key
        tmp: Path | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
            tmp = Path(tmp_name)
            with os.fdopen(fd, "wb") as out:
                download(out)
            size = tmp.stat().st_size
            digest = file_sha256(tmp)
            if size != asset.bytes or digest != asset.sha256:
                raise StoreError(
                    f"{asset.key} from the {source} does not match the manifest ({size} bytes, sha256 {digest[:12]}…, expected {asset.bytes} bytes, {asset.sha256[:12]}…); republish the right file to the store."
                )
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)  # a folder where the file belongs (inside our own cache): it goes
            os.replace(tmp, path)
        except OSError as exc:
            raise StoreError(_cache_write_problem(exc, path.parent)) from exc
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        return path


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
