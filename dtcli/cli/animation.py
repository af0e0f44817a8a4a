"""Save a solve as pictures: an animated GIF, the last frame as PNG, or a folder of PNGs.

Each frame is the problem's own picture (:meth:`dtcli.contracts.problem.Problem.render_image`) enlarged
to a readable size, with a caption strip drawn here: the iteration, whether the answer is
correct, and when it first was. Memory stays bounded however long the solve: at most
``max_frames`` frames are kept (every k-th iteration, plus the first, the first correct and the
last), a folder of PNGs is written frame by frame, and a PNG keeps only the last frame.
Pillow and numpy are imported here, so import this module only when something is saved.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dtcli.contracts.errors import DtError
from dtcli.contracts.instances import draw_image
from dtcli.contracts.problem import Problem

MIN_WIDTH = 320  # pixels: a small picture is enlarged (by a whole factor) to about this
MAX_SIDE = 800  # pixels: a larger picture is shrunk into this square
LAST_FRAME_MS = 2000  # the last frame of a GIF stays up this long
GREEN, RED, GREY, INK = (20, 140, 50), (200, 30, 30), (110, 110, 110), (20, 20, 20)


def save_kind(dest: str | Path) -> str:
    """``"gif"``, ``"png"`` or ``"dir"`` for a ``--save`` destination (a clear error otherwise)."""
    text = str(dest)
    path = Path(text).expanduser()
    if not text.strip():
        raise DtError("--save needs a destination: FILE.gif, FILE.png or a folder DIR/")
    if text.endswith(("/", os.sep)) or path.is_dir():
        return "dir"
    suffix = path.suffix.lower()
    if suffix in (".gif", ".png"):
        return suffix[1:]
    raise DtError(f"--save {text!r}: give FILE.gif (an animation), FILE.png (the last frame) "
                  "or a folder DIR/ (a PNG per iteration)")


def frame_step(total: int, max_frames: int) -> int:
    """Keep every k-th iteration so that, with the first, the first correct and the last,
    at most ``max_frames`` frames are kept."""
    if total <= max_frames:
        return 1
    return math.ceil(total / max(1, max_frames - 3))


class Recorder:
    """Taps a solve's frames (:meth:`tap`) and writes them to ``dest`` (:meth:`finish`)."""

    def __init__(self, problem: Problem, inputs: Any, target: Any, total: int,
                 dest: str | Path, max_frames: int = 100, fps: float = 20.0,
                 extras: dict[str, Any] | None = None) -> None:
        if type(problem).render_image is Problem.render_image:
            raise DtError(f"problem {problem.name!r} cannot draw itself as an image (it has no "
                          "render_image method), so --save cannot write its solve")
        if max_frames < 3:
            raise DtError(f"--max-frames must be at least 3, got {max_frames}")
        self.kind = save_kind(dest)
        self.dest = Path(dest).expanduser()
        self.problem, self.inputs, self.target, self.total = problem, inputs, target, total
        self.extras = extras
        self.step = frame_step(total, max_frames)
        self.frame_ms = max(20, round(1000 / fps)) if fps > 0 else 50
        self.kept: list[Image.Image] = []  # GIF frames (palette images), a bounded number
        self.written = 0
        self.first_correct: int | None = None
        self._last: Any = None
        self._last_kept = False
        self._prepare()

    def _prepare(self) -> None:
        """Fail before the solve, not after it, when the destination cannot be written."""
        target = self.dest if self.kind == "dir" else self.dest.parent
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DtError(f"--save: cannot create {target}: {exc.strerror or exc}") from None
        if not os.access(target, os.W_OK | os.X_OK):
            raise DtError(f"--save: cannot write in {target}; choose another place")

    def tap(self, frames: Iterable[Any]) -> Iterator[Any]:
        """Pass ``frames`` through unchanged, keeping (or writing) the chosen ones."""
        for f in frames:
            first = f.correct and self.first_correct is None
            if first:
                self.first_correct = f.iteration
            self._last, self._last_kept = f, False
            if self.kind != "png" and (f.iteration == 1 or first or f.iteration % self.step == 0):
                self._keep(f)
            yield f

    def _keep(self, f: Any) -> None:
        image = self.frame_image(f)
        self._last_kept = f is self._last
        if self.kind == "dir":
            self._write(image, self.dest / f"iter-{f.iteration:0{len(str(self.total))}d}.png")
            self.written += 1
        else:
            self.kept.append(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=255))

    def finish(self) -> dict[str, Any]:
        """Write what was kept (and the last frame); what was saved, for messages and JSON."""
        last = self._last
        if last is None:
            raise DtError("--save: no iterations ran, nothing to save")
        if not self._last_kept and self.kind != "png":
            self._keep(last)
        if self.kind == "png":
            self._write(self.frame_image(last), self.dest)
            self.written = 1
        elif self.kind == "gif":
            durations = [self.frame_ms] * (len(self.kept) - 1) + [LAST_FRAME_MS]
            try:
                self.kept[0].save(self.dest, save_all=True, append_images=self.kept[1:],
                                  duration=durations, loop=0, disposal=1)
            except OSError as exc:
                raise DtError(f"--save: cannot write {self.dest}: {exc.strerror or exc}") from None
            self.written = len(self.kept)
            self.kept = []
        return {"path": str(self.dest), "kind": self.kind, "frames": self.written,
                "every": self.step, "last_iteration": last.iteration}

    @staticmethod
    def _write(image: Image.Image, path: Path) -> None:
        try:
            image.save(path)
        except OSError as exc:
            raise DtError(f"--save: cannot write {path}: {exc.strerror or exc}") from None

    def frame_image(self, f: Any) -> Image.Image:
        """The problem's picture of frame ``f``, enlarged, above its caption strip."""
        drawn = draw_image(self.problem, self.inputs, f.prediction, self.target, f.confidence,
                           f.probabilities, fit=(MAX_SIDE, MAX_SIDE), extras=self.extras)
        picture = as_image(drawn, self.problem.name)
        w, h = picture.size
        grow = max(1, min(MIN_WIDTH // max(w, 1), MAX_SIDE // max(w, h, 1)))
        if grow > 1:
            picture = picture.resize((w * grow, h * grow), Image.Resampling.NEAREST)
        elif max(w, h) > MAX_SIDE:
            picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
        return self._with_caption(picture, f)

    def _with_caption(self, picture: Image.Image, f: Any) -> Image.Image:
        width = max(picture.width, MIN_WIDTH)
        size = max(13, width // 30)
        font = ImageFont.load_default(size=size)
        pad = size // 2
        strip = 2 * (size + pad) + pad
        canvas = Image.new("RGB", (width, picture.height + strip), (255, 255, 255))
        canvas.paste(picture, ((width - picture.width) // 2, 0))
        draw = ImageDraw.Draw(canvas)
        y = picture.height + pad
        draw.text((pad, y), f"iteration {f.iteration} / {self.total}", fill=INK, font=font)
        conf = f"confidence {f.mean_confidence:.2f}"
        draw.text((width - pad, y), conf, fill=GREY, font=font, anchor="ra")
        y += size + pad
        if f.correct is None:
            draw.text((pad, y), "no known answer to check", fill=GREY, font=font)
            return canvas
        verdict, colour = ("correct", GREEN) if f.correct else ("wrong", RED)
        draw.text((pad, y), verdict, fill=colour, font=font)
        note = ""
        if self.first_correct is not None and self.first_correct < f.iteration:
            note = f"first correct at {self.first_correct}"
        elif f.correct:
            note = "first correct here"
        if note:
            draw.text((width - pad, y), note, fill=GREY, font=font, anchor="ra")
        return canvas


def as_image(drawn: Any, problem: str) -> Image.Image:
    """A problem's picture (an RGB uint8 array, or a PIL image) as an RGB PIL image."""
    if isinstance(drawn, Image.Image):
        return drawn.convert("RGB")
    array = np.asarray(drawn)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8 or 0 in array.shape:
        raise DtError(f"problem {problem!r} drew a picture of shape {array.shape} and dtype "
                      f"{array.dtype}; render_image must return (height, width, 3) uint8")
    return Image.fromarray(array, "RGB")
