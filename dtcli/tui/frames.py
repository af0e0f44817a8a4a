"""The frame buffer between the solve engine (a worker thread) and the solve view.

The engine runs ahead of playback by at most ``ahead`` frames, then waits for the view to move
on; every frame's scalars are kept for the curves, while the tensors of old frames are dropped
once the buffer holds more than ``max_bytes`` (a huge maze at thousands of iterations would not
fit), so stepping back reaches as far as the kept frames.

The engine computes one iteration at a time and checks between iterations whether it is still
wanted (the worker cancelled, or the buffer closed by the view): closing wakes an engine that
waits for the view at once, so quitting or opening another instance never waits on it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

AHEAD = 48
MAX_BYTES = 256 * 2**20


def _nbytes(frame: Any) -> int:
    return sum(t.element_size() * t.nelement()
               for t in (frame.prediction, frame.confidence, frame.probabilities))


class FrameBuffer:
    """Frames of one solve session; written by one engine thread, read by the UI."""

    def __init__(self, ahead: int = AHEAD, max_bytes: int = MAX_BYTES) -> None:
        self.ahead = ahead
        self.max_bytes = max_bytes
        self._cond = threading.Condition()
        self._frames: list[Any] = []
        self.iterations: list[int] = []
        self.confidence: list[float] = []
        self.changed: list[float] = []
        self.delta: list[float] = []
        self.moving: list[float] = []
        self.correct: list[bool | None] = []
        self.first_correct: int | None = None  # index of the first correct frame
        self.oldest = 0  # frames before this index have dropped their tensors
        self.cursor = -1  # the frame the view shows (-1: the bare instance)
        self.finished = False
        self.closed = False  # the view is done with these frames: the engine stops
        self.compute_seconds = 0.0
        self._bytes = 0

    # -- engine side -----------------------------------------------------------------------

    def append(self, frame: Any) -> int:
        with self._cond:
            self._frames.append(frame)
            self.iterations.append(frame.iteration)
            self.confidence.append(frame.mean_confidence)
            self.changed.append(frame.changed)
            self.delta.append(frame.delta_thought)
            self.moving.append(frame.moving)
            self.correct.append(frame.correct)
            if frame.correct and self.first_correct is None:
                self.first_correct = len(self._frames) - 1
            self._bytes += _nbytes(frame)
            while self._bytes > self.max_bytes and self.oldest < min(self.cursor, len(self._frames) - 1):
                self._bytes -= _nbytes(self._frames[self.oldest])
                self._frames[self.oldest] = None
                self.oldest += 1
            return len(self._frames)

    def wait_for_room(self, is_cancelled: Callable[[], bool]) -> bool:
        """Block while the engine is ``ahead`` frames ahead of the view; False once cancelled
        or closed (a close wakes it at once; a cancel is seen within 0.1 s)."""
        with self._cond:
            while len(self._frames) - 1 - self.cursor >= self.ahead:
                if self.closed or is_cancelled():
                    return False
                self._cond.wait(0.1)
        return not (self.closed or is_cancelled())

    def close(self) -> None:
        """The view is done with this buffer: the engine stops before its next iteration."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def finish(self) -> None:
        with self._cond:
            self.finished = True

    # -- view side -------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return len(self._frames)

    def frame(self, index: int) -> Any:
        return self._frames[index] if 0 <= index < len(self._frames) else None

    def move(self, index: int) -> int:
        """Show frame ``index`` (clamped to what exists and is kept); returns the new cursor."""
        with self._cond:
            low = self.oldest if self.oldest > 0 else -1
            self.cursor = max(low, min(index, len(self._frames) - 1))
            self._cond.notify_all()
            return self.cursor

    @property
    def current(self) -> Any:
        """The frame under the cursor (None: the bare instance, or a dropped frame)."""
        return self.frame(self.cursor)

    def first_correct_iteration(self) -> int | None:
        """The first correct iteration, once the view has reached it."""
        if self.first_correct is None or self.first_correct > self.cursor:
            return None
        return self.iterations[self.first_correct]

    def series(self, upto: int) -> dict[str, list]:
        """Scalars of frames ``0..upto`` for the curves."""
        with self._cond:
            n = upto + 1
            return {"iterations": self.iterations[:n], "confidence": self.confidence[:n],
                    "changed": self.changed[:n], "delta": self.delta[:n],
                    "moving": self.moving[:n]}


def produce(buffer: FrameBuffer, frames, is_cancelled: Callable[[], bool],
            notify: Callable[[int, bool], None]) -> None:
    """Pull frames from the engine's generator into ``buffer`` until done, cancelled or
    closed, checking between iterations."""
    try:
        while not (buffer.closed or is_cancelled()):
            began = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            buffer.compute_seconds += time.perf_counter() - began
            notify(buffer.append(frame), False)
            if not buffer.wait_for_room(is_cancelled):
                break
    finally:
        buffer.finish()
        close = getattr(frames, "close", None)
        if close is not None:
            close()
        notify(buffer.count, True)
