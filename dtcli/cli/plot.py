"""Terminal line plots (plotext), returned as Rich text so they compose with tables.

Iteration axes get whole-number ticks; a log axis is drawn on log10 of the data with ticks at
powers of ten labelled with their real values; the legend goes under the chart (never over the
data) and says when a series lies exactly on another one, which would otherwise hide it.
"""

from __future__ import annotations

import math
from typing import Sequence

from rich.console import Group
from rich.text import Text

#: colours given to the series in order (plotext names, also valid for Rich)
COLOURS = ("cyan", "orange", "green", "magenta", "red", "blue", "yellow", "white")


def integer_ticks(lo: float, hi: float, count: int = 6) -> list[int]:
    """About ``count`` round whole numbers from ``lo`` to ``hi`` (1, 2 or 5 times a power of
    ten apart), the ends included."""
    lo, hi = int(math.floor(lo)), int(math.ceil(hi))
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = list(range((lo + step - 1) // step * step, hi + 1, step))
    if not ticks or ticks[0] - lo > step / 2:
        ticks.insert(0, lo)
    elif ticks[0] != lo:
        ticks[0] = lo
    if hi - ticks[-1] > step / 2:
        ticks.append(hi)
    else:
        ticks[-1] = hi
    return sorted(set(ticks))


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten from ``lo`` to ``hi`` (and the ends when there are fewer than two)."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    ticks = [10.0 ** e for e in range(first, last + 1) if lo <= 10.0 ** e <= hi]
    return ticks if len(ticks) >= 2 else sorted({lo, hi, *ticks})


def _label(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def line_plot(series: dict[str, tuple[Sequence[float], Sequence[float]]], *, title: str = "",
              xlabel: str = "", ylabel: str = "", width: int = 80, height: int = 18,
              ylim: tuple[float, float] | None = None, color: bool = True,
              log_x: bool = False, integer_x: bool = True) -> Group:
    """Plot named ``(xs, ys)`` series; the chart and its legend as Rich renderables."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    drawn = [(name, list(xs), list(ys)) for name, (xs, ys) in series.items() if len(xs)]
    xs_all = [x for _, xs, _ in drawn for x in xs]
    if log_x:
        xs_all = [x for x in xs_all if x > 0]
    for k, (name, xs, ys) in enumerate(drawn):
        if log_x:
            xs, ys = zip(*[(math.log10(x), y) for x, y in zip(xs, ys) if x > 0]) or ([], [])
        plt.plot(list(xs), list(ys), marker="braille", color=COLOURS[k % len(COLOURS)])
    if xs_all:
        lo, hi = min(xs_all), max(xs_all)
        if log_x:
            ticks = log_ticks(lo, hi)
            plt.xticks([math.log10(t) for t in ticks], [_label(t) for t in ticks])
        elif integer_x:
            ticks = integer_ticks(lo, hi)
            plt.xticks(ticks, [str(t) for t in ticks])
    if ylim:
        plt.ylim(*ylim)
    if title:
        plt.title(title)
    if xlabel:
        plt.xlabel(xlabel + (" (log)" if log_x else ""))
    if ylabel:
        plt.ylabel(ylabel)
    figure = plt.build()
    plt.clear_figure()
    chart = Text.from_ansi(figure) if color else Text(Text.from_ansi(figure).plain)
    return Group(chart, legend(drawn, color))


def legend(drawn: list[tuple[str, list, list]], color: bool = True) -> Text:
    """One line under the chart: each distinct curve's colour and name; curves identical to
    it are named once after it (they are drawn under it), so 19 seeds stuck at 0% read as
    one entry, not 19."""
    text = Text("  ")
    groups: dict[tuple, list[int]] = {}  # curve -> indices drawn with it, first drawn first
    for k, (_, xs, ys) in enumerate(drawn):
        groups.setdefault((tuple(xs), tuple(ys)), []).append(k)
    for first, *twins in groups.values():
        text.append("━━ ", style=COLOURS[first % len(COLOURS)] if color else "")
        text.append(drawn[first][0])
        if twins:
            text.append(f" (the same: {', '.join(drawn[k][0] for k in twins)})")
        text.append("   ")
    return text
