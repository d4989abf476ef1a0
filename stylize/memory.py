"""Resident memory of this process, as Linux reports it (``/proc/self``); ``None`` elsewhere."""

from __future__ import annotations

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
