"""``dt tui --benchmark N``: play N iterations as fast as the terminal paints them.

Each frame is shown only after the previous one reached the screen (the status panel's
iteration row changes every frame, so its repaint marks the frame as painted); the report
gives painted frames per second and the engine's own iterations per second, posted to the
app (:class:`~dtcli.tui.messages.BenchmarkDone`), which ends with it.
"""

from __future__ import annotations

import time
from typing import Any

from dtcli.tui import messages as msg
from dtcli.tui.status import SolveStatus


class PaintBenchmark:
    def __init__(self, screen: Any, frames: int) -> None:
        self.screen = screen
        self.frames = frames
        self.start: float | None = None
        self.painted = 0
        self.waiting_for_paint = False
        self.done = False

    def step(self) -> None:
        """Show the next frame if it is computed and the previous one has been painted."""
        s = self.screen
        b = s.buffer
        if b is None or s.instance is None or self.done or self.waiting_for_paint:
            return
        if self.start is None:
            self.start = time.perf_counter()
            s.query_one(SolveStatus).on_paint = self.on_paint
        if s.cursor + 1 >= self.frames:
            self.finish()
        elif s.cursor + 1 < b.count:
            self.waiting_for_paint = True
            s.goto(s.cursor + 1)

    def on_paint(self, key: Any) -> None:
        s = self.screen
        if key == (s.session, s.cursor):
            self.painted += 1
            self.waiting_for_paint = False
            self.step()

    def finish(self) -> None:
        s = self.screen
        b = s.buffer
        elapsed = time.perf_counter() - self.start
        self.done = True
        s.query_one(SolveStatus).on_paint = None
        s.post_message(msg.BenchmarkDone({
            "iterations": s.cursor + 1, "seconds": elapsed, "painted": self.painted,
            "fps": self.painted / elapsed if elapsed else 0.0,
            "engine_its": b.count / b.compute_seconds if b.compute_seconds else 0.0,
            "difficulty": s.difficulty, "first_frame_at": self.start,
            "first_correct": s.first_correct(),
        }))
