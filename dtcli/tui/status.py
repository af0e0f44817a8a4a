"""The solve view's side panel: model, instance, iteration, verdict and per-frame figures.

The panel is laid out for its size: values wrap (between pieces, else between words) in the
value column, never cut mid-word; a narrow panel is compact (a shorter label column, the
play state on the iteration row); and when the rows are more than the panel's height, the
least important ones leave first (blank rows, then the view, the figures the curves show
anyway, ...), so the verdict and the model's size are always there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import var
from textual.strip import Strip
from textual.widget import Widget

from dtcli.tui.state import Figures, SolveState
from dtcli.tui.strips import Lines, StyleCache, refresh_changed, to_strips

COMPACT_BELOW = 40  # inner width under which the panel is compact
DOT = " · "


def verdict(frame: Figures | None, first_correct: int | None = None,
            verify_name: str = "verified", final: bool = False) -> list[Text]:
    """The answer row's pieces: right or wrong (wrong once the playback has ended, "not yet"
    before; "wrong again" after having been right), and the problem's own check."""
    if frame is not None and frame.diverged_at is not None:
        return [Text(f"✗ diverged at {frame.diverged_at}", style="bold red"),
                Text("(thought overflowed)", style="red")]
    if frame is None or frame.correct is None:
        return [Text("—", style="dim")]
    if frame.correct:
        out = [Text("✓ correct", style="bold green")]
    elif first_correct is not None:  # right earlier and wrong now is overthinking
        out = [Text("✗ wrong again", style="bold red")]
    else:
        out = [Text("✗ wrong" if final else "✗ not yet", style="bold red")]
    if frame.verified is not None:
        out.append(Text(f"{'✓' if frame.verified else '✗'} {verify_name}",
                        style="green" if frame.verified else "yellow"))
    return out


def wrap_words(text: Text, room: int) -> list[Text]:
    """``text`` in lines of at most ``room`` cells, broken at spaces (a word longer than a
    line is folded)."""
    plain, lines, start = text.plain, [], 0
    while cell_len(plain[start:]) > room:
        cut = plain.rfind(" ", start, start + room + 1)
        end = cut if cut > start else start + room
        lines.append(text[start:end])
        start = end + 1 if cut > start else end
    lines.append(text[start:])
    return lines


def pack(pieces: Sequence[Text], room: int, sep: str = DOT) -> list[Text]:
    """Pieces joined by ``sep`` in lines of at most ``room`` cells, a line broken between
    pieces (within one only when it alone is too long)."""
    lines: list[Text] = []
    line = Text()
    for piece in pieces:
        if line.plain and cell_len(line.plain) + len(sep) + cell_len(piece.plain) <= room:
            line.append(sep, style="dim")
            line.append_text(piece)
            continue
        if line.plain:
            lines.append(line)
        *full, line = wrap_words(piece, max(1, room))
        lines.extend(full)
        line = line.copy()
    if line.plain or not lines:
        lines.append(line)
    return lines


@dataclass
class Row:
    """One row of the panel: a label, its value in pieces, and how long it stays when room
    is short (0: always; higher leaves sooner)."""

    label: str
    pieces: list[Text]
    keep: int = 0
    sep: str = "  "
    aside: bool = False  # a continuation of the row above, indented instead of labelled


