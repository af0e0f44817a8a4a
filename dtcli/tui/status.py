"""The solve view's side panel: model, instance, iteration, verdict and per-frame figures."""

from __future__ import annotations

from typing import Callable, Hashable

from rich.text import Text
from textual.reactive import var
from textual.strip import Strip
from textual.widget import Widget

from dtcli.tui.state import Figures, SolveState
from dtcli.tui.strips import Lines, StyleCache, refresh_changed, to_strips


def _verdict(frame: Figures | None, first_correct: int | None = None,
             verify_name: str = "verified") -> Text:
    text = Text()
    if frame is not None and frame.diverged_at is not None:
        return text.append(f"✗ diverged at {frame.diverged_at} (thought overflowed)",
                           style="bold red")
    if frame is None or frame.correct is None:
        return text.append("—", style="dim")
    if frame.correct:
        text.append("✓ correct", style="bold green")
    else:
        # right earlier and wrong now is overthinking, not "not yet"
        text.append("✗ not yet" if first_correct is None else "✗ wrong again", style="bold red")
    if frame.verified is not None:
        text.append("  ")
        text.append(f"{'✓' if frame.verified else '✗'} {verify_name}",
                    style="green" if frame.verified else "yellow")
    return text


class SolveStatus(Widget):
    """Renders its ``state`` (a :class:`SolveState`, bound to the solve view's computed
    ``state``) as label/value lines. Its height is fixed (``app.tcss``) and its lines are cut
    into strips directly, so a per-frame update repaints the rows that changed, cheaply."""

    LABEL = 14

    state: var[SolveState] = var(SolveState, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()
        self._strips: Lines | None = None
        self._styles: StyleCache | None = None
        self._key: Hashable = None
        self._painted_key: Hashable = None
        #: called (soon after, on the UI thread) with the key of each state once painted;
        #: the iteration row changes every frame, so every frame's state gets painted
        self.on_paint: Callable[[Hashable], None] | None = None

    def watch_state(self, s: SolveState) -> None:
        """Repaint the rows that changed (a few per frame)."""
        self._key = s.key
        self._text = self.build(s)
        old = self._strips
        if old is None or not self.size.width:
            self._strips = None
            self.refresh()
            return
        width = self.size.width
        self._strips = Lines(to_strips(self._text, self.styles_cache, width), width)
        refresh_changed(self, old, self._strips)

    @property
    def styles_cache(self) -> StyleCache:
        if self._styles is None:
            self._styles = StyleCache(self.app.console)
        return self._styles

    def render_line(self, y: int) -> Strip:
        if self._key != self._painted_key:
            self._painted_key = self._key
            if self.on_paint is not None:
                self.call_later(self.on_paint, self._key)
        width = self.size.width
        if self._strips is None or self._strips.width != width:
            self._strips = Lines(to_strips(self._text, self.styles_cache, width), width)
        return self._strips.line(y, width, self.visual_style.rich_style)

    @classmethod
    def build(cls, s: SolveState) -> Text:
        out = Text()

        def row(label: str, value: Text | str = "") -> None:
            out.append(f"{label:<{cls.LABEL}}", style="dim")
            out.append(value if isinstance(value, Text) else Text(value))
            out.append("\n")

        row("model", Text(s.model, style="bold"))
        for line in s.model_line.splitlines():
            out.append(f"  {line}\n", style="dim")
        row("instance", s.instance_line)
        row("")
        if s.loading:
            row("", Text(s.loading, style="italic"))
            return out
        it = Text()
        it.append(f"{s.iteration}", style="bold")
        it.append(f" / {s.limit}", style="dim")
        row("iteration", it)
        play = Text()
        play.append("▶ playing" if s.playing else "‖ paused", style="bold" if s.playing else "")
        play.append(f"  {s.speed}", style="dim")
        if s.waiting:
            play.append("  thinking…", style="italic yellow")
        row("", play)
        row("answer", _verdict(s.figures, s.first_correct, s.verify_name))
        row("first correct", Text(f"at iteration {s.first_correct}", style="bold cyan")
            if s.first_correct is not None else Text("—", style="dim"))
        row("")
        f = s.figures
        if f is not None and f.diverged_at is not None:
            for name in ("confidence", "changed", "‖Δthought‖", "moving"):
                row(name, Text("— (overflowed)", style="red"))
        elif f is not None:
            row("confidence", f"{f.mean_confidence:.3f}")
            row("changed", f"{100 * f.changed:.2f}% of outputs")
            row("‖Δthought‖", f"{f.delta_thought:.2e} (relative)")
            row("moving", f"{100 * f.moving:.1f}% of the thought")
        else:
            for name in ("confidence", "changed", "‖Δthought‖", "moving"):
                row(name, Text("—", style="dim"))
        row("")
        row("view", "solution shown (a)" if s.answer_shown else "prediction only (a)")
        if s.note:
            row("", Text(s.note, style="italic"))
        out.rstrip()
        return out
