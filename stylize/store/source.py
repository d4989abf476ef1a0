"""Where assets come from: a ``Source`` downloads the object at a store key (or, for the public
store, an asset's own address) into a stream; ``source_from_spec`` reads a ``STYLIZE_MODEL_STORE``
value (``spec.py``). One module per source: ``folder``, ``http``, ``s3``."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol

from .deadline import Deadline


class Source(Protocol):
    """``download`` writes the bytes of the object at ``key`` (``url``: its own public address,
    where the manifest gives one) to ``out`` before ``deadline`` runs out, raising
    ``TransientError`` for a failure worth another try, ``MissingAsset`` when the source has no
    such object, and ``StoreError`` otherwise."""

    description: str

    def download(self, key: str, url: str | None, out: BinaryIO, on_bytes: Callable[[int], None], deadline: Deadline) -> None: ...
