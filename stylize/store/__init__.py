"""The model store: manifest assets fetched from S3, an HTTPS mirror, each asset's public address
or a folder (``source`` and one module per source) into a verified cache (``cache``), every wait
bounded (``deadline``), progress reported per asset and in total (``progress``), retried with
backoff (``model_store``)."""

from .cache import STALE_PART_SECONDS, VerifiedCache, file_sha256, remove_stale_parts
from .deadline import DEFAULT_POLICY, Deadline, TransientError
from .folder import FolderSource
from .http import HttpSource
from .model_store import ModelStore
from .progress import Progress, ProgressCallback, ProgressTotal
from .s3 import S3Source
from .source import Source
from .spec import source_from_spec

__all__ = [
    "DEFAULT_POLICY",
    "STALE_PART_SECONDS",
    "Deadline",
    "FolderSource",
    "HttpSource",
    "ModelStore",
    "Progress",
    "ProgressCallback",
    "ProgressTotal",
    "S3Source",
    "Source",
    "TransientError",
    "VerifiedCache",
    "file_sha256",
    "remove_stale_parts",
    "source_from_spec",
]