def rows_of(s: SolveState, compact: bool) -> list[Row]:
    """The panel's rows for ``s``, in order."""
    t = Text
    parts = list(s.model_parts)
    if compact and len(parts) > 2:  # recurrent or not last: the rest packs in fewer lines
        parts = parts[:2] + parts[3:] + parts[2:3]
    rows = [Row("model", [t(s.model, style="bold")]),
            Row("", [t(p, style="dim") for p in parts], 1, DOT, aside=True),
            Row("instance", [t(p) for p in s.instance_line.split(DOT) if p], 1, DOT),
            Row("", [], 9)]
    if s.loading:
        return rows + [Row("", [t(s.loading, style="italic")])]
    play = t("▶ playing" if s.playing else "‖ paused", style="bold" if s.playing else "")
    thinking = t("thinking…", style="italic yellow")
    if compact:
        rows.append(Row("iteration", [t(f"{s.iteration}", style="bold"),
                                      t(f"/ {s.limit}", style="dim"),
                                      t(play.plain[0], style=play.style),
                                      thinking if s.waiting else t(s.speed, style="dim")], 0, " "))
    else:
        rows.append(Row("iteration", [t(f"{s.iteration}", style="bold"),
                                      t(f"/ {s.limit}", style="dim")], 0, " "))
        rows.append(Row("", [play, t(s.speed, style="dim")] + ([thinking] if s.waiting else []),
                        2))
    rows.append(Row("answer", verdict(s.figures, s.first_correct, s.verify_name, s.final)))
    first = (t(f"{'' if compact else 'at '}iteration {s.first_correct}", style="bold cyan")
             if s.first_correct is not None else t("—", style="dim"))
    rows += [Row("first ✓" if compact else "first correct", [first], 1), Row("", [], 9)]
    f = s.figures
    names = ("confidence", "changed", "‖Δthought‖", "moving")
    keeps = (3, 4, 3, 5)
    if f is not None and f.diverged_at is not None:
        values = [t("— (overflowed)", style="red")] * 4
    elif f is not None:
        values = [t(f"{f.mean_confidence:.3f}"), t(f"{100 * f.changed:.2f}% of outputs"),
                  t(f"{f.delta_thought:.2e} (relative)"), t(f"{100 * f.moving:.1f}% of the thought")]
    else:
        values = [t("—", style="dim")] * 4
    rows += [Row(n, [v], k) for n, v, k in zip(names, values, keeps)]
    rows += [Row("", [], 9),
             Row("view", [t("solution shown (a)" if s.answer_shown else "prediction only (a)")], 6)]
    if s.note:
        rows.append(Row("", [t(s.note, style="italic")], 2))
    return rows


def layout(rows: list[Row], width: int, height: int | None, compact: bool) -> Text:
    """The rows as text ``width`` cells wide; with ``height``, the least important rows
    (highest ``keep``, the lowest first among equals) dropped until they fit."""
    label_width = 11 if compact else 14
    cells = []
    for row in rows:
        if row.aside:
            room, lead = width - 2, [Text("  ")]
        else:
            room, lead = width - label_width, [Text(f"{row.label:<{label_width}}", style="dim")]
        lines = pack(row.pieces, max(1, room), row.sep) if row.pieces else [Text()]
        cells.append([Text.assemble(*(lead if i == 0 else [Text(" " * cell_len(lead[0].plain))]),
                                    line) for i, line in enumerate(lines)])
    kept = list(range(len(rows)))
    if height is not None:
        while sum(len(cells[i]) for i in kept) > height:
            droppable = [i for i in kept if rows[i].keep > 0]
            if not droppable:
                break
            kept.remove(max(droppable, key=lambda i: (rows[i].keep, i)))
    while kept and not rows[kept[-1]].pieces:  # no blank rows at the end
        kept.pop()
    out = Text()
    for n, i in enumerate(kept):
        for k, line in enumerate(cells[i]):
            if n or k:
                out.append("\n")
            out.append_text(line)
    return out


class SolveStatus(Widget):
    """Renders its ``state`` (a :class:`SolveState`, bound to the solve view's computed
    ``state``) as label/value rows laid out for the panel's size (:func:`layout`). Its lines
    are cut into strips directly, so a per-frame update repaints the rows that changed,
    cheaply."""

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

    def build(self, s: SolveState | None = None) -> Text:
        """The panel's text for ``s`` (its state) at its present size."""
        width, height = self.content_size.width, self.content_size.height
        if width <= 0:
            width, height = 44, 0
        compact = width < COMPACT_BELOW
        return layout(rows_of(self.state if s is None else s, compact), width, height or None,
                      compact)

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

    def on_resize(self) -> None:
        self._text = self.build()
        self._strips = None
        self.refresh()

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
