"""What one live video stream remembers from frame to frame.

A webcam's frames come a few tens of milliseconds apart, so two things need not be done afresh
for each: the painting is steadied against the previous one (``steady.Steadier``), and the faces
found in a frame stand for the next ``FACES_EVERY - 1`` frames too — a face moves a few pixels in
that time, well inside the margin its kept region has around it (``faces.face_mask``), while the
segmenter, run on every frame, follows the person. The face detector is then a third of its cost
per frame, which on a machine shared with the visitor's browser is a painted frame's worth of CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .faces import Face
from .steady import DEFAULT_STEADINESS, Steadier

FACES_EVERY = 3  # frames: the faces are looked for in one frame of this many


class VideoStream:
    """One stream's memory: its ``steadier`` and the faces last found. Frames are handed to it
    in order; ``reset`` forgets everything (the camera stopped, a new choice was made)."""

    def __init__(self, steadiness: float = DEFAULT_STEADINESS, faces_every: int = FACES_EVERY):
        if faces_every < 1:
            raise ValueError(f"faces_every {faces_every} is not a positive number of frames")
        self.steadier = Steadier(steadiness)
        self.faces_every = faces_every
        self._lock = threading.Lock()
        self.reset()

    @property
    def steadiness(self) -> float:
        return self.steadier.steadiness

    def reset(self) -> None:
        self.steadier.reset()
        with self._lock:
            self._faces: list[Face] | None = None
            self._size: tuple[int, int] | None = None
            self._since = 0

    def faces(self, size: tuple[int, int], find: Callable[[], list[Face]]) -> list[Face]:
        """The faces of this frame (``size`` = its width and height): ``find()``'s answer when
        it is time to look again (or the frame size changed), else the last one found."""
        with self._lock:
            fresh = self._faces is None or self._size != size or self._since + 1 >= self.faces_every
            if not fresh:
                self._since += 1
                return self._faces
        found = find()
        with self._lock:
            self._faces, self._size, self._since = found, size, 0
        return found
