"""The mazes problem: find the path from the green start to the red end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dt_mazes.presets import PRESETS
from dtcli.api import DtError, Option, Problem, imported_data

LAYOUTS = ("compact", "e2h")  # as dt_mazes.layouts.LAYOUTS, kept here to avoid importing numpy


#: the widest maze (raw-grid pixels) drawn as text in a log
TEXT_SIDE = 160


class Mazes(Problem):
    """2D mazes. Inputs are RGB (walls black, open white, start green, end red); the target
    marks the pixels of the unique start-to-end path."""

    name = "mazes"
    summary = ("path from start to end through a maze; difficulty = maze size (9, 13, 33, 59, "
               "...), or mixed training sizes 9-13 (padded with wall to the largest)")
    kind = "grid"
    spatial_dims = 2
    in_channels = 3
    num_classes = 2
    difficulty_unit = "size"
    position_noun = "cells"
    default_train_difficulty = "9"
    default_test_difficulty = "13"
    data_version = 1
    options = (
        Option("layout", "compact", choices=LAYOUTS,
               help="compact: one pixel per maze grid cell ((s+2)^2, for CPUs); "
                    "e2h: easy-to-hard-data's 2x upscaled image ((2s+6)^2)"),
        Option("source", "generated",
               help="'generated', or the name of a data set added with `dt data import mazes DIR`"),
    )
    presets = PRESETS

    @property
    def layout(self) -> str:
        return self.option_values["layout"]

    # -- difficulty and data ---------------------------------------------------------------

    def parse_difficulty(self, text: str | int) -> int | tuple[int, ...]:
        """A maze size (13), or mixed sizes to train on: every odd size of a range (9-13) or a
        list (9,11,13), returned as a sorted tuple."""
        spec = str(text).strip()
        if "," in spec or "-" in spec.lstrip("-"):
            parts = [p.strip() for p in spec.split(",")]
            sizes: set[int] = set()
            for part in parts:
                lo, sep, hi = part.partition("-")
                if sep:
                    a, b = self._size(lo, text), self._size(hi, text)
                    if a > b:
                        raise DtError(f"maze size range {part!r} runs backwards; write it "
                                      f"smallest first ({b}-{a})")
                    sizes.update(range(a, b + 1, 2))
                else:
                    sizes.add(self._size(part, text))
            return tuple(sorted(sizes)) if len(sizes) > 1 else sizes.pop()
        return self._size(spec, text)

    @staticmethod
    def _size(part: str, text: str | int) -> int:
        try:
            size = int(part)
        except ValueError:
            raise DtError(f"maze size must be an odd whole number >= 3 (9, 13, 33, 59, ...), or "
                          f"mixed training sizes as a range (9-13) or list (9,11,13); got "
                          f"{text!r}") from None
        if size < 3 or size % 2 == 0:
            raise DtError(f"maze size must be an odd number >= 3 (9, 13, 33, 59, ...), got {size}")
        return size

    def describe_difficulty(self, difficulty: Any) -> str:
        if isinstance(difficulty, (tuple, list)):
            return f"sizes {', '.join(map(str, difficulty))} (mixed)"
        cells = (int(difficulty) + 1) // 2
        return f"size {difficulty} ({cells}x{cells} cells)"

    def data_fields(self, split, difficulty, count, seed):
        fields = super().data_fields(split, difficulty, count, seed)
        fields["options"].pop("source", None)
        return fields

    @property
    def cache_data(self) -> bool:
        """Generated mazes are cached; an imported set is already on disk."""
        return self.option_values["source"] == "generated"

    def make_data(self, split: str, difficulty: Any, count: int, seed: int) -> dict[str, Any]:
        """Generated mazes (the default), or the first ``count`` of an imported set."""
        source = self.option_values["source"]
        if source == "generated":
            return super().make_data(split, difficulty, count, seed)
        if isinstance(difficulty, tuple):
            raise DtError(f"mixed maze sizes ({', '.join(map(str, difficulty))}) need generated "
                          f"mazes; the imported data set {source!r} holds one size")
        data = imported_data(self.name, source)
        x, y = data["inputs"], data["targets"]
        side = x.shape[-1]
        if side != self.image_side(difficulty):
            from dt_mazes.layouts import image_size

            def sizes(layout: str) -> list[int]:
                return [s for s in range(3, 2 * side, 2) if image_size(s, layout) == side]

            other = next(name for name in LAYOUTS if name != self.layout)
            if not sizes(self.layout) and sizes(other):
                raise DtError(f"imported data set {source!r} is in the {other} layout (size "
                              f"{sizes(other)[0]} mazes) and this model reads the {self.layout} "
                              f"layout; import it again with -o layout={self.layout}, or use "
                              f"a model trained on {other} mazes")
            found = sizes(self.layout)
            raise DtError(f"imported data set {source!r} holds size {found[0] if found else '?'} "
                          f"mazes, not size {difficulty}; pass --difficulty {found[0] if found else 'N'}"
                          " to match")
        if count > len(x):
            raise DtError(f"imported data set {source!r} has {len(x)} mazes, asked for {count}")
        return {"inputs": x[:count], "targets": y[:count]}

    def image_side(self, size: int) -> int:
        from dt_mazes.layouts import image_size

        return image_size(int(size), self.layout)

    def generate(self, difficulty: int | tuple[int, ...], count: int, seed: int):
        import torch

        from dt_mazes.generate import generate_mazes, generate_mixed
        from dt_mazes.layouts import to_compact, to_e2h

        if isinstance(difficulty, tuple):
            mazes = generate_mixed(difficulty, count, seed)
        else:
            mazes = generate_mazes(int(difficulty), count, seed)
        inputs, targets = (to_compact if self.layout == "compact" else to_e2h)(mazes)
        # 0/1 values: uint8 keeps the cache and host memory 4x (inputs) / 8x (targets) smaller
        return torch.from_numpy(inputs.astype("uint8")), torch.from_numpy(targets.astype("uint8"))

    def import_data(self, path: Path):
        import torch

        from dt_mazes.layouts import e2h_to_compact, load_e2h_dir

        try:
            inputs, targets = load_e2h_dir(path)
            if self.layout == "compact":
                inputs, targets = e2h_to_compact(inputs, targets)
        except ValueError as exc:
            raise DtError(str(exc)) from None
        side = inputs.shape[-1]
        size = side - 2 if self.layout == "compact" else (side - 6) // 2
        return (torch.from_numpy(inputs.astype("uint8")), torch.from_numpy(targets.astype("uint8")),
                size)

    # -- scoring ---------------------------------------------------------------------------

    @staticmethod
    def open_mask(inputs):
        """Open pixels (any channel lit): walls are black."""
        return inputs.amax(1) > 0

    def position_mask(self, inputs):
        return self.open_mask(inputs)

    def loss(self, logits, targets, inputs):
        """Cross-entropy over open pixels only, as the reference."""
        import torch.nn.functional as F

        per_pixel = F.cross_entropy(logits, targets, reduction="none")
        return per_pixel[self.open_mask(inputs)].mean()

    def loss_weight(self, targets, inputs):
        return self.open_mask(inputs).sum()

    def predict(self, logits, inputs):
        return logits.argmax(1) * self.open_mask(inputs)

    def position_confidence(self, logits, inputs):
        return logits.float().softmax(1).amax(1) * self.open_mask(inputs)

    def verify(self, prediction, inputs, targets):
        """The predicted pixels form one simple path of open pixels from start to end.

        Checked on the raw grid by degrees: every predicted pixel is open, start and end have
        one predicted neighbour and every other predicted pixel two. The open pixels of a
        maze form a tree, where that holds exactly for the one start-to-end path.
        """
        return self.check_answer(prediction, inputs)

    def check_answer(self, prediction, inputs):
        """The same path check as :meth:`verify`; it needs no label, so halting may use it."""
        from dt_mazes.verify import path_is_valid

        return path_is_valid(prediction, inputs, self.layout)

    # -- presentation ----------------------------------------------------------------------

    def render(self, inputs, prediction=None, target=None, confidence=None, probabilities=None,
               fit=None):
        from dt_mazes.render import render_maze
        from dt_mazes.verify import to_raw_numpy

        open_, start, end = to_raw_numpy(inputs, self.layout)
        pick = lambda t: None if t is None else to_raw_numpy(t, self.layout, grid=True)  # noqa: E731
        return render_maze(open_, start, end, pick(prediction), pick(target), pick(confidence),
                           fit=fit)

    def render_image(self, inputs, prediction=None, target=None, confidence=None,
                     probabilities=None, fit=None):
        """The maze as an RGB array, a pixel per raw-grid pixel, coloured as in the terminal."""
        from dt_mazes.render import maze_image
        from dt_mazes.verify import to_raw_numpy

        open_, start, end = to_raw_numpy(inputs, self.layout)
        pick = lambda t: None if t is None else to_raw_numpy(t, self.layout, grid=True)  # noqa: E731
        return maze_image(open_, start, end, pick(prediction), pick(target), pick(confidence),
                          fit=fit)

    def render_text(self, inputs, prediction=None, target=None, extras=None):
        """The maze in ``#`` walls, ``.`` open, ``S`` start, ``E`` end and ``*`` for the
        predicted path (``o`` for path pixels it missed, ``x`` for ones it wrongly added, when
        the target is known); None for a maze wider than :data:`TEXT_SIDE` characters."""
        from dt_mazes.text import format_text_maze
        from dt_mazes.verify import to_raw_numpy

        open_, start, end = to_raw_numpy(inputs, self.layout)
        if open_.shape[1] > TEXT_SIDE:
            return None
        chars = [list(line) for line in format_text_maze(open_, start, end).splitlines()]
        pick = lambda t: None if t is None else to_raw_numpy(t, self.layout, grid=True) > 0.5  # noqa: E731
        pred, want = pick(prediction), pick(target)
        for r, row in enumerate(chars):
            for c, ch in enumerate(row):
                if ch not in ".#":
                    continue
                on = pred is not None and bool(pred[r, c])
                needed = want is not None and bool(want[r, c])
                if on:
                    row[c] = "*" if want is None or needed else "x"
                elif needed:
                    row[c] = "o"
        key = "# wall  . open  S start  E end  * predicted path"
        if want is not None:
            key += "  o missed  x wrongly predicted"
        return "\n".join([key, *("".join(row) for row in chars)])

    def parse_instance(self, text: str):
        from dt_mazes.text import parse_text_maze

        try:
            open_, start, end = parse_text_maze(text)
        except ValueError as exc:
            raise DtError(f"bad maze file: {exc}") from None
        from dt_mazes.generate import bfs_path

        if bfs_path(open_, start, end) is None:
            raise DtError("bad maze file: no open path leads from S to E; open a wall ('#' to '.') "
                          "so the maze has a solution")
        inputs, _ = self._encode(open_, start, end, path=None)
        return inputs

    def target_for(self, inputs):
        from dt_mazes.generate import bfs_path
        from dt_mazes.verify import to_raw_numpy

        open_, start, end = to_raw_numpy(inputs, self.layout)
        path = bfs_path(open_, start, end)
        if path is None:
            return None
        _, targets = self._encode(open_, start, end, path)
        return targets

    def _encode(self, open_, start, end, path):
        import numpy as np
        import torch

        from dt_mazes.generate import MazeSet as MazeBatch
        from dt_mazes.layouts import to_compact, to_e2h

        size = open_.shape[0] - 2
        batch = MazeBatch(open=open_[None], start=np.array([start]), end=np.array([end]),
                          path=(np.zeros_like(open_) if path is None else path)[None], size=size)
        inputs, targets = (to_compact if self.layout == "compact" else to_e2h)(batch)
        return torch.from_numpy(inputs[0]), torch.from_numpy(targets[0].astype("int64"))
