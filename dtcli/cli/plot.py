"""Terminal line plots (plotext), returned as Rich text so they compose with tables."""

from __future__ import annotations

from typing import Sequence

from rich.text import Text


def line_plot(series: dict[str, tuple[Sequence[float], Sequence[float]]], *, title: str = "",
              xlabel: str = "", ylabel: str = "", width: int = 80, height: int = 18,
              ylim: tuple[float, float] | None = None, color: bool = True) -> Text:
    """Plot named ``(xs, ys)`` series and return the figure as Rich text."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear" if color else "clear")
    for name, (xs, ys) in series.items():
        if len(xs):
            plt.plot(list(xs), list(ys), label=name, marker="braille")
    if ylim:
        plt.ylim(*ylim)
    if title:
        plt.title(title)
    if xlabel:
        plt.xlabel(xlabel)
    if ylabel:
        plt.ylabel(ylabel)
    figure = plt.build()
    plt.clear_figure()
    return Text.from_ansi(figure) if color else Text(Text.from_ansi(figure).plain)
