"""Terminal rendering of a maze with half blocks: two pixel rows per text line.

Each character is an upper half block "▀" whose foreground is the upper pixel and whose
background is the lower pixel. Runs of equal (upper, lower) colour pairs share one style span, so
a redraw per iteration in a live view stays cheap even for large mazes.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Span, Text

HALF_BLOCK = "\u2580"
WALL, OPEN, START, END, WRONG, MISSED = range(6)
LEVELS = 8  # confidence shades for predicted path pixels, 0.5 -> 1.0
FIRST_LEVEL = 6
NONE = FIRST_LEVEL + LEVELS  # no pixel (the lower half of the last line of an odd height)
_COUNT = NONE + 1

_BASE = {
    WALL: "#1c1c1c",  # dark grey
    OPEN: "#d0d0d0",  # light grey
    START: "#00ff00",  # bright green
    END: "#ff1a1a",  # bright red
    WRONG: "#ff00ff",  # magenta: predicted, but not on the target path
    MISSED: "#b35c00",  # dim orange: on the target path, but not predicted
}
_LOW, _HIGH = (0x8a, 0x7a, 0x00), (0x00, 0xe5, 0xff)  # dim yellow -> bright cyan


def _colour(index: int) -> str | None:
    if index in _BASE:
        return _BASE[index]
    if index == NONE:
        return None
    t = (index - FIRST_LEVEL) / (LEVELS - 1)
    rgb = (round(lo + (hi - lo) * t) for lo, hi in zip(_LOW, _HIGH))
    return "#" + "".join(f"{v:02x}" for v in rgb)


# Style of every (upper, lower) pair, indexed by upper * _COUNT + lower.
_STYLES = [Style(color=_colour(up), bgcolor=_colour(low))
           for up in range(_COUNT) for low in range(_COUNT)]


def _mask(name: str, a: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a)
    if a.shape != shape:
        raise ValueError(f"{name} must have the maze's shape {shape}, got {a.shape}")
    return a.astype(bool)


def pixel_colours(open_: np.ndarray, start, end, prediction: np.ndarray | None = None,
                  target: np.ndarray | None = None,
                  confidence: np.ndarray | None = None) -> np.ndarray:
    """Palette index of every pixel, ``(H, W)`` uint8 (see the constants of this module)."""
    grid = np.asarray(open_, dtype=bool)
    if grid.ndim != 2:
        raise ValueError(f"the maze must be a 2-D (H, W) grid, got shape {grid.shape}")
    pred = _mask("prediction", prediction, grid.shape)
    tgt = _mask("target", target, grid.shape)
    colours = grid.astype(np.uint8)  # WALL 0, OPEN 1
    if pred is None and tgt is not None:
        pred, tgt = tgt, None  # nothing predicted yet: show the solution as a sure path
    if pred is not None:
        if confidence is None:
            level = np.full(grid.shape, LEVELS - 1)
        else:
            conf = np.nan_to_num(np.asarray(confidence, dtype=np.float64))
            if conf.shape != grid.shape:
                raise ValueError(f"confidence must have the maze's shape {grid.shape}, "
                                 f"got {conf.shape}")
            level = np.rint(np.clip(conf * 2 - 1, 0, 1) * (LEVELS - 1)).astype(np.int64)
        colours[pred] = (FIRST_LEVEL + level[pred]).astype(np.uint8)
        if tgt is not None:
            colours[pred & ~tgt] = WRONG
            colours[tgt & ~pred] = MISSED
    colours[int(start[0]), int(start[1])] = START
    colours[int(end[0]), int(end[1])] = END
    return colours


# What a shrunk drawing keeps of a block of pixels: the highest-ranked colour in it, so the
# start, the end and the path stay visible however far a large maze is scaled down.
_RANK = np.zeros(_COUNT, dtype=np.int64)
_RANK[OPEN], _RANK[MISSED] = 1, 2
_RANK[FIRST_LEVEL:FIRST_LEVEL + LEVELS] = np.arange(3, 3 + LEVELS)
_RANK[WRONG], _RANK[START], _RANK[END] = 3 + LEVELS, 4 + LEVELS, 5 + LEVELS
_BY_RANK = np.argsort(_RANK[:NONE])  # rank -> colour (ranks are distinct below NONE)


def scale_factor(height: int, width: int, fit: tuple[int, int] | None) -> int:
    """Pixels per drawn pixel: k > 1 blows a small maze up k times, k < -1 shrinks a large
    one |k| times (a half-block line holds two pixel rows), 1 draws it as it is."""
    if fit is None:
        return 1
    cols, lines = max(1, fit[0]), max(1, fit[1])
    grow = min(cols // width, (2 * lines) // height)
    if grow >= 2:
        return grow
    shrink = max(-(-width // cols), -(-height // (2 * lines)))
    return -shrink if shrink > 1 else 1


def scale_colours(colours: np.ndarray, k: int) -> np.ndarray:
    """Colours blown up (k > 1: each pixel a k x k block) or shrunk (k < -1: each |k| x |k|
    block one pixel of its highest-ranked colour)."""
    if k > 1:
        return np.repeat(np.repeat(colours, k, axis=0), k, axis=1)
    if k >= -1:
        return colours
    k = -k
    h, w = colours.shape
    padded = np.zeros((-(-h // k) * k, -(-w // k) * k), dtype=np.int64)  # WALL: rank 0
    padded[:h, :w] = _RANK[colours]
    blocks = padded.reshape(padded.shape[0] // k, k, padded.shape[1] // k, k).max(axis=(1, 3))
    return _BY_RANK[blocks].astype(np.uint8)


def render_maze(open_: np.ndarray, start, end, prediction: np.ndarray | None = None,
                target: np.ndarray | None = None,
                confidence: np.ndarray | None = None,
                fit: tuple[int, int] | None = None) -> Text:
    """One maze as half-block Rich text, ``ceil(H / 2)`` lines of ``W`` characters (scaled by
    an integer factor to fill, or fit in, ``fit = (columns, lines)`` when given).

    ``prediction`` and ``target`` are (H, W) path masks on the maze's grid, ``confidence`` the
    (H, W) probability of the path class; predicted pixels are shaded from dim yellow (0.5) to
    bright cyan (1.0), wrong ones magenta and missed target pixels dim orange. With a target but
    no prediction the target path is shown at full confidence.
    """
    colours = pixel_colours(open_, start, end, prediction, target, confidence)
    colours = scale_colours(colours, scale_factor(*colours.shape, fit))
    height, width = colours.shape
    upper = colours[0::2].astype(np.int64)
    lower = np.full_like(upper, NONE)
    lower[: height // 2] = colours[1::2]
    codes = upper * _COUNT + lower  # (lines, W)
    lines = len(codes)

    # A run starts at column 0 and wherever the pair changes along a line.
    is_start = np.ones(codes.shape, dtype=bool)
    is_start[:, 1:] = codes[:, 1:] != codes[:, :-1]
    row, col = np.nonzero(is_start)
    stop = np.empty_like(col)
    stop[:-1] = np.where(row[1:] == row[:-1], col[1:], width)
    stop[-1:] = width
    base = row * (width + 1)  # each line is W blocks and a newline
    spans = [Span(a, b, _STYLES[c]) for a, b, c in
             zip((base + col).tolist(), (base + stop).tolist(), codes[row, col].tolist())]
    plain = "\n".join([HALF_BLOCK * width] * lines)
    return Text(plain, spans=spans, no_wrap=True, overflow="crop")


def _rgb(colour: str | None) -> tuple[int, int, int]:
    colour = colour or "#000000"
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


#: RGB of every palette index, for pictures
PALETTE_RGB = np.array([_rgb(_colour(i)) for i in range(_COUNT)], dtype=np.uint8)


def maze_image(open_: np.ndarray, start, end, prediction: np.ndarray | None = None,
               target: np.ndarray | None = None, confidence: np.ndarray | None = None,
               fit: tuple[int, int] | None = None) -> np.ndarray:
    """One maze as an RGB ``(H, W, 3)`` uint8 picture, one pixel per maze pixel, in the
    colours of :func:`render_maze`; shrunk into ``fit = (width, height)`` pixels when larger,
    each block keeping its most telling colour (the path, the start and the end survive)."""
    colours = pixel_colours(open_, start, end, prediction, target, confidence)
    if fit is not None:
        h, w = colours.shape
        shrink = max(-(-w // max(1, fit[0])), -(-h // max(1, fit[1])))
        if shrink > 1:
            colours = scale_colours(colours, -shrink)
    return PALETTE_RGB[colours]
