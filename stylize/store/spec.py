"""A ``STYLIZE_MODEL_STORE`` value → the source it names: ``public`` (each asset's own address),
``s3://bucket/prefix``, ``https://…`` (a mirror), ``file://…`` or a folder."""

from __future__ import annotations

import urllib.parse
import urllib.request
from pathlib import Path

from ..config import FetchPolicy
from ..errors import StoreError
from .deadline import DEFAULT_POLICY
from .folder import FolderSource
from .http import HttpSource
from .s3 import S3Source
from .source import Source


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
