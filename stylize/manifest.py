"""Reads ``models/manifest.toml`` into typed records."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .config import DEFAULT_MANIFEST
from .errors import StylizeError
from .names import ROLES, Role


@dataclass(frozen=True)
class Asset:
    """One file of the model store, pinned by size and sha256."""

    key: str
    name: str
    title: str
    role: Role
    precision: str
    size: int
    bytes: int
    sha256: str
    url: str | None = None
    required: bool = True
    input_range: tuple[float, float] = (0.0, 1.0)
    person_class: int | None = None
    mask_output: str = "softmax"  # (segment) "softmax": per-class logits; "probability": one channel, already a sigmoid
    derived_from: str | None = None  # made by `python -m stylize convert` from this asset's file
    recipe: str | None = None  # …with this quantization recipe
    calibration: str | None = None  # …calibrated on this set
    label: str | None = None  # the short name a visitor reads among its role's choices (default: the title)

    @property
    def short_title(self) -> str:
        """The name a visitor reads for it among its role's choices."""
        return self.label or self.title


@dataclass(frozen=True)
class Manifest:
    assets: tuple[Asset, ...]

    def by_role(self, role: str) -> tuple[Asset, ...]:
        return tuple(a for a in self.assets if a.role == role)

    def required(self) -> tuple[Asset, ...]:
        return tuple(a for a in self.assets if a.required)

    def get(self, role: str, name: str) -> Asset:
        """The asset of ``role`` whose name, title or file stem is ``name`` (case-insensitive)."""
        wanted = name.strip().casefold()
        for asset in self.by_role(role):
            stem = PurePosixPath(asset.key).stem
            if wanted in (asset.name.casefold(), asset.title.casefold(), stem.casefold()):
                return asset
        if role == "style":
            raise StylizeError(f"There is no style called {name!r}; list the gallery with: python -m stylize styles.")
        choices = ", ".join(a.name for a in self.by_role(role) if a.required)
        raise StylizeError(f"There is no {role} model called {name!r}; choose one of: {choices}.")

    @property
    def predict(self) -> Asset:
        """The style-predict model every variant uses (the first required one)."""
        return next(a for a in self.by_role("predict") if a.required)


def load_manifest(path: Path | None = None) -> Manifest:
    path = Path(path or DEFAULT_MANIFEST)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StylizeError(f"The manifest {path} does not exist; set STYLIZE_MANIFEST to the project's models/manifest.toml.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise StylizeError(f"The manifest {path} is not valid TOML ({exc}); restore it from git.") from exc
    assets = []
    for row in data.get("asset", []):
        row = dict(row)
        if "input_range" in row:
            row["input_range"] = tuple(float(v) for v in row["input_range"])
        asset = Asset(**row)
        if asset.role not in ROLES:
            raise StylizeError(f"The manifest lists {asset.key} with unknown role {asset.role!r}; use one of {', '.join(ROLES)}.")
        assets.append(asset)
    names = [(a.role, a.name) for a in assets]
    if len(names) != len(set(names)):
        raise StylizeError(f"The manifest {path} has two assets with the same role and name; give each its own name.")
    return Manifest(tuple(assets))
