"""Rich renderables to Textual strips, fast enough to redraw every iteration.

Textual converts a Rich ``Text`` into its own ``Content`` style by style, which costs tens of
milliseconds for a maze of a few hundred colour runs. A ``Text`` whose spans do not overlap
(what the maze renderer and plotext's ANSI output produce) is cut into segments here in one
pass, resolving each distinct style once; anything else goes through Rich's own renderer.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip


class StyleCache:
    """Parsed and combined Rich styles, reused across frames."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._parsed: dict[Any, Style | None] = {}
        self._combined: dict[tuple[Style | None, Style | None], Style | None] = {}

    def get(self, style: str | Style | None) -> Style | None:
        if style is None or style == "":
            return None
        if isinstance(style, Style):
            return style
        got = self._parsed.get(style)
        if got is None:
            got = self._parsed[style] = self.console.get_style(style, default="")
        return got

    def combine(self, base: Style | None, style: Style | None) -> Style | None:
        if base is None:
            return style
        if style is None:
            return base
        key = (base, style)
        got = self._combined.get(key)
        if got is None:
            got = self._combined[key] = base + style
        return got


def text_to_strips(text: Text, styles: StyleCache) -> list[Strip] | None:
    """One strip per line of ``text``; None when its spans overlap (use Rich then)."""
    spans = text.spans
    if any(b.start < a.start for a, b in zip(spans, spans[1:])):
        spans = sorted(spans, key=lambda s: s.start)
    if any(b.start < a.end for a, b in zip(spans, spans[1:])):
        return None
    plain = text.plain
    base = styles.get(text.style)
    strips = []
    pos, si, n = 0, 0, len(spans)
    for line in plain.split("\n"):
        end = pos + len(line)
        segments = []
        cur = pos
        while si < n and spans[si].start < end:
            span = spans[si]
            start = max(span.start, cur)
            if start > cur:
                segments.append(Segment(plain[cur:start], base))
            stop = min(span.end, end)
            if stop > start:
                segments.append(Segment(plain[start:stop],
                                        styles.combine(base, styles.get(span.style))))
            cur = max(cur, stop)
            if span.end > end:
                break  # the span goes on in the next line
            si += 1
        if cur < end:
            segments.append(Segment(plain[cur:end], base))
        strips.append(Strip(segments))
        pos = end + 1
    return strips


def to_strips(renderable: Any, styles: StyleCache, width: int) -> list[Strip]:
    """Lines of ``renderable`` laid out in at most ``width`` cells."""
    if isinstance(renderable, Text):
        strips = text_to_strips(renderable, styles)
        if strips is not None:
            return strips
    console = styles.console
    options = console.options.update(width=max(1, width), height=None)
    return [Strip(line) for line in console.render_lines(renderable, options, pad=False)]


def measure(renderable: Any, styles: StyleCache, available: int, limit: int = 1000) -> int:
    """Cells the renderable wants unwrapped (up to ``limit``; a scroll view shows the rest).
    A renderable that expands to any width it is given gets ``available``."""
    if isinstance(renderable, Text):
        return min(limit, max((cell_len(line) for line in renderable.plain.split("\n")),
                              default=0))
    console = styles.console
    options = console.options.update(width=limit)
    wanted = Measurement.get(console, options, renderable).maximum
    return max(1, available) if wanted >= limit else wanted


class Lines:
    """The strips of one renderable, finished for a widget (its base style, its width) on
    first use and cached, so repaints of unchanged lines cost nothing."""

    def __init__(self, strips: list[Strip], width: int = 0) -> None:
        self.strips = strips
        self.width = width  # the width the renderable was laid out in
        self._key: tuple[int, Style] | None = None
        self._done: list[Strip | None] = []

    def __len__(self) -> int:
        return len(self.strips)

    def line(self, y: int, width: int, base: Style) -> Strip:
        if self._key != (width, base):
            self._key = (width, base)
            self._done = [None] * len(self.strips)
        if y >= len(self.strips):
            return Strip.blank(width, base)
        strip = self._done[y]
        if strip is None:
            strip = self._done[y] = self.strips[y].apply_style(base).crop_extend(0, width, base)
        return strip


def refresh_changed(widget: Any, old: Lines | None, new: Lines) -> bool:
    """Repaint only the rows of ``widget`` whose strips differ between ``old`` and ``new``
    (all of it when the row count changed); False when nothing changed."""
    if old is None or len(old) != len(new):
        widget.refresh()
        return True
    rows = [y for y, (a, b) in enumerate(zip(old.strips, new.strips)) if a != b]
    if not rows:
        return False
    width = widget.size.width
    regions, start = [], rows[0]
    for prev, y in zip(rows, rows[1:] + [None]):
        if y != prev + 1:  # close a run of adjacent rows
            regions.append(Region(0, start, width, prev - start + 1))
            start = y
    widget.refresh(*regions)
    return True
