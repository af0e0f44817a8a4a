"""An image in the terminal (half blocks: two pixel rows per line) beside its top classes."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.table import Table
from rich.text import Text

HALF_BLOCK = "\u2580"
TOP = 5
BAR = 20


def to_rgb(image: np.ndarray, mean, std, normalized: bool) -> np.ndarray:
    """``(C, H, W)`` float (normalised or 0..1) → ``(H, W, 3)`` uint8."""
    img = np.asarray(image, dtype=np.float32)
    if normalized:
        img = img * np.asarray(std, np.float32)[:, None, None] + np.asarray(mean, np.float32)[:, None, None]
    img = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    if img.shape[0] == 1:
        img = np.repeat(img, 3, axis=0)
    return img[:3].transpose(1, 2, 0)


def image_text(rgb: np.ndarray, min_width: int = 16) -> Text:
    """Half-block picture; images narrower than ``min_width`` pixels are enlarged."""
    scale = max(1, min_width // rgb.shape[1])
    if scale > 1:
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    h, w, _ = rgb.shape
    text = Text()
    for y in range(0, h, 2):
        for x in range(w):
            up = "#%02x%02x%02x" % tuple(int(v) for v in rgb[y, x])
            low = ("#%02x%02x%02x" % tuple(int(v) for v in rgb[y + 1, x])) if y + 1 < h else None
            text.append(HALF_BLOCK, Style(color=up, bgcolor=low))
        if y + 2 < h:
            text.append("\n")
    return text


def classes_text(names, probabilities=None, prediction=None, target=None) -> Text:
    """The top classes with probability bars; the target marked ✓ (or ✗ when missed)."""
    text = Text()
    target = None if target is None else int(target)
    if probabilities is None:
        if target is not None:
            text.append("label ", style="dim")
            text.append(names[target], style="bold")
        if prediction is not None:
            ok = target is None or int(prediction) == target
            text.append("\npredicted ", style="dim")
            text.append(names[int(prediction)], style="bold green" if ok else "bold red")
        return text
    probs = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if not np.isfinite(probs).all():  # an overflowed thought: no probabilities to draw
        text.append("no answer: the net's thought overflowed (NaN)", style="bold red")
        if target is not None:
            text.append("\nlabel ", style="dim")
            text.append(names[target], style="bold")
        return text
    order = np.argsort(-probs, kind="stable")[:TOP]
    if target is not None and target not in order:
        order = np.append(order, target)
    for rank, k in enumerate(order):
        p = float(probs[k])
        filled = int(round(p * BAR))
        is_target = target is not None and int(k) == target
        style = "bold green" if (rank == 0 and is_target) else (
            "bold red" if rank == 0 and target is not None else ("green" if is_target else ""))
        text.append(f"{names[int(k)]:>12} ", style=style)
        text.append("█" * filled, style="cyan")
        text.append("·" * (BAR - filled), style="dim")
        text.append(f" {100 * p:5.1f}%")
        if is_target:
            text.append("  ✓ label" if rank == 0 else "  ← label", style="green")
        if rank < len(order) - 1:
            text.append("\n")
    return text


#: columns the class list beside the picture takes (name, bar, percentage, padding)
CLASS_COLUMNS = 44


def render_image(image, names, mean, std, normalized: bool, prediction=None, target=None,
                 probabilities=None, title: str = "", fit: tuple[int, int] | None = None) -> Table:
    """The picture (blown up by a whole factor to fill ``fit`` beside the class list) and the
    class probabilities."""
    grid = Table.grid(padding=(0, 3))
    grid.add_column()
    grid.add_column()
    rgb = to_rgb(np.asarray(image), mean, std, normalized)
    width = 16
    if fit is not None:  # a half-block line holds two pixel rows
        h, w = rgb.shape[:2]
        scale = max(1, min((fit[0] - CLASS_COLUMNS) // w, (2 * fit[1]) // h))
        width = w * scale
    grid.add_row(image_text(rgb, min_width=width),
                 classes_text(names, probabilities, prediction, target))
    if title:
        grid.title = title
    return grid
