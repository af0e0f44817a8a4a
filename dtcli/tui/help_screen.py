"""Keys and what the colours mean."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("solve", (
        ("space", "play / pause (at the end: think longer)"),
        ("→  ←", "step forward / back through the recorded iterations"),
        ("+  -", "faster / slower playback"),
        ("n", "a new instance of the same difficulty"),
        ("[  ]", "smaller / bigger difficulty (maze size, bits)"),
        ("a", "show the solution beside the prediction"),
        ("m", "choose a model: the zoo and runs in ./runs"),
        ("e", "extrapolation: accuracy vs iteration on many instances"),
        ("t", "training: start a run and watch its curves"),
        ("?", "this help"),
        ("q", "quit"),
    )),
    ("extrapolation", (
        ("enter  r", "run with the settings above"),
        ("c", "cancel the running evaluation"),
        ("escape", "back to the solve view (a run keeps going)"),
    )),
    ("training", (
        ("s", "start a run with the chosen problem, architecture, preset and settings"),
        ("settings", "any dt train setting as NAME=VALUE: width=16 epochs=3 threads=2 ..."),
        ("c", "cancel cleanly: the run stays resumable with dt train --resume RUN"),
        ("escape", "back to the solve view (training keeps going)"),
    )),
)

LEGEND = (
    "The network thinks in iterations: the same block is applied again and again to its "
    "thought, and after every iteration its answer is read out. A model trained on small "
    "instances solves bigger ones by thinking longer.\n\n"
    "Mazes: the predicted path is shaded by confidence from dim yellow (unsure) to bright "
    "cyan (sure); with the solution shown (a), wrong pixels are magenta and missed ones "
    "orange. The curves follow the playback: mean confidence, the share of outputs that "
    "changed since the previous iteration, and the relative change of the thought "
    "(log scale; it falls as the thought settles). A green line marks the first correct "
    "iteration."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(self.build(), id="help-text")

    @staticmethod
    def build() -> Group:
        parts: list = [Text("dt tui", style="bold"), Text("")]
        for title, keys in KEYS:
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bold cyan", no_wrap=True, min_width=9)
            table.add_column()
            for key, what in keys:
                table.add_row(key, what)
            parts += [Text(title, style="bold underline"), table, Text("")]
        parts.append(Text(LEGEND))
        parts.append(Text("\nescape closes this help", style="dim"))
        return Group(*parts)
