"""Choose a model: the zoo's models and the recent runs under ./runs."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from dtcli.tui.workers import recent_runs, zoo_models


class ModelPicker(ModalScreen[str | None]):
    """Returns the chosen model reference (zoo name or run directory), or None."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, runs_root: Path, current: str | None = None) -> None:
        super().__init__()
        self.runs_root = Path(runs_root)
        self.current = current

    def compose(self) -> ComposeResult:
        options: list[Option | None] = []
        zoo = zoo_models()
        runs = recent_runs(self.runs_root)
        options.append(Option(Text("model zoo", style="bold"), disabled=True))
        options += [self._option(name, desc) for name, desc in zoo] or [
            Option(Text("  (empty)", style="dim"), disabled=True)]
        options.append(Option(Text(f"runs in {self.runs_root}/", style="bold"), disabled=True))
        options += [self._option(run, desc) for run, desc in runs] or [
            Option(Text("  (none with weights yet)", style="dim"), disabled=True)]
        with Vertical(id="picker-box"):
            yield Label("choose a model  [dim](enter opens, escape cancels)[/]", id="picker-title")
            yield OptionList(*options, id="picker-list")

    def on_mount(self) -> None:
        lst = self.query_one(OptionList)
        first = next((i for i, o in enumerate(lst.options) if not o.disabled), None)
        if self.current is not None:
            for i, o in enumerate(lst.options):
                if o.id == self.current:
                    first = i
        lst.highlighted = first

    def _option(self, ref: str, desc: str) -> Option:
        text = Text("  ")
        text.append(Path(ref).name if "/" in ref else ref, style="bold" if ref == self.current else "")
        text.append(f"  {desc}", style="dim")
        return Option(text, id=ref)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
