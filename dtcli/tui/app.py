"""``dt tui``: the Textual application.

The app owns the loaded model and the screens: the solve view (the main screen), the
extrapolation and training screens (installed once, so a running evaluation or training keeps
going while the user looks elsewhere), the model picker and help. All engine work runs in
thread workers; torch's threads are capped (``threads``) so the UI thread is never starved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from dtcli.tui.solve_screen import SolveScreen

#: below this many columns (lines) the stylesheet's -narrow (-short) rules apply
NARROW, SHORT = 100, 32


class DtApp(App):
    """Watch, evaluate and train deep thinking networks."""

    CSS_PATH = "app.tcss"
    TITLE = "dt"
    SUB_TITLE = "deep thinking"
    BINDINGS = [Binding("ctrl+q", "quit", "quit", show=False, priority=True)]

    def __init__(self, model: str | None = None, *, difficulty: str | None = None, seed: int = 0,
                 iters: int | None = None, device: str = "auto", threads: int = 1,
                 autoplay: bool = True, benchmark: int | None = None,
                 runs_root: str | Path = "runs", training: dict[str, Any] | None = None,
                 theme: str = "nord", screenshot_dir: str | Path = ".") -> None:
        super().__init__()
        from dtcli.zoo import DEFAULT_MODEL

        self.model_ref: str = str(model or DEFAULT_MODEL)
        self.difficulty = difficulty
        self.seed = seed
        self.iters = iters
        self.device = device
        self.threads = threads
        self.autoplay = autoplay
        self.benchmark = benchmark
        self.runs_root = Path(runs_root)
        self.training_options = dict(training or {})
        self.screenshot_dir = Path(screenshot_dir)
        self.initial_theme = theme
        self.loaded: Any = None
        self.error: str | None = None
        self.bench_report: dict[str, Any] | None = None
        self._quit_armed = False

    def on_resize(self, event: Any) -> None:
        """Classes the stylesheet lays screens out by: narrow under 100 columns (80x24 must
        keep every control), short under 32 lines."""
        self.set_class(event.size.width < NARROW, "-narrow")
        self.set_class(event.size.height < SHORT, "-short")
        for screen in self.screen_stack:
            self.compact_forms(screen)

    def compact_forms(self, screen: Any) -> None:
        """On short terminals the form controls drop their borders (one line each instead of
        three), so that the curves below keep enough rows to be read."""
        short = self.size.height < SHORT
        for widget in screen.query(".form Input, .form Select, .form Button"):
            widget.compact = short

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
        self.set_class(self.size.width < NARROW, "-narrow")
        self.set_class(self.size.height < SHORT, "-short")
        self.theme = self.initial_theme
        self.solve_screen = SolveScreen(autoplay=self.autoplay, benchmark=self.benchmark)
        self.push_screen(self.solve_screen)

    @property
    def model_name(self) -> str:
        ref = Path(self.model_ref)
        return ref.name if ref.exists() else self.model_ref

    def set_model(self, loaded: Any, ref: str) -> None:
        self.loaded = loaded
        self.model_ref = ref
        if self.is_screen_installed("extrapolation"):
            self.get_screen("extrapolation").model_changed()

    async def action_quit(self) -> None:
        """Quit; while a training run is going, ask for a second q first (the run then stops
        after its current batch and stays resumable)."""
        training = self.get_screen("training") if self.is_screen_installed("training") else None
        if training is not None and training.running:
            if not self._quit_armed:
                self._quit_armed = True
                self.notify("a training run is going: press q again to quit (it stops after "
                            "this batch and stays resumable)", severity="warning", timeout=4)
                self.set_timer(4, self._disarm_quit)
                return
            training.action_cancel()
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

        if self.loaded is None:
            self.notify("the model is still loading", severity="warning")
            return
        if not self.is_screen_installed("extrapolation"):
            self.install_screen(ExtrapolationScreen(), "extrapolation")
        self.push_screen("extrapolation")

    def action_training(self) -> None:
        from dtcli.tui.training_screen import TrainingScreen

        if not self.is_screen_installed("training"):
            self.install_screen(TrainingScreen(runs_root=self.runs_root, **self.training_options),
                                "training")
        self.push_screen("training")
