"""Half-block terminal rendering of a flood-fill grid with a predicted region."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text

WALL, FREE, SEED = "grey11", "grey70", "bright_yellow"
WRONG, MISSED = "bright_magenta", "dark_orange3"
SHADES = ["steel_blue", "dodger_blue2", "deep_sky_blue1", "bright_cyan"]


def cell_colour(free, seed, pred, target, conf) -> str:
    if seed:
        return SEED
    if pred and target is not None and not target:
        return WRONG
    if pred:
        return SHADES[min(len(SHADES) - 1, max(0, int((conf - 0.5) * 2 * len(SHADES))))]
    if target:
        return MISSED
    return FREE if free else WALL


def render_grid(inputs, prediction=None, target=None, confidence=None) -> Text:
    """Two grid rows per text line: the upper cell is the foreground of '▀', the lower the background."""
    free, seed = inputs[0].numpy() > 0.5, inputs[1].numpy() > 0.5
    h, w = free.shape
    pred = None if prediction is None else prediction.numpy() > 0
    true = None if target is None else target.numpy() > 0
    conf = None if confidence is None else confidence.float().numpy()

    def colour(r: int, c: int) -> str:
        return cell_colour(free[r, c], seed[r, c], pred is not None and pred[r, c],
                           None if true is None else true[r, c], 1.0 if conf is None else conf[r, c])

    text = Text(no_wrap=True)
    for r in range(0, h, 2):
        for c in range(w):
            lower = colour(r + 1, c) if r + 1 < h else None
            text.append("▀", Style(color=colour(r, c), bgcolor=lower))
        text.append("\n")
    return text


# The same colours as RGB, for pictures (``dt solve --save``)
RGB = {"wall": (28, 28, 28), "free": (178, 178, 178), "seed": (255, 255, 0),
       "wrong": (255, 0, 255), "missed": (175, 95, 0)}
SHADES_RGB = np.array([(70, 130, 180), (0, 135, 255), (0, 175, 255), (0, 255, 255)], dtype=np.uint8)


def grid_image(inputs, prediction=None, target=None, confidence=None) -> np.ndarray:
    """RGB ``(H, W, 3)`` uint8, one pixel per cell, coloured as :func:`render_grid` draws it."""
    free, seed = inputs[0].numpy() > 0.5, inputs[1].numpy() > 0.5
    img = np.where(free[..., None], np.uint8(RGB["free"]), np.uint8(RGB["wall"])).astype(np.uint8)
    pred = None if prediction is None else prediction.numpy() > 0
    true = None if target is None else target.numpy() > 0
    if pred is not None:
        conf = np.ones(free.shape) if confidence is None else confidence.float().numpy()
        shade = np.clip(((conf - 0.5) * 2 * len(SHADES_RGB)).astype(int), 0, len(SHADES_RGB) - 1)
        img[pred] = SHADES_RGB[shade[pred]]
        if true is not None:
            img[pred & ~true] = RGB["wrong"]
    if true is not None:
        img[true if pred is None else true & ~pred] = RGB["missed"]
    img[seed] = RGB["seed"]
    return img
