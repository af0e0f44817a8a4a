"""Live line plots (textual-plotext) that redraw at a bounded rate."""

from __future__ import annotations

import math
from typing import Sequence

from rich.text import Text
from textual.strip import Strip
from textual_plotext import PlotextPlot

from dtcli.tui.strips import Lines, StyleCache, refresh_changed, to_strips

Series = tuple[Sequence[float], Sequence[float], str]  # xs, ys, colour


class CurveChart(PlotextPlot):
    """A titled plot of named series.

    ``update_series`` may be called every frame; the plot is rebuilt at most ``max_hz`` times
    a second (plotext is not free), or at once with ``now=True`` (paused, stepped views). The
    figure is cut into strips once per rebuild (:mod:`dtcli.tui.strips`). A ``boxed`` chart
    puts its title in its border instead of a row of the figure, a row more for the curves.
    """

    def __init__(self, title: str, *, xlabel: str = "", ylim: tuple[float, float] | None = None,
                 log: bool = False, integer_x: bool = True, max_hz: float = 8.0,
                 boxed: bool = False, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.boxed = boxed
        self.plot_title = title
        if boxed:
            self.border_title = title
        self.x_label = xlabel
        self.y_limits = ylim
        self.log_scale = log
        self.integer_x = integer_x
        self.max_hz = max_hz
        self.series: dict[str, Series] = {}
        self.vlines: list[tuple[float, str]] = []
        self.x_limits: tuple[float, float] | None = None
        self._dirty = True
        self._strips: Lines | None = None
        self._strips_size = None
        self._styles: StyleCache | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self._draw()
        self.set_interval(1.0 / self.max_hz, self._flush)

    def _register_theme(self, app_theme_name: str) -> None:
        self._strips = None  # the cached figure has the old theme's colours
        super()._register_theme(app_theme_name)

    def update_series(self, series: dict[str, Series], *, vlines: list[tuple[float, str]] | None = None,
                      xlim: tuple[float, float] | None = None, title: str | None = None,
                      now: bool = False) -> None:
        self.series = series
        self.vlines = vlines or []
        self.x_limits = xlim
        if title is not None:
            self.plot_title = title
            if self.boxed:
                self.border_title = title
        self._dirty = True
        if now:
            self._flush()

    def clear(self, title: str | None = None) -> None:
        self.update_series({}, title=title, now=True)

    def _flush(self) -> None:
        if not self._dirty:
            return
        self._draw()
        old = self._strips
        if old is None or self._strips_size != self.size or not self.size.width:
            self._strips = None
            self.refresh()
        else:  # rebuild now and repaint the rows that changed
            self._strips = self._build(self.size)
            refresh_changed(self, old, self._strips)

    def _build(self, size) -> Lines:
        self._strips_size = size
        plt = self._plot
        plt.plotsize(size.width, size.height)
        plt._set_size(size.width, size.height)  # as PlotextPlot.render does
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        if self._styles is None:
            self._styles = StyleCache(self.app.console)
        figure = Text.from_ansi(plt.build()) if size.width > 0 and size.height > 0 else Text()
        return Lines(to_strips(figure, self._styles, size.width), size.width)

    def render_line(self, y: int) -> Strip:
        size = self.size
        if self._strips is None or self._strips_size != size:
            self._strips = self._build(size)
        return self._strips.line(y, size.width, self.visual_style.rich_style)

    def _draw(self) -> None:
        self._dirty = False
        plt = self.plt
        plt.clear_figure()
        if not self.boxed:
            plt.title(self.plot_title)
        if self.x_label:
            plt.xlabel(self.x_label)
        low, high = math.inf, -math.inf
        x_high = 0.0
        for name, (xs, ys, colour) in self.series.items():
            # a non-finite value (e.g. a relative change from a zero thought) has no place on
            # the chart and would break the axis limits
            if not all(math.isfinite(float(y)) for y in ys):
                kept = [(x, y) for x, y in zip(xs, ys) if math.isfinite(float(y))]
                xs, ys = [x for x, _ in kept], [y for _, y in kept]
            if not len(xs):
                continue
            if self.log_scale:  # log10 on a linear axis, labelled in powers of ten
                ys = [math.log10(max(float(y), 1e-12)) for y in ys]
                low, high = min(low, min(ys)), max(high, max(ys))
            x_high = max(x_high, float(xs[-1]))
            limit = max(2 * self.size.width, 100)  # points beyond what the braille grid shows
            if len(xs) > limit:
                stride = -(-len(xs) // limit)
                xs, ys = list(xs)[::stride] + [xs[-1]], list(ys)[::stride] + [ys[-1]]
            marker = "braille" if len(xs) > 1 else "dot"
            plt.plot(list(xs), list(ys), label=name, color=colour, marker=marker)
        for x, colour in self.vlines:
            plt.vline(x, colour)
        if self.log_scale and low <= high:
            lo, hi = math.floor(low), max(math.ceil(high), math.floor(low) + 1)
            step = max(1, math.ceil((hi - lo) / 4))
            ticks = list(range(lo, hi + 1, step))
            plt.ylim(lo, ticks[-1])
            plt.yticks(ticks, [f"1e{k}" if k else "1" for k in ticks])
        if self.integer_x and x_high >= 1:  # whole iterations / epochs on the x axis
            step = max(1, math.ceil(x_high / 5))
            plt.xticks(list(range(1 if step > 1 else 1, int(x_high) + 1, step)))
        if self.y_limits is not None:
            plt.ylim(*self.y_limits)
        if self.x_limits is not None:
            plt.xlim(*self.x_limits)
