"""Training: pick problem, architecture and preset, start a run, watch loss and accuracy."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, ProgressBar, RichLog, Select, Static
from textual.worker import get_current_worker

from dtcli.contracts.errors import DtError, error_text
from dtcli.tui import messages as msg
from dtcli.tui.curve_chart import CurveChart
from dtcli.tui.layout import compact_forms
from dtcli.tui.workers import TrainBridge, build_train_config, format_settings, parse_settings


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}%"


class TrainingScreen(Screen):
    """Starts a run in a thread worker; cancellation is cooperative and leaves the run
    directory resumable (``dt train --resume RUN``)."""

    BINDINGS = [  # help and quit first: an 80-column footer shows the first bindings
        Binding("question_mark", "app.help", "help", key_display="?"),
        Binding("q", "app.quit", "quit"),
        Binding("escape", "app.pop_screen", "back"),
        Binding("s", "start", "start"),
        Binding("c", "cancel", "cancel"),
    ]

    #: a run is going: start is disabled, cancel enabled, and the app asks twice on quit
    running: var[bool] = var(False, init=False)

    def __init__(self, *, registry: Any = None, problem: str | None = None,
                 arch: str | None = None, preset: str | None = None,
                 overrides: dict[str, Any] | None = None, runs_root: str | Path = "runs",
                 threads: int | None = None, train_fn: Callable[..., Any] | None = None) -> None:
        """``registry`` offers the problems and architectures (default: the plugins'),
        ``problem``/``arch``/``preset`` are the initial choices, ``threads`` caps torch's
        threads unless the settings say otherwise. ``train_fn`` runs the training (default
        :func:`dtcli.engine.train.train`, called as ``train_fn(cfg, run_dir, listener=...,
        cancel=..., info=...)``); tests pass one that holds the engine at a known point."""
        super().__init__()
        if registry is None:
            from dtcli.plugins import get_registry

            registry = get_registry()
        self.registry = registry
        self.train_fn = train_fn
        self.initial = {"problem": problem, "arch": arch, "preset": preset}
        self.overrides = dict(overrides or {})
        self.noun = "positions"  # what Problem.position_correct counts, from the run's start
        self.runs_root = Path(runs_root)
        self.threads = threads
        self.session = 0
        self.run_dir: Path | None = None
        self.records: list[dict[str, Any]] = []
        self.losses: list[tuple[float, float]] = []
        self._cancel = threading.Event()

    # -- layout and the three selectors ----------------------------------------------------

    def compose(self) -> ComposeResult:
        problems = sorted(self.registry.problems)
        wanted = self.initial["problem"]
        problem = wanted if wanted in problems else ("mazes" if "mazes" in problems else problems[0])
        yield Header()
        with Horizontal(id="train-form", classes="form"):
            with Vertical(classes="field problem"):
                yield Label("problem")
                yield Select([(p, p) for p in problems], id="train-problem", allow_blank=False,
                             value=problem)
            with Vertical(classes="field arch"):
                yield Label("architecture")
                yield Select([], id="train-arch", allow_blank=True)
            with Vertical(classes="field"):
                yield Label("preset")
                yield Select([], id="train-preset", allow_blank=True)
            with Vertical(classes="field wide"):
                yield Label("settings (NAME=VALUE …)")
                yield Input(format_settings(self.overrides), id="train-settings",
                            placeholder="width=16 epochs=3 train_count=2000")
            yield Button("start", id="train-start", variant="primary")
            yield Button("cancel", id="train-cancel", variant="error", disabled=True)
        yield Static(id="train-run")
        with Horizontal(id="train-progress-row"):
            yield Label("idle", id="train-phase")
            yield ProgressBar(id="train-progress", show_eta=False)
        with Horizontal(id="train-plots"):
            yield CurveChart("loss", xlabel="epoch", id="train-loss")
            yield CurveChart("accuracy (%)", xlabel="epoch", ylim=(0, 100), id="train-acc")
        yield RichLog(id="train-log", wrap=True, markup=False, max_lines=500)
        yield Footer(show_command_palette=False)

    def on_screen_resume(self) -> None:
        compact_forms(self, self.app.size.height)

    def on_resize(self, event: Any) -> None:
        compact_forms(self, event.size.height)

    def on_mount(self) -> None:
        self.fill_choices(self.query_one("#train-problem", Select).value)
        self.query_one("#train-start", Button).focus()  # s works at once; tab reaches the rest
        self.query_one("#train-progress", ProgressBar).update(total=1, progress=0)
        self.query_one("#train-log", RichLog).write(
            "each finished epoch is logged here; the run directory keeps config.json, "
            "metrics.jsonl, best.safetensors and last.pt")
        self.show_run(Text("choose a problem, an architecture and a preset, then s starts a "
                           f"run in {self.runs_root}/", style="dim italic"))

    def fill_choices(self, problem_name: Any) -> None:
        reg = self.registry
        try:
            problem = reg.problem(str(problem_name))
        except Exception:  # noqa: BLE001 - a problem that cannot be built offers no choices
            problem = None
        archs = sorted(a for a, arch in reg.archs.items()
                       if problem is not None and arch.supports(problem) is None)
        presets = list(problem.presets) if problem is not None else []
        arch_select = self.query_one("#train-arch", Select)
        preset_select = self.query_one("#train-preset", Select)
        arch_select.set_options([(a, a) for a in archs])
        preset_select.set_options([(p, p) for p in presets])
        want_arch = self.initial["arch"] or "dt-recall"
        if archs:
            arch_select.value = want_arch if want_arch in archs else archs[0]
        want_preset = self.initial["preset"] or "quick"
        if presets:
            preset_select.value = want_preset if want_preset in presets else presets[0]

    @on(Select.Changed, "#train-problem")
    def problem_changed(self, event: Select.Changed) -> None:
        self.fill_choices(event.value)

    def show_run(self, text: Text | str) -> None:
        self.query_one("#train-run", Static).update(text)

    def watch_running(self, running: bool) -> None:
        start = self.query_one("#train-start", Button)
        cancel = self.query_one("#train-cancel", Button)
        start.disabled, cancel.disabled = running, not running
        # while a run goes, c (or enter) cancels it; afterwards s (or enter) starts the next
        (cancel if running else start).focus()
        self.post_message(msg.TrainingRunning(running))

    # -- start and cancel ------------------------------------------------------------------

    @on(Button.Pressed, "#train-start")
    @on(Input.Submitted, "#train-settings")
    def action_start(self) -> None:
        from dtcli import runs

        if self.running:
            self.notify("a run is in progress; c cancels it", severity="warning")
            return
        value = lambda i: self.query_one(i, Select).value  # noqa: E731
        problem, arch, preset = value("#train-problem"), value("#train-arch"), value("#train-preset")
        if arch is Select.NULL:
            self.notify(f"no architecture can solve {problem}", severity="error")
            return
        preset = None if preset is Select.NULL else str(preset)
        try:
            overrides = parse_settings(self.query_one("#train-settings", Input).value)
            cfg = build_train_config(str(problem), str(arch), preset, overrides, self.threads)
        except DtError as exc:
            self.notify(str(exc), title="cannot start", severity="error")
            return
        self.run_dir = runs.new_run_dir(self.runs_root, str(problem), str(arch))
        self.session += 1
        self._cancel = threading.Event()
        self.running = True
        self.records, self.losses = [], []
        self.query_one("#train-log", RichLog).clear()
        self.query_one("#train-loss", CurveChart).clear()
        self.query_one("#train-acc", CurveChart).clear()
        self.show_run(Text.assemble(("run ", "dim"), (str(self.run_dir), "bold"),
                                    (f"   {problem} · {arch} · preset {cfg.preset} · "
                                     f"{cfg.epochs} epochs", "dim")))
        self.set_phase("preparing data and model…")
        self.run_training(self.session, cfg, self.run_dir, self._cancel)

    @on(Button.Pressed, "#train-cancel")
    def action_cancel(self) -> None:
        if self.running and not self._cancel.is_set():
            self._cancel.set()
            self.set_phase("cancelling after this batch…")

    @work(thread=True, exclusive=True, group="train")
    def run_training(self, session: int, cfg: Any, run_dir: Path,
                     cancel_event: threading.Event) -> None:
        from dtcli.engine.train import train

        worker = get_current_worker()
        bridge = TrainBridge(self.post_message, session)
        try:
            result = (self.train_fn or train)(cfg, run_dir, listener=bridge,
                           cancel=lambda: worker.is_cancelled or cancel_event.is_set(),
                           info={"command": "dt tui (training screen)"})
        except Exception as exc:  # noqa: BLE001
            error = error_text(exc)
            self.post_message(msg.TrainEnded(session, "failed", str(run_dir), {}, error))
            return
        summary = {"epochs": result.epochs_done, "best_val": result.best_val,
                   "best_epoch": result.best_epoch, "seconds": result.seconds}
        self.post_message(msg.TrainEnded(session, result.status, str(run_dir), summary))

    # -- events from the training thread ---------------------------------------------------

    def set_phase(self, text: str, done: int | None = None, total: int | None = None) -> None:
        self.query_one("#train-phase", Label).update(text)
        if total is not None:  # total 0: work of unknown length (an animated bar)
            self.query_one("#train-progress", ProgressBar).update(total=total or None,
                                                                  progress=done or 0)

    def on_train_started(self, m: msg.TrainStarted) -> None:
        if m.session != self.session:
            return
        i = m.info
        self.noun = i.get("position_noun") or "positions"
        self.query_one("#train-log", RichLog).write(
            f"device {i['device']} · {i['model']['parameters']:,} parameters · effective depth "
            f"{i['model']['effective_depth']} · train/val {i['train_size']}/{i['val_size']} · "
            f"{i['steps_per_epoch']} steps per epoch")

    def on_train_phase(self, m: msg.TrainPhase) -> None:
        if m.session == self.session and self.running:
            self.set_phase(m.text, m.done, m.total)

    def on_train_batch(self, m: msg.TrainBatch) -> None:
        if m.session != self.session or not self.running:
            return
        if not self._cancel.is_set():
            self.set_phase(f"epoch {m.epoch}/{m.epochs} · step {m.step}/{m.steps} · "
                           f"loss {m.loss:.4f}", m.step, m.steps)
        self.losses = m.losses
        self.draw()

    def on_train_epoch(self, m: msg.TrainEpoch) -> None:
        if m.session != self.session:
            return
        r = m.record
        self.records.append(r)
        self.query_one("#train-log", RichLog).write(
            f"epoch {r['epoch']:>3}  loss {r['train_loss']:.4f}  train {_pct(r['train_acc'])}"
            + ("" if r.get("train_position_acc") is None else
               f" ({r['train_position_acc']:.1f}% {self.noun})")
            + f"  val {_pct(r.get('val_acc'))}  lr {r['lr']:.1e}  {r.get('seconds', 0):.1f}s")
        self.draw(now=True)

    def draw(self, now: bool = False) -> None:
        epochs = [r["epoch"] for r in self.records]
        loss = {"batch loss": ([x for x, _ in self.losses], [y for _, y in self.losses], "gray"),
                "epoch loss": (epochs, [r["train_loss"] for r in self.records], "cyan")}
        self.query_one("#train-loss", CurveChart).update_series(loss, now=now)
        val = [(r["epoch"], r["val_acc"]) for r in self.records if r.get("val_acc") is not None]
        acc = {"train": (epochs, [r["train_acc"] for r in self.records], "orange"),
               "val": ([e for e, _ in val], [v for _, v in val], "green")}
        part = [(r["epoch"], r["train_position_acc"]) for r in self.records
                if r.get("train_position_acc") is not None]
        if part:  # learning shows here long before whole instances come right
            acc[f"train, {self.noun}"] = (
                [e for e, _ in part], [v for _, v in part], "yellow")
        self.query_one("#train-acc", CurveChart).update_series(acc, now=now)

    def on_train_ended(self, m: msg.TrainEnded) -> None:
        if m.session != self.session:
            return
        self.running = False
        self.draw(now=True)
        s = m.summary
        if m.error:
            self.set_phase("failed")
            line = Text.assemble(("failed: ", "bold red"), m.error, f"   ({m.run_dir})")
        elif m.status == "cancelled":
            self.set_phase(f"cancelled after {s['epochs']} finished epochs")
            line = Text.assemble(("cancelled", "bold yellow"), ": ", (m.run_dir, "bold"),
                                 " is resumable: ", (f"dt train --resume {m.run_dir}", "cyan"))
        else:
            self.set_phase(f"{m.status} in {s['seconds']:.1f} s")
            line = Text.assemble((m.status, "bold green"), ": best validation ",
                                 _pct(s["best_val"]), f" at epoch {s['best_epoch']}  → ",
                                 (m.run_dir, "bold"), ("   (m on the solve view opens it)", "dim"))
        self.show_run(line)
        self.query_one("#train-log", RichLog).write(line)
