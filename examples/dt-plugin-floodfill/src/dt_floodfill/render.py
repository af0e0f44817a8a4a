"""Half-block terminal rendering of a flood-fill grid with a predicted region."""

from __future__ import annotations

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
