"""Resident memory of this process, as Linux reports it (``/proc/self``); ``None`` elsewhere."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from pathlib import Path

_STATUS = Path("/proc/self/status")


def _status_mb(field: str) -> float | None:
    try:
        for line in _STATUS.read_text(encoding="utf-8").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def rss_mb() -> float | None:
    """Memory resident now, in MB."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float | None:
    """The most memory resident at once since the process started or ``reset_peak``, in MB."""
    return _status_mb("VmHWM")


def reset_peak() -> bool:
    """Start measuring the peak afresh (Linux ``clear_refs`` 5); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")
        return True
    except OSError:
        return False


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def give_back() -> bool:
    """Return the heap's free memory to the system (glibc ``malloc_trim``); False where there is
    no such call. After a large painting the heaps keep the freed tile buffers — hundreds of MB
    that the next visitor's painting would otherwise count on top of."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
