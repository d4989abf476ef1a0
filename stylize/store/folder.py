"""A folder laid out like the store (``models/``, ``styles/``, ``photos/``): ``../shared``, or a
copy of the bucket."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import MissingAsset
from .deadline import CHUNK, Deadline


class FolderSource:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.description = f"folder {self.root}"

    def download(self, key: str, url: str | None, out: BinaryIO, on_bytes: Callable[[int], None], deadline: Deadline) -> None:
        try:
            with open(self.root / key, "rb") as f:
                for block in iter(lambda: f.read(CHUNK), b""):
                    out.write(block)
                    on_bytes(len(block))
        except FileNotFoundError as exc:
            raise MissingAsset(f"{key} is not in the {self.description}; copy it there or point STYLIZE_MODEL_STORE at a store that has it.") from exc
