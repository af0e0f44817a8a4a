"""The instance as the problem plugin draws it (a maze, bit rows, a board), redrawn per frame."""

from __future__ import annotations

from typing import Any, Hashable

from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from dtcli.contracts.instances import Instance, draw
from dtcli.tui.strips import Lines, StyleCache, measure, refresh_changed, to_strips


def _widest(lines: Lines) -> int:
    return max((strip.cell_length for strip in lines.strips), default=0)


class InstanceView(Widget):
    """Shows one Rich renderable from ``Problem.render``, sized to its content.

    ``draw`` asks the problem to draw a frame, ``show`` swaps the renderable in; only a new
    instance (``resized``) re-runs the layout, so a per-iteration redraw of the same instance
    repaints this widget alone. Lines are cut into strips directly (:mod:`dtcli.tui.strips`).
    ``painted`` counts distinct frames drawn.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._renderable: Any = Text("")
        self._key: Hashable = None
        self._painted_key: Hashable = None
        self._strips: Lines | None = None
        self._styles: StyleCache | None = None
        self.painted = 0

    @property
    def styles_cache(self) -> StyleCache:
        if self._styles is None:
            self._styles = StyleCache(self.app.console)
        return self._styles

    def draw(self, problem: Any, instance: Instance, frame: Any, answer: bool, key: Hashable,
             fit: tuple[int, int] | None, resized: bool = False) -> None:
        """Show ``instance`` as ``problem`` draws it with ``frame``'s prediction (the bare
        instance when None) and, with ``answer``, the solution; as large as ``fit``."""
        target = instance.target if answer else None
        if frame is None:
            renderable = draw(problem, instance.inputs, None, target, None, None, fit=fit,
                              extras=instance.extras)
        else:
            renderable = draw(problem, instance.inputs, frame.prediction, target,
                              frame.confidence, frame.probabilities, fit=fit,
                              extras=instance.extras)
        self.show(renderable, key, resized)

    def show(self, renderable: Any, key: Hashable, resized: bool = False) -> None:
        """Draw ``renderable``; rows equal to the previous frame's are not repainted (after
        a few iterations most of a maze stays the same)."""
        old = self._strips
        self._renderable = renderable
        self._key = key
        if resized or old is None or not self.size.width:
            self._strips = None
            self.refresh(layout=resized)
            return
        width = self.size.width
        self._strips = Lines(to_strips(renderable, self.styles_cache, width), width)
        if len(self._strips) != len(old) or _widest(self._strips) != _widest(old):
            self.refresh(layout=True)  # e.g. a prediction row appears under the input
        elif not refresh_changed(self, old, self._strips):
            self._mark_painted()  # identical to what is on screen: shown already

    def _mark_painted(self) -> None:
        if self._key != self._painted_key:
            self._painted_key = self._key
            self.painted += 1

    def _lines(self, width: int) -> Lines:
        if self._strips is None or self._strips.width != width:
            self._strips = Lines(to_strips(self._renderable, self.styles_cache, width), width)
        return self._strips

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return measure(self._renderable, self.styles_cache, container.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._strips = None
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        self._mark_painted()
        width = self.size.width
        return self._lines(width).line(y, width, self.visual_style.rich_style)
