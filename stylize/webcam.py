"""Live webcam stylization for streamlit-webrtc: the latest frame wins.

streamlit-webrtc hands its frame callback every frame that arrived since the last call. When
stylizing is slower than the camera, ``LiveStylizer`` paints only the newest one and drops the
rest, so the delay never grows; it counts what it dropped and measures frames per second and
per-frame latency for the page to show. It runs on streamlit-webrtc's worker thread; the page
changes its style and options from its own thread through ``configure``.

With ``steadiness`` above 0 the painting is steadied from frame to frame (``steady.Steadier``):
where the camera's picture is still, so is the painting. The stream's memory (that, and the faces
last found) is a ``stream.VideoStream``.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass

import av
import numpy as np

from .errors import InputError, StylizeError
from .options import StylizeOptions
from .pipeline import Stylizer
from .steady import DEFAULT_STEADINESS
from .stream import VideoStream
from .styles import Style

WINDOW_SECONDS = 3.0
# A frame is painted at 384 on its long side (the browser scales the video), and the person is
# found by MediaPipe's landscape selfie segmenter, the model made for video calls at a webcam's
# 16:9-ish frame (144×256); DeepLabV3 was too slow for live video here, and segm_lite counted
# half of a painted scene as a person (scripts/measure_masks.py).
WEBCAM_OPTIONS = StylizeOptions(max_side=384, segmenter="selfie-landscape")


@dataclass(frozen=True)
class LiveStats:
    received: int
    processed: int
    dropped: int
    fps: float
    last_ms: float
    median_ms: float
    error: str | None
    failure: StylizeError | None = None  # the error itself, for a page that decides what a visitor reads


class LiveStylizer:
    """Paints a live stream's newest frame. ``paint_newest`` and ``__call__`` run on the video
    worker thread, one frame at a time; ``configure``, ``reset`` and ``stats`` may be called from
    any other thread."""

    def __init__(self, stylizer: Stylizer, style: str | Style, options: StylizeOptions, beside: bool = False, steadiness: float = DEFAULT_STEADINESS):
        self.stylizer = stylizer
        self._lock = threading.Lock()
        self._style, self._options, self._beside = style, options, beside
        self._stream = VideoStream(_checked_steadiness(steadiness))
        self.reset()

    @property
    def steadiness(self) -> float:
        return self._stream.steadiness

    def reset(self) -> None:
        """Start the figures afresh (the camera was stopped)."""
        self._stream.reset()
        with self._lock:
            self._received = self._processed = self._dropped = 0
            self._done_at: deque[float] = deque()
            self._latencies: deque[float] = deque(maxlen=30)
            self._error: StylizeError | None = None

    def configure(self, style: str | Style, options: StylizeOptions, beside: bool | None = None, steadiness: float | None = None) -> None:
        """Change the style and options (and whether the original is shown beside the painting,
        and how steady the painting is); the next frame uses them. A new style or option starts
        the steadying afresh, so the new painting shows at once."""
        with self._lock:
            changed = (style, options) != (self._style, self._options)
            self._style, self._options = style, options
            if beside is not None:
                self._beside = beside
            if steadiness is not None and _checked_steadiness(steadiness) != self._stream.steadiness:
                self._stream = VideoStream(steadiness)
            elif changed:
                self._stream.reset()

    def paint_newest(self, newest: np.ndarray, arrived: int = 1) -> np.ndarray:
        """``newest`` (RGB) painted; the ``arrived - 1`` frames that came before it since the last
        call are counted as dropped and never painted."""
        with self._lock:
            style, options, beside, stream = self._style, self._options, self._beside, self._stream
            self._received += arrived
            self._dropped += arrived - 1
        start = time.perf_counter()
        try:
            result = self.stylizer.stylize_for_video(newest, style, options, stream)
            image = np.concatenate([result.original, result.image], axis=1) if beside else result.image
            error = None
        except StylizeError as exc:
            image, error = newest, exc
        finished = time.perf_counter()
        with self._lock:
            self._processed += 1
            self._error = error
            self._latencies.append((finished - start) * 1000.0)
            self._done_at.append(finished)
            while self._done_at and finished - self._done_at[0] > WINDOW_SECONDS:
                self._done_at.popleft()
        return image

    async def __call__(self, frames: list[av.VideoFrame]) -> list[av.VideoFrame]:
        """streamlit-webrtc's ``queued_video_frames_callback``: one painted frame out. The newest
        frame is scaled to the painting size by the video library itself (libswscale, straight
        from the camera's YUV), so no full-size RGB copy is made."""
        newest = frames[-1]
        with self._lock:
            side = self._options.max_side
        painted = self.paint_newest(scaled_rgb(newest, side), arrived=len(frames))
        out = av.VideoFrame.from_ndarray(painted, format="rgb24")
        if newest.time_base is not None:
            out.pts, out.time_base = newest.pts, newest.time_base
        return [out]

    def stats(self) -> LiveStats:
        with self._lock:
            now = time.perf_counter()
            recent = [t for t in self._done_at if now - t <= WINDOW_SECONDS]
            fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
            latencies = list(self._latencies)
            return LiveStats(
                self._received,
                self._processed,
                self._dropped,
                fps,
                latencies[-1] if latencies else 0.0,
                statistics.median(latencies) if latencies else 0.0,
                None if self._error is None else str(self._error),
                self._error,
            )


def scaled_rgb(frame: av.VideoFrame, side: int | None) -> np.ndarray:
    """A video frame's RGB pixels, scaled down so its longer side is at most ``side``."""
    if side is not None and max(frame.width, frame.height) > side:
        scale = side / max(frame.width, frame.height)
        width, height = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
        return frame.reformat(width=width, height=height, format="rgb24", interpolation="BILINEAR").to_ndarray()
    return frame.to_ndarray(format="rgb24")


def frame_pixels(rgb: np.ndarray, side: int | None) -> np.ndarray:
    """What ``LiveStylizer`` paints of a camera picture given as RGB pixels: the same scaling a
    live frame gets (the video library's, from the camera's YUV)."""
    return scaled_rgb(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p"), side)


def _checked_steadiness(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise InputError(f"Steadiness {value!r} is not a number from 0 (off) to below 1; give one such as 0.8.")
    return float(value)
