"""Every wait of a fetch bounded: a ``Deadline`` for all tries of one asset, a watchdog that closes
a stream when it passes (so a store that trickles bytes fails too), and the one place that says
what a failed read of a stream means for either network source."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import BinaryIO

from ..config import FetchPolicy

CHUNK = 1 << 16
DEFAULT_POLICY = FetchPolicy()  # how long a fetch may wait, and how often it tries


class TransientError(Exception):
    """A failure worth trying again (a dropped connection, a 5xx, a throttled request)."""


class Deadline:
    """The time left for one asset's fetch; ``watch`` closes a stream when it runs out, so that
    a read blocked on a store trickling bytes ends too."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def too_slow(self) -> TransientError:
        return TransientError(f"it sent too slowly to finish within {self.seconds:.0f} s")

    def watch(self, stream) -> threading.Timer:
        timer = threading.Timer(self.remaining(), _close_quietly, args=(stream,))
        timer.daemon = True
        timer.start()
        return timer


def copy_before(deadline: Deadline, stream, blocks: Iterable[bytes], out: BinaryIO, on_bytes: Callable[[int], None]) -> None:
    """Copy ``blocks`` read from ``stream`` to ``out`` before ``deadline``; a watchdog closes the
    stream when it passes, so a read blocked on a trickling store ends too."""
    watchdog = deadline.watch(stream)
    try:
        for block in blocks:
            if deadline.expired:
                raise deadline.too_slow()
            out.write(block)
            on_bytes(len(block))
    finally:
        watchdog.cancel()
    if deadline.expired:
        raise deadline.too_slow()


def stream_failure(exc: BaseException, deadline: Deadline) -> TransientError:
    """What a failed connect or read means, for either network source: the deadline passed (the
    watchdog closed the stream under a read), or a failure worth another try."""
    if deadline.expired:
        return deadline.too_slow()
    return TransientError(reason(exc))


def reason(exc: BaseException) -> str:
    """A short reason for a failed try, for the one sentence the user reads."""
    cause = getattr(exc, "reason", None) or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    if isinstance(cause, TimeoutError) or "timed out" in text.lower() or "timeout" in text.lower():
        return "it did not answer in time"
    if isinstance(cause, ConnectionRefusedError) or "refused" in text.lower():
        return "the connection was refused"
    return text[:200]


def _close_quietly(stream) -> None:
    with contextlib.suppress(Exception):  # closing a stream another thread reads from may fail any way
        stream.close()
