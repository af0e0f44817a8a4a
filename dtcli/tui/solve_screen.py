"""The solve view: watch the model think about one instance, iteration by iteration."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import get_current_worker

from dtcli.contracts.errors import DtError
from dtcli.tui import messages as msg
from dtcli.tui.benchmark import PaintBenchmark
from dtcli.tui.curve_chart import CurveChart
from dtcli.tui.frames import FrameBuffer, produce
from dtcli.tui.instance_view import InstanceView
from dtcli.tui.solve_bindings import DEFAULT_SPEED, SOLVE_BINDINGS, SPEEDS
from dtcli.tui.status import SolveState, SolveStatus
from dtcli.tui.workers import default_iterations, step_difficulty


def _error_text(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DtError) else f"{type(exc).__name__}: {exc}"


class SolveScreen(Screen):
    """The instance, a status panel and live curves; the engine runs ahead in a thread."""

    BINDINGS = SOLVE_BINDINGS

    def __init__(self, *, autoplay: bool = True, benchmark: int | None = None) -> None:
        super().__init__()
        self.autoplay = autoplay and not benchmark
        self.benchmark = benchmark
        self.session = 0
        self.buffer: FrameBuffer | None = None
        self.inputs = self.target = None
        self.difficulty: Any = None
        self.seed = 0
        self.base_limit = self.limit = 0
        self.playing = False
        self.speed_index = DEFAULT_SPEED
        self.pending_steps = 0
        self.show_answer = False
        self.waiting = False
        self.note = ""
        self._resume_playing = False
        self._model_line = ""
        self._timer = None
        self._bench = PaintBenchmark(self, benchmark) if benchmark else None

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="solve-body"):
            with ScrollableContainer(id="instance-pane"):
                yield InstanceView(id="instance")
            with Vertical(id="side"):
                yield SolveStatus(id="status")
                yield CurveChart("confidence · changed", ylim=(0, 1), max_hz=3,
                            id="curve-confidence")
                yield CurveChart("‖Δthought‖ relative (log)", log=True, xlabel="iteration",
                            max_hz=3, id="curve-delta")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self._timer = self.set_interval(1 / SPEEDS[self.speed_index], self._tick, pause=True)
        self.refresh_status(loading=f"loading {self.app.model_ref}…")
        self.load(self.app.model_ref, initial=True)

    @property
    def view(self) -> InstanceView:
        return self.query_one("#instance", InstanceView)

    @property
    def status(self) -> SolveStatus:
        return self.query_one("#status", SolveStatus)

    @property
    def cursor(self) -> int:
        return self.buffer.cursor if self.buffer is not None else -1

    @property
    def iteration(self) -> int:
        frame = self.current_frame
        return frame.iteration if frame is not None else 0

    @property
    def current_frame(self) -> Any:
        return self.buffer.frame(self.cursor) if self.buffer is not None else None

    # -- model loading ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def load(self, ref: str, initial: bool) -> None:
        app = self.app
        try:
            from dtcli.engine.device import configure_threads, resolve_device
            from dtcli.engine.model import load_model

            configure_threads(app.threads)
            loaded = load_model(ref, device=resolve_device(app.device))
            problem = loaded.problem
            wanted = app.difficulty if initial and app.difficulty is not None else None
            difficulty = problem.parse_difficulty(wanted or problem.default_test_difficulty)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            self.post_message(msg.ModelFailed(ref, _error_text(exc), initial))
            return
        if not get_current_worker().is_cancelled:  # another model was chosen meanwhile
            self.post_message(msg.ModelLoaded(loaded, ref, difficulty))

    def on_model_loaded(self, m: msg.ModelLoaded) -> None:
        app = self.app
        app.set_model(m.loaded, m.ref)
        p, cfg, net = m.loaded.problem, m.loaded.config, m.loaded.net
        kind = "recurrent" if net.recurrent else "feed-forward"
        trained = cfg.train_difficulty or p.default_train_difficulty
        self._model_line = (f"{cfg.arch} · {kind} · {net.num_parameters():,} params\n"
                            f"trained on {p.name} {trained}, {cfg.max_iters} iterations")
        self.difficulty = m.difficulty
        self.seed = app.seed
        self.new_session(play=self.autoplay if self.session == 0 else self.playing)

    def on_model_failed(self, m: msg.ModelFailed) -> None:
        if m.initial:
            self.app.fail(m.error)
        else:
            self.notify(m.error, title=f"cannot open {m.ref}", severity="error")
            self.refresh_status()

    # -- sessions: one instance being solved ------------------------------------------------

    def new_session(self, play: bool | None = None) -> None:
        loaded = self.app.loaded
        self.session += 1
        self.buffer = FrameBuffer()
        self.inputs = self.target = None
        self.pending_steps = 0
        self.note = ""
        self.base_limit = self.benchmark or self.app.iters or default_iterations(
            loaded.net, loaded.max_iters)
        self.limit = self.base_limit
        self.set_playing(bool(play) if play is not None else self.playing)
        self.app.sub_title = f"{self.app.model_name} · {loaded.problem.name} " \
                             f"{loaded.problem.describe_difficulty(self.difficulty)}"
        self.refresh_status(loading="drawing a fresh instance…")
        self.run_engine(self.session, self.buffer, loaded, self.difficulty, self.seed)

    @work(thread=True, exclusive=True, group="solve")
    def run_engine(self, session: int, buffer: FrameBuffer, loaded: Any, difficulty: Any,
                   seed: int) -> None:
        from dtcli.engine.solve import solve

        worker = get_current_worker()
        try:
            xs, ys = loaded.problem.dataset("test", difficulty, 1, seed)
            x, y = xs[0], ys[0]
            self.post_message(msg.InstanceReady(session, x, y))
            iters = loaded.net.max_depth or 10**9  # recurrent: as long as the view asks
            frames = solve(loaded.net, loaded.problem, x, iters, target=y)
            produce(buffer, frames, lambda: worker.is_cancelled,
                    lambda n, done: self.post_message(msg.FrameComputed(session, n, done)))
        except Exception as exc:  # noqa: BLE001
            self.post_message(msg.SolveFailed(session, _error_text(exc)))

    def on_instance_ready(self, m: msg.InstanceReady) -> None:
        if m.session != self.session:
            return
        self.inputs, self.target = m.inputs, m.target
        self.show_frame(resized=True)

    def on_frame_computed(self, m: msg.FrameComputed) -> None:
        if m.session != self.session or self.buffer is None:
            return
        if self._bench is not None:
            self._bench.step()
            return
        if self.pending_steps:
            target = self.cursor + self.pending_steps
            reach = min(target, self.buffer.count - 1)
            self.pending_steps = target - reach
            self.goto(reach, now=not self.pending_steps)
        elif self.waiting and self.playing:
            self._tick()
        elif m.finished:
            self.refresh_status()

    def on_solve_failed(self, m: msg.SolveFailed) -> None:
        if m.session != self.session:
            return
        self.set_playing(False)
        if self.benchmark:
            self.app.fail(m.error)
            return
        self.notify(m.error, title="solve failed", severity="error")
        self.note = m.error
        self.refresh_status()

    # -- playback --------------------------------------------------------------------------

    def set_playing(self, playing: bool) -> None:
        self.playing = playing
        if self._timer is not None:
            self._timer.resume() if playing else self._timer.pause()
        if not playing:
            self.waiting = False

    def _tick(self) -> None:
        if not self.playing or self.buffer is None or self.inputs is None:
            return
        nxt = self.cursor + 1
        if nxt >= self.limit:
            self.set_playing(False)
            self.note = (f"thought for {self.limit} iterations: space thinks longer"
                         if self.app.loaded.net.max_depth is None else
                         "a feed-forward net cannot think longer than its depth")
            self.refresh_status()
            self.flush_curves()
        elif nxt < self.buffer.count:
            self.waiting = False
            self.goto(nxt)
        elif self.buffer.finished:
            self.set_playing(False)
            self.refresh_status()
        elif not self.waiting:
            self.waiting = True
            self.refresh_status()

    def goto(self, index: int, now: bool = False) -> None:
        if self.buffer is None:
            return
        self.buffer.move(index)
        self.show_frame(now=now)

    def show_frame(self, resized: bool = False, now: bool = True) -> None:
        """Draw the frame under the cursor (the bare instance before iteration 1)."""
        if self.inputs is None or self.buffer is None:
            return
        problem = self.app.loaded.problem
        frame = self.current_frame
        target = self.target if self.show_answer else None
        fit = self.instance_room()
        if frame is None:
            renderable = problem.draw(self.inputs, None, target, None, None, fit=fit)
        else:
            renderable = problem.draw(self.inputs, frame.prediction, target, frame.confidence,
                                      frame.probabilities, fit=fit)
        self.view.show(renderable, (self.session, self.cursor, self.show_answer), resized)
        self.refresh_status()
        self.update_curves(now=now)

    def instance_room(self) -> tuple[int, int] | None:
        """The instance pane's inner size: an instance is drawn as large as fits."""
        size = self.query_one("#instance-pane").content_size
        return (size.width, size.height) if size.width and size.height else None

    def on_resize(self) -> None:
        self.call_after_refresh(self.show_frame, True)

    def first_correct(self) -> int | None:
        b = self.buffer
        if b is None or b.first_correct is None or b.first_correct > self.cursor:
            return None
        return b.iterations[b.first_correct]

    def refresh_status(self, loading: str | None = None) -> None:
        app = self.app
        loaded = getattr(app, "loaded", None)
        state = SolveState(model=app.model_name or str(app.model_ref), loading=loading)
        if loaded is not None:
            state.model_line = self._model_line
            state.instance_line = (f"{loaded.problem.describe_difficulty(self.difficulty)} · "
                                   f"seed {self.seed}")
            state.verify_name = loaded.problem.verify_name
        state.iteration = self.iteration
        state.limit = self.limit
        state.playing = self.playing
        state.speed = f"{SPEEDS[self.speed_index]} it/s"
        state.waiting = self.waiting
        state.frame = self.current_frame
        state.first_correct = self.first_correct()
        state.answer_shown = self.show_answer
        state.note = self.note
        self.status.show(state, (self.session, self.cursor))

    def update_curves(self, now: bool = False) -> None:
        if self.buffer is None:
            return
        s = self.buffer.series(self.cursor)
        its = s["iterations"]
        first = self.first_correct()
        vlines = [(first, "green")] if first is not None else []
        self.query_one("#curve-confidence", CurveChart).update_series(
            {"confidence": (its, s["confidence"], "cyan"),
             "changed": (its, s["changed"], "orange")}, vlines=vlines, now=now)
        self.query_one("#curve-delta", CurveChart).update_series(
            {"‖Δthought‖": (its, s["delta"], "magenta")}, vlines=vlines, now=now)

    def flush_curves(self) -> None:
        self.update_curves(now=True)

    # -- actions ---------------------------------------------------------------------------

    def action_toggle_play(self) -> None:
        if self.buffer is None or self.benchmark:
            return
        if self.playing:
            self.set_playing(False)
            self.refresh_status()
            self.flush_curves()
            return
        if self.cursor + 1 >= self.limit:
            if self.app.loaded.net.max_depth is None:
                self.limit += self.base_limit
            else:
                self.buffer.move(-1)  # a feed-forward net: play it again from the start
        elif self.buffer.finished and self.cursor + 1 >= self.buffer.count:
            self.buffer.move(-1)
        self.note = ""
        self.set_playing(True)
        self.refresh_status()

    def action_step(self, delta: int) -> None:
        if self.buffer is None or self.inputs is None or self.benchmark:
            return
        if self.playing:
            self.set_playing(False)
        target = self.cursor + delta
        if delta < 0:
            self.pending_steps = 0
            self.goto(max(target, -1), now=True)
            return
        if target >= self.limit:
            if self.app.loaded.net.max_depth is not None:
                self.app.bell()
                return
            self.limit = target + 1
        if target < self.buffer.count:
            self.goto(target, now=True)
        elif self.buffer.finished:
            self.app.bell()
        else:
            self.pending_steps = target - self.cursor
            self.refresh_status()

    def action_speed(self, delta: int) -> None:
        self.speed_index = max(0, min(len(SPEEDS) - 1, self.speed_index + delta))
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(1 / SPEEDS[self.speed_index], self._tick,
                                        pause=not self.playing)
        self.refresh_status()

    def action_new_instance(self) -> None:
        if self.app.loaded is None or self.benchmark:
            return
        self.seed += 1
        self.new_session()

    def action_difficulty(self, direction: int) -> None:
        loaded = self.app.loaded
        if loaded is None or self.benchmark:
            return
        nxt = step_difficulty(loaded.problem, self.difficulty, direction)
        if nxt is None:
            self.notify(f"no {'bigger' if direction > 0 else 'smaller'} "
                        f"{loaded.problem.difficulty_unit} to step to from {self.difficulty}",
                        severity="warning")
            return
        self.difficulty = nxt
        self.new_session()

    def action_toggle_answer(self) -> None:
        self.show_answer = not self.show_answer
        self.show_frame()

    def action_choose_model(self) -> None:
        from dtcli.tui.model_picker import ModelPicker

        def chosen(ref: str | None) -> None:
            if ref:
                self.refresh_status(loading=f"loading {ref}…")
                self.load(ref, initial=False)

        self.app.push_screen(ModelPicker(self.app.runs_root, current=str(self.app.model_ref)),
                             chosen)

    # -- other screens take the stage: pause meanwhile -------------------------------------

    def on_screen_suspend(self) -> None:
        self._resume_playing = self.playing
        self.set_playing(False)

    def on_screen_resume(self) -> None:
        if self._resume_playing:
            self.set_playing(True)
        self.refresh_status() if self.app.loaded is not None else None
