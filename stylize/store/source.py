"""Where assets come from: a ``Source`` downloads the object at a store key (or, for the public
store, an asset's own address) into a stream; ``source_from_spec`` reads a ``STYLIZE_MODEL_STORE``
value. One module per source: ``folder``, ``http``, ``s3``."""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from ..config import FetchPolicy
from ..errors import StoreError
from .deadline import Deadline

DEFAULT_POLICY = FetchPolicy()


class Source(Protocol):
    """``download`` writes the bytes of the object at ``key`` (``url``: its own public address,
    where the manifest gives one) to ``out`` before ``deadline`` runs out, raising
    ``TransientError`` for a failure worth another try, ``MissingAsset`` when the source has no
    such object, and ``StoreError`` otherwise."""

    description: str

    def download(self, key: str, url: str | None, out: BinaryIO, on_bytes: Callable[[int], None], deadline: Deadline) -> None: ...


def source_from_spec(spec: str, policy: FetchPolicy = DEFAULT_POLICY) -> Source:
    """The source named by a ``STYLIZE_MODEL_STORE`` value."""
    from .folder import FolderSource
    from .http import HttpSource
    from .s3 import S3Source

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
