"""All settings read from the environment, in one place.

| variable | meaning | default |
|---|---|---|
| STYLIZE_MODEL_STORE | ``s3://bucket/prefix``, ``https://mirror/prefix``, ``public``, or a folder | ``public`` |
| STYLIZE_CACHE_DIR | where fetched assets and style vectors are kept | the user's cache dir |
| STYLIZE_MANIFEST | the manifest file | ``models/manifest.toml`` in the project |
| STYLIZE_THREADS | threads per model interpreter | 2 |
| STYLIZE_ENGINE | the inference runtime: ``openvino`` or ``litert`` | ``openvino`` |
| STYLIZE_FETCH_WORKERS | assets downloaded at once | 8 |
| STYLIZE_CONNECT_TIMEOUT | seconds to open a connection to the store | 5 |
| STYLIZE_READ_TIMEOUT | seconds the store may stay silent before a try fails | 10 |
| STYLIZE_FETCH_DEADLINE | seconds for all tries of one asset together | 25 |
| STYLIZE_TILE_SIDE | the side of the tiles a painting larger than the runtime paints whole is made in; ``0`` never tiles (such a painting is made at the runtime's limit and scaled up) | 512 |
| STYLIZE_MEMORY_BUDGET_MB | the working memory paintings at the same moment may hold; later ones wait their turn | 1536 |
| STYLIZE_ICE_SERVERS | comma-separated STUN/TURN URLs for the webcam's WebRTC; empty for none (localhost) | Google's public STUN |
| STYLIZE_DEBUG | (CLI) set to print an error's whole chain of causes after its sentence | unset |

The S3 backend also honours boto3's own configuration (credentials chain, ``AWS_REGION``,
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

from .errors import StylizeError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = PROJECT_ROOT / "models" / "manifest.toml"


@dataclass(frozen=True)
class FetchPolicy:
    """How long a fetch may wait (seconds), and how often it tries."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # the store silent this long fails the try
    deadline: float = 25.0  # all tries of one asset together
    tries: int = 4
    backoff: float = 0.5  # the n-th retry waits a random time up to backoff × 2ⁿ



@dataclass(frozen=True)
class Settings:
    model_store: str = "public"
    cache_dir: Path = Path(user_cache_dir("stylize"))
    manifest_path: Path = DEFAULT_MANIFEST
    threads: int = 2
    runtime: str = "openvino"  # STYLIZE_ENGINE: the runtime the page and CLI use by default
    fetch_workers: int = 8
    fetch_policy: FetchPolicy = FetchPolicy()
    ice_servers: tuple[str, ...] = ("stun:stun.l.google.com:19302",)
    tile_side: int = 512
    memory_budget_mb: int = 1536

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        default = cls()
        return cls(
            model_store=env.get("STYLIZE_MODEL_STORE", "").strip() or default.model_store,
            cache_dir=Path(env.get("STYLIZE_CACHE_DIR") or default.cache_dir).expanduser(),
            manifest_path=Path(env.get("STYLIZE_MANIFEST") or default.manifest_path).expanduser(),
            threads=_positive_int(env, "STYLIZE_THREADS", default.threads),
            runtime=env.get("STYLIZE_ENGINE", "").strip() or default.runtime,
            fetch_workers=_positive_int(env, "STYLIZE_FETCH_WORKERS", default.fetch_workers),
            fetch_policy=FetchPolicy(
                connect_timeout=_seconds(env, "STYLIZE_CONNECT_TIMEOUT", default.fetch_policy.connect_timeout),
                read_timeout=_seconds(env, "STYLIZE_READ_TIMEOUT", default.fetch_policy.read_timeout),
                deadline=_seconds(env, "STYLIZE_FETCH_DEADLINE", default.fetch_policy.deadline),
            ),
            tile_side=_tile_side(env, default.tile_side),
            memory_budget_mb=_positive_int(env, "STYLIZE_MEMORY_BUDGET_MB", default.memory_budget_mb),
            ice_servers=default.ice_servers if "STYLIZE_ICE_SERVERS" not in env else tuple(u.strip() for u in env["STYLIZE_ICE_SERVERS"].split(",") if u.strip()),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise StylizeError(f"{name} is {raw!r}; set it to a number of seconds between 0 and 3600.")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise StylizeError(f"{name} is {raw!r}; set it to a whole number of at least 1.")
    return value


def _tile_side(env: Mapping[str, str], default: int) -> int:
    raw = env.get("STYLIZE_TILE_SIDE", "").strip()
    if not raw:
        return default
    value = tile_side(raw)
    if value is None:
        raise StylizeError(f"STYLIZE_TILE_SIDE is {raw!r}; set it to 0 (never tile) or a tile side from 256 to 8192 pixels.")
    return value


def tile_side(raw: str) -> int | None:
    """A tile side as given (an environment variable, ``--tile-side``): 0 (never tile) or 256 to
    8192 pixels; None for anything else."""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value == 0 or 256 <= value <= 8192 else None
