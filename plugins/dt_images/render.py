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


def classes_text(names, probabilities=None, prediction=None, target=None, *, bar: int = BAR,
                 short: bool = False) -> Text:
    """The top classes with probability bars ``bar`` characters long; the target marked ✓
    (or ✗ when missed), with the word "label" unless ``short``."""
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
        filled = int(round(p * bar))
        is_target = target is not None and int(k) == target
        style = "bold green" if (rank == 0 and is_target) else (
            "bold red" if rank == 0 and target is not None else ("green" if is_target else ""))
        text.append(f"{names[int(k)]:>{name_width(names)}} ", style=style)
        text.append("█" * filled, style="cyan")
        text.append("·" * (bar - filled), style="dim")
        text.append(f" {100 * p:5.1f}%")
        if is_target:
            mark = "✓" if rank == 0 else "←"
            text.append(f" {mark}" if short else f"  {mark} label", style="green")
        if rank < len(order) - 1:
            text.append("\n")
    return text


GAP = 3  # columns between the picture and the class list
MIN_BAR = 4


def name_width(names) -> int:
    """Columns a class name takes in the list (the longest name's, at most 12)."""
    return min(12, max((len(str(n)) for n in names), default=1))


def classes_width(names, bar: int = BAR, short: bool = False) -> int:
    """Columns of :func:`classes_text`: name, bar, percentage and the label mark."""
    return name_width(names) + 1 + bar + 7 + (2 if short else 9)


def render_image(image, names, mean, std, normalized: bool, prediction=None, target=None,
                 probabilities=None, title: str = "", fit: tuple[int, int] | None = None) -> Table:
    """The picture (blown up by a whole factor to fill ``fit`` beside the class list) and the
    class probabilities. In a narrow ``fit`` the list shortens its bars and marks first, and
    goes under the picture when even a picture at its own size does not fit beside it."""
    rgb = to_rgb(np.asarray(image), mean, std, normalized)
    h, w = rgb.shape[:2]
    bar, short, width, stacked = BAR, False, 16, False
    if fit is not None:  # a half-block line holds two pixel rows
        room = fit[0] - w - GAP  # beside a picture at its own size
        if classes_width(names, bar) > room:
            short = True
            bar = max(MIN_BAR, min(BAR, room - classes_width(names, 0, short=True)))
        stacked = classes_width(names, bar, short) > room
        if stacked:
            bar = max(MIN_BAR, min(BAR, fit[0] - classes_width(names, 0, short=True)))
            width = w * max(1, min(fit[0] // w, (2 * fit[1]) // h))
        else:
            beside = fit[0] - classes_width(names, bar, short) - GAP
            width = w * max(1, min(beside // w, (2 * fit[1]) // h))
    picture = image_text(rgb, min_width=width)
    classes = classes_text(names, probabilities, prediction, target, bar=bar, short=short)
    grid = Table.grid(padding=(0, GAP))
    grid.add_column()
    if stacked:
        grid.add_row(picture)
        grid.add_row(classes)
    else:
        grid.add_column()
        grid.add_row(picture, classes)
    if title:
        grid.title = title
    return grid
