"""An HTTPS mirror laid out like the store, or (``base=None``, the ``public`` store) each asset's
own public download address."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import BinaryIO

from ..config import FetchPolicy
from ..errors import MissingAsset, StoreError
from .deadline import CHUNK, DEFAULT_POLICY, Deadline, TransientError, copy_before, stream_failure

MISSING_CODES = (404, 410)  # the address holds no such file (403 too for a public bucket that hides its listing)


class HttpSource:
    def __init__(self, base: str | None, policy: FetchPolicy = DEFAULT_POLICY):
        self.base = base.rstrip("/") if base else None
        self.policy = policy
        self.description = f"mirror {self.base}" if self.base else "public download addresses"

    def url_for(self, key: str, url: str | None) -> str:
        if self.base:
            return f"{self.base}/{urllib.parse.quote(key)}"
        if not url:
            raise MissingAsset(f"{key} has no public download address; set STYLIZE_MODEL_STORE to an s3:// bucket, https:// mirror or folder that holds it.")
        return url

    def download(self, key: str, url: str | None, out: BinaryIO, on_bytes: Callable[[int], None], deadline: Deadline) -> None:
        address = self.url_for(key, url)
        request = urllib.request.Request(address, headers={"User-Agent": "stylize-model-store"})
        timeout = max(0.1, min(self.policy.read_timeout, deadline.remaining()))  # urllib: for the connect and each read
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                copy_before(deadline, response, iter(lambda: response.read1(CHUNK), b""), out, on_bytes)
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TransientError(f"HTTP {exc.code}") from exc
            kind = MissingAsset if exc.code in MISSING_CODES or (exc.code == 403 and not self.base) else StoreError
            raise kind(f"{key} could not be downloaded from {address} (HTTP {exc.code}); check that the {self.description} holds it.") from exc
        except (OSError, ValueError, AttributeError) as exc:  # URLError, timeouts, resets, and the watchdog closing the response under a read
            raise stream_failure(exc, deadline) from exc
