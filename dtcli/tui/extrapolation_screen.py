"""Extrapolation: accuracy vs iteration on many fresh instances, drawn as it streams in."""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, ProgressBar, Select, Static
from textual.worker import get_current_worker

from dtcli.contracts.errors import DtError, error_text
from dtcli.tui import messages as msg
from dtcli.tui.curve_chart import CurveChart
from dtcli.tui.layout import compact_forms
from dtcli.tui.state import Showing
from dtcli.tui.workers import default_iterations

MODES = (("fixed", "fixed"), ("max-conf + fixed", "max-conf"), ("halt after K stable", "halt"))
COLOURS = {"fixed": "cyan", "max-conf": "orange", "halt": "magenta"}  # plotext colours
RICH = {"fixed": "cyan", "max-conf": "dark_orange", "halt": "magenta"}


def curves_of(result: Any, mode: str, patience: int) -> dict[str, list[float]]:
    if mode == "halt":
        return {f"halt K={patience}": result.accuracy("fixed")}
    return {m: result.accuracy(m) for m in result.modes}


class ExtrapolationScreen(Screen):
    """N instances of a chosen difficulty; the curve updates after every batch.

    ``showing`` is what the solve view shows (the app sets it when that changes): the form
    starts from its model and difficulty, and starts afresh when the model changes."""

    BINDINGS = [  # help and quit first: an 80-column footer shows the first bindings
        Binding("question_mark", "app.help", "help", key_display="?"),
        Binding("q", "app.quit", "quit"),
        Binding("escape", "app.pop_screen", "back"),
        Binding("r", "run", "run"),
        Binding("c", "cancel", "cancel"),
    ]

    showing: var[Showing] = var(None, init=False)  # type: ignore[arg-type] - set in __init__

    def __init__(self, showing: Showing, *, difficulty: str | None = None, count: int = 100,
                 iters: str | None = None, mode: str = "max-conf", patience: int = 10,
                 seed: int = 0) -> None:
        super().__init__()
        self.set_reactive(ExtrapolationScreen.showing, showing)
        self.defaults = {"difficulty": difficulty, "count": count, "iters": iters, "mode": mode,
                         "patience": patience}
        self.seed = seed
        self.session = 0
        self.running = False
        self._cancel = threading.Event()
        self.mode = mode
        self.patience = patience

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="ex-form", classes="form"):
            with Vertical(classes="field"):
                yield Label("difficulty")
                yield Input(id="ex-difficulty")
            with Vertical(classes="field"):
                yield Label("instances")
                yield Input(id="ex-count", type="integer")
            with Vertical(classes="field"):
                yield Label("iterations")
                yield Input(id="ex-iters", placeholder="300 or 1:300")
            with Vertical(classes="field wide"):
                yield Label("mode")
                yield Select(MODES, id="ex-mode", allow_blank=False, value=self.defaults["mode"])
            with Vertical(classes="field"):
                yield Label("patience K")
                yield Input(id="ex-patience", type="integer")
            yield Button("run", id="ex-run", variant="primary")
        yield Static(id="ex-info")
        yield ProgressBar(id="ex-progress", show_eta=False)
        yield CurveChart("accuracy (%) vs iteration", ylim=(0, 100), xlabel="iteration", id="ex-curve")
        yield Static(id="ex-summary")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.fill_form()
        self.query_one("#ex-run", Button).focus()  # r and c work at once; tab reaches the fields

    def on_screen_resume(self) -> None:
        compact_forms(self, self.app.size.height)

    def on_resize(self, event: Any) -> None:
        compact_forms(self, event.size.height)

    def watch_showing(self, old: Showing, new: Showing) -> None:
        if new.model is not old.model and self.is_mounted:
            self.fill_form()

    @property
    def loaded(self) -> Any:
        return self.showing.model.loaded

    def fill_form(self) -> None:
        """Fill the form with the model's defaults and clear old results."""
        self.action_cancel()
        loaded = self.loaded
        p = loaded.problem
        d = self.defaults
        difficulty = d["difficulty"] or self.showing.difficulty or p.default_test_difficulty
        limit = default_iterations(loaded.net, loaded.max_iters)
        self.query_one("#ex-difficulty", Input).value = str(difficulty)
        self.query_one("#ex-count", Input).value = str(d["count"])
        self.query_one("#ex-iters", Input).value = d["iters"] or f"1:{limit}"
        self.query_one("#ex-patience", Input).value = str(d["patience"])
        self.query_one("#ex-info", Static).update(Text(
            f"{self.showing.model.name}: {p.name} · {loaded.config.arch} · trained on "
            f"{loaded.config.train_difficulty or p.default_train_difficulty} with "
            f"{loaded.max_iters} iterations", style="dim"))
        self.query_one("#ex-summary", Static).update(
            Text("enter or r runs; the curve fills in as each batch of instances is scored",
                 style="dim italic"))
        self.query_one("#ex-progress", ProgressBar).update(total=1, progress=0)
        self.query_one("#ex-curve", CurveChart).clear()

    # -- running ---------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        from dtcli.engine.extrapolate import parse_iters

        problem = self.loaded.problem
        value = lambda name: self.query_one(f"#ex-{name}", Input).value.strip()  # noqa: E731
        difficulty = problem.parse_difficulty(value("difficulty"))
        try:
            count = int(value("count"))
            patience = int(value("patience") or 10)
        except ValueError:
            raise DtError("instances and patience must be whole numbers") from None
        if count <= 0:
            raise DtError("instances must be positive")
        iters = parse_iters(value("iters") or "300")
        limit = self.loaded.net.max_depth
        if limit is not None and iters[-1] > limit:
            raise DtError(f"this feed-forward net thinks at most {limit} iterations")
        mode = self.query_one("#ex-mode", Select).value
        return {"difficulty": difficulty, "count": count, "iters": iters, "mode": mode,
                "patience": patience}

    @on(Input.Submitted)
    @on(Button.Pressed, "#ex-run")
    def action_run(self) -> None:
        try:
            s = self.settings()
        except DtError as exc:
            self.notify(str(exc), severity="error")
            return
        self.session += 1
        self._cancel = threading.Event()
        self.running = True
        self.mode, self.patience = s["mode"], s["patience"]
        self.query_one("#ex-progress", ProgressBar).update(total=s["count"], progress=0)
        self.query_one("#ex-curve", CurveChart).clear(
            title=f"accuracy (%) vs iteration · {self.loaded.problem.describe_difficulty(s['difficulty'])}")
        self.query_one("#ex-summary", Static).update(Text("generating instances…", style="italic"))
        self.evaluate(self.session, self._cancel, self.loaded, s)

    def action_cancel(self) -> None:
        if self.running:
            self._cancel.set()

    @work(thread=True, exclusive=True, group="extrapolate")
    def evaluate(self, session: int, cancel_event: threading.Event, loaded: Any,
                 s: dict[str, Any]) -> None:
        from dtcli.engine.extrapolate import extrapolate
        from dtcli.engine.halting import extrapolate_halting

        worker = get_current_worker()
        cancel = lambda: worker.is_cancelled or cancel_event.is_set()  # noqa: E731
        mode, patience = s["mode"], s["patience"]
        try:
            x, y = loaded.problem.dataset("test", s["difficulty"], s["count"], self.seed)
            batch = max(1, min(100, -(-s["count"] // 10)))

            def on_batch(done: int, total: int, partial: Any) -> None:
                self.post_message(msg.ExtrapolationProgress(
                    session, done, total, partial.iters, curves_of(partial, mode, patience)))

            common = dict(batch_size=batch, on_batch=on_batch, cancel=cancel,
                          difficulty=s["difficulty"])
            if mode == "halt":
                res = extrapolate_halting(loaded.net, loaded.problem, x, y, s["iters"],
                                          patience=patience, **common)
            else:
                modes = ("fixed",) if mode == "fixed" else ("fixed", "max-conf")
                res = extrapolate(loaded.net, loaded.problem, x, y, s["iters"], modes=modes,
                                  **common)
        except Exception as exc:  # noqa: BLE001
            error = error_text(exc)
            self.post_message(msg.ExtrapolationDone(session, None, {}, False, error))
            return
        self.post_message(msg.ExtrapolationDone(session, res, curves_of(res, mode, patience),
                                                cancel()))

    def draw(self, iters: list[int], curves: dict[str, list[float]], now: bool = False) -> None:
        series = {name: (iters, acc, COLOURS.get(name.split()[0], "cyan"))
                  for name, acc in curves.items()}
        self.query_one("#ex-curve", CurveChart).update_series(series, now=now)

    def on_extrapolation_progress(self, m: msg.ExtrapolationProgress) -> None:
        if m.session != self.session:
            return
        self.query_one("#ex-progress", ProgressBar).update(total=m.total, progress=m.done)
        self.draw(m.iters, m.curves)
        self.query_one("#ex-summary", Static).update(
            Text(f"scored {m.done} of {m.total} instances…", style="italic"))

    def on_extrapolation_done(self, m: msg.ExtrapolationDone) -> None:
        if m.session != self.session:
            return
        self.running = False
        summary = self.query_one("#ex-summary", Static)
        if m.error:
            summary.update(Text(m.error, style="bold red"))
            return
        res = m.result
        self.query_one("#ex-progress", ProgressBar).update(progress=res.total)
        self.draw(res.iters, m.curves, now=True)
        summary.update(self.summary(res, m.curves, m.cancelled))

    def summary(self, res: Any, curves: dict[str, list[float]], cancelled: bool) -> Text:
        text = Text()
        if cancelled:
            text.append(f"cancelled after {res.total} instances  ", style="yellow")
        if not res.total:
            return text
        for name, acc in curves.items():
            best = max(range(len(acc)), key=lambda j: (acc[j], -j))
            text.append(f"{name}", style=f"bold {RICH.get(name.split()[0], 'cyan')}")
            text.append(f": best {acc[best]:.1f}% at iteration {res.iters[best]}, "
                        f"{acc[-1]:.1f}% at {res.iters[-1]}   ")
        extra = res.extra or {}
        if extra.get("mode") == "halt":
            text.append(f"\ncompute saved {100 * extra['compute_saved']:.0f}% · mean halting "
                        f"iteration {extra['mean_halt_iteration']:.1f}")
        text.append(f"\n{res.total} instances, seed {self.seed}", style="dim")
        return text
