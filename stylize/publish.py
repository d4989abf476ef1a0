"""Publishing: copy the manifest's assets from a folder into an S3 bucket, idempotently.

Each object carries its sha256 both as an S3 checksum (``ChecksumAlgorithm="SHA256"``, which S3
verifies on upload) and in its metadata. An object already in the bucket with the same sha256 is
skipped, so publishing twice changes nothing; a file whose sha256 differs from the manifest is
refused. The gallery's style vectors for each predict model are published too, as one JSON object
per model (``style-vectors/<predict sha256>.json``), so the page needn't compute them at start-up.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .engine import Engine
from .errors import StoreError
from .imaging import decode_image
from .manifest import Asset, Manifest
from .store import S3Source, file_sha256, source_from_spec
from .styles import Style, StyleVectors, encode_vectors, vectors_key

CONTENT_TYPES = {".tflite": "application/octet-stream", ".jpg": "image/jpeg", ".json": "application/json"}


@dataclass
class PublishReport:
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "key: reason"
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.uploaded)} uploaded, {len(self.skipped)} skipped, {len(self.refused)} refused, {len(self.missing)} not in the folder"


class Publisher:
    def __init__(self, manifest: Manifest, source_dir: Path, target: str, engine: Engine, say: Callable[[str], None] = lambda _: None):
        source = source_from_spec(target)
        if not isinstance(source, S3Source):
            raise StoreError(f"--to {target!r} is not an S3 address; publish to s3://bucket/prefix.")
        if not Path(source_dir).is_dir():
            raise StoreError(f"--from {source_dir} is not a folder; give a folder laid out like the store (models/, styles/).")
        self.manifest, self.dir, self.s3, self.engine, self.say = manifest, Path(source_dir), source, engine, say

    def publish(self) -> PublishReport:
        report = PublishReport()
        for asset in self.manifest.assets:
            path = self.dir / asset.key
            if not path.is_file():
                report.missing.append(asset.key)
                self.say(f"missing   {asset.key}" + ("" if not asset.required else " (required: the page will not start without it)"))
                continue
            digest = file_sha256(path)
            if digest != asset.sha256 or path.stat().st_size != asset.bytes:
                reason = f"its sha256 is {digest[:12]}…, the manifest says {asset.sha256[:12]}…; publish the file the manifest lists, or update the manifest"
                report.refused.append(f"{asset.key}: {reason}")
                self.say(f"refused   {asset.key}: {reason}")
                continue
            self._put(asset.key, path.read_bytes(), digest, report)
        for predict in self.manifest.by_role("predict"):
            if predict.key in report.missing or any(r.startswith(predict.key) for r in report.refused):
                continue
            self._put(vectors_key(predict), encode_vectors(predict, self.gallery_vectors(predict)), None, report)
        return report

    def gallery_vectors(self, predict: Asset) -> dict[str, np.ndarray]:
        vectors = StyleVectors(self.engine.load(self.dir / predict.key), predict.sha256, cache_dir=None)
        out = {}
        for asset in self.manifest.by_role("style"):
            path = self.dir / asset.key
            if path.is_file() and file_sha256(path) == asset.sha256:
                style = Style(asset.name, asset.title, asset.sha256, decode_image(path.read_bytes(), what=asset.title))
                out[asset.sha256] = vectors.vector(style)
        return out

    def _put(self, key: str, data: bytes, digest: str | None, report: PublishReport) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        digest = digest or hashlib.sha256(data).hexdigest()
        object_key = self.s3.object_key(key)
        client = self.s3.client
        try:
            if self._already_there(client, object_key, digest):
                report.skipped.append(key)
                self.say(f"skipped   {key} (identical)")
                return
            client.put_object(
                Bucket=self.s3.bucket,
                Key=object_key,
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode(),
                Metadata={"sha256": digest},
                ContentType=CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream"),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise StoreError(f"{key} could not be published to {self.s3.description} (S3 answered {code}); check that the bucket exists and the credentials may write to it.") from exc
        except BotoCoreError as exc:
            raise StoreError(f"{key} could not be published to {self.s3.description} ({exc}); check the endpoint and credentials.") from exc
        report.uploaded.append(key)
        self.say(f"uploaded  {key} ({len(data) / 1e6:.2f} MB)")

    def _already_there(self, client, object_key: str, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            head = client.head_object(Bucket=self.s3.bucket, Key=object_key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        checksum = head.get("ChecksumSHA256", "")
        return head.get("Metadata", {}).get("sha256") == digest and (not checksum or base64.b64decode(checksum).hex() == digest)
