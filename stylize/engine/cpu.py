"""What this CPU computes with, from the kernel's list of its flags (Linux ``/proc/cpuinfo``):
the engine's choices that depend on the instruction set rather than on OpenVINO's own report.

- *An int8 dot-product instruction* (AVX-512 VNNI, AVX-VNNI or AMX): without one, OpenVINO's
  int8 convolutions multiply u8 × s8 pairs into saturating 16-bit sums, so the engine turns its
  low-precision transformations off there (``openvino.py``) and the default transfer model is
  float16 (``options.py``).
- *16-float vectors* (AVX-512): the fold of an 8-channel convolution into the strided one after
  it (``fold.py``) fills them and pays; with AVX2's 8-float vectors it measured 0.95–0.99× without
  it (README), so it is made only where the vectors are 16 wide.

An unreadable list counts as having both, which is OpenVINO's own default behaviour."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def _proc_cpuinfo() -> str | None:
    """``/proc/cpuinfo``, read once per process (the engine asks at every model it loads)."""
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return None


def _field(name: str, cpuinfo: str | None) -> str | None:
    """The value of the first processor's ``name`` line in ``cpuinfo`` (default: this CPU's)."""
    cpuinfo = _proc_cpuinfo() if cpuinfo is None else cpuinfo
    return next((line.split(":", 1)[1].strip() for line in (cpuinfo or "").splitlines() if line.startswith(name)), None)


def cpu_model_name(cpuinfo: str | None = None) -> str:
    """The CPU's model name (``AMD EPYC``), or ``unknown``."""
    return _field("model name", cpuinfo) or "unknown"


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str] | None:
    """The flags of the first processor in ``cpuinfo`` (default: ``/proc/cpuinfo``), or None
    where there is no such list."""
    flags = _field("flags", cpuinfo)
    return None if flags is None else frozenset(flags.split())


def cpu_has_vnni(cpuinfo: str | None = None) -> bool:
    """Whether the CPU has an int8 dot-product instruction (AVX-512 VNNI, AVX-VNNI or AMX)."""
    flags = cpu_flags(cpuinfo)
    return flags is None or any(flag in flags for flag in ("avx512_vnni", "avx_vnni", "amx_int8"))


def cpu_has_avx512(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes on 16-float vectors (AVX-512 Foundation)."""
    flags = cpu_flags(cpuinfo)
    return flags is None or "avx512f" in flags
