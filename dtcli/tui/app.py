"""``dt tui``: the Textual application.

The app owns the screens: the solve view (the main screen), the extrapolation and training
screens (installed once, so a running evaluation or training keeps going while the user looks
elsewhere), the model picker and help. Each screen gets what it needs when it is made (the
options, the model shown, the registry); the screens post what changed up to the app
(:mod:`dtcli.tui.messages`), and the app hands it down. All engine work runs in thread
workers; torch's threads are capped (``threads``) so the UI thread is never starved.

Quitting is immediate: the solve view's engine stops before its next iteration, and ``run``
spares the ending process the interpreter's last garbage collection (a walk over every
object torch and Textual made, most of a second on a busy machine).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.reactive import var

from dtcli.tui import messages as msg
from dtcli.tui.layout import CURVES_BELOW, NARROW, SHORT
from dtcli.tui.solve_screen import SolveScreen
from dtcli.tui.state import Showing, SolveOptions


class DtApp(App):
    """Watch, evaluate and train deep thinking networks."""

    CSS_PATH = "app.tcss"
    TITLE = "dt"
    SUB_TITLE = "deep thinking"
    BINDINGS = [Binding("ctrl+q", "quit", "quit", show=False, priority=True)]

    #: what the solve view shows (posted up by it); the sub-title and the extrapolation
    #: screen follow it
    showing: var[Showing | None] = var(None, init=False)
    #: a training run is going (posted up by the training screen): quitting asks twice
    training_running: var[bool] = var(False, init=False)

    def __init__(self, model: str | None = None, *, difficulty: str | None = None, seed: int = 0,
                 iters: int | None = None, device: str = "auto", threads: int = 1,
                 autoplay: bool = True, benchmark: int | None = None,
                 runs_root: str | Path = "runs", training: dict[str, Any] | None = None,
                 theme: str = "nord", screenshot_dir: str | Path = ".") -> None:
        super().__init__()
        from dtcli.zoo import DEFAULT_MODEL

        self.options = SolveOptions(model=str(model or DEFAULT_MODEL), difficulty=difficulty,
                                    seed=seed, iters=iters, device=device, threads=threads,
                                    autoplay=autoplay, benchmark=benchmark,
                                    runs_root=Path(runs_root))
        self.training_options = dict(training or {})
        self.screenshot_dir = Path(screenshot_dir)
        self.initial_theme = theme
        self.error: str | None = None
        self.bench_report: dict[str, Any] | None = None
        self._quit_armed = False
        self._extrapolation_asked = False  # e pressed while the model loads: open it after

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run the app (``dt tui``): the process ends soon after, so whatever exists then is
        left out of the final garbage collection (``gc.freeze``)."""
        try:
            return super().run(*args, **kwargs)
        finally:
            gc.freeze()

    def on_resize(self, event: Any) -> None:
        """Classes the stylesheet lays screens out by: narrow under 100 columns (80x24 must
        keep every control), short under 32 lines, curves below the instance under 40."""
        self.size_classes(event.size.width, event.size.height)

    def size_classes(self, width: int, height: int) -> None:
        self.set_class(width < NARROW, "-narrow")
        self.set_class(height < SHORT, "-short")
        self.set_class(height < CURVES_BELOW, "-curves-below")

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen in the current directory (or --screenshot-dir) and say
        where: Textual's default, ~/Downloads, may not exist."""
        try:
            where = self.save_screenshot(filename, str(path or self.screenshot_dir))
        except OSError as exc:
            self.notify(f"could not save the screenshot: {exc}", severity="error")
            return
        self.notify(f"screenshot saved to {where}", title="screenshot")

    def on_mount(self) -> None:
        self.size_classes(self.size.width, self.size.height)
        self.theme = self.initial_theme
        self.push_screen(SolveScreen(self.options))

    # -- messages from the screens ---------------------------------------------------------

    def on_showing_changed(self, m: msg.ShowingChanged) -> None:
        self.showing = m.showing

    def watch_showing(self, showing: Showing | None) -> None:
        if showing is None:
            return
        self.sub_title = showing.describe()
        if self.is_screen_installed("extrapolation"):
            self.get_screen("extrapolation").showing = showing
        if self._extrapolation_asked:
            self._extrapolation_asked = False
            self.call_later(self.action_extrapolation)  # not from inside a watcher

    def on_training_running(self, m: msg.TrainingRunning) -> None:
        self.training_running = m.running

    def on_fatal(self, m: msg.Fatal) -> None:
        self.fail(m.error)

    def on_benchmark_done(self, m: msg.BenchmarkDone) -> None:
        self.bench_report = m.report
        self.exit()

    async def action_quit(self) -> None:
        """Quit; while a training run is going, ask for a second q first (the run then stops
        after its current batch and stays resumable)."""
        if self.training_running:
            if not self._quit_armed:
                self._quit_armed = True
                self.notify("a training run is going: press q again to quit (it stops after "
                            "this batch and stays resumable)", severity="warning", timeout=4)
                self.set_timer(4, self._disarm_quit)
                return
            self.get_screen("training").action_cancel()
        for screen in self.screen_stack:
            if isinstance(screen, SolveScreen):
                screen.halt()
        self.exit()

    def _disarm_quit(self) -> None:
        self._quit_armed = False

    def fail(self, error: str) -> None:
        """End the app with an error line (printed by ``dt tui``, exit code 2)."""
        self.error = error
        self.exit(return_code=2)

    # -- screens ---------------------------------------------------------------------------

    def action_help(self) -> None:
        from dtcli.tui.help_screen import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_extrapolation(self) -> None:
        from dtcli.tui.extrapolation_screen import ExtrapolationScreen

        if self.showing is None:  # opened as soon as the model is there
            self._extrapolation_asked = True
            self.notify("the extrapolation screen opens once the model has loaded")
            return
        if not self.is_screen_installed("extrapolation"):
            self.install_screen(ExtrapolationScreen(self.showing), "extrapolation")
        self.push_screen("extrapolation")

    def action_training(self) -> None:
        from dtcli.plugins import get_registry
        from dtcli.tui.training_screen import TrainingScreen

        if not self.is_screen_installed("training"):
            options = dict(self.training_options)
            if not options.get("problem") and self.showing is not None:
                options["problem"] = self.showing.model.loaded.problem.name
            self.install_screen(TrainingScreen(registry=get_registry(),
                                               runs_root=self.options.runs_root,
                                               threads=self.options.threads, **options),
                                "training")
        self.push_screen("training")
