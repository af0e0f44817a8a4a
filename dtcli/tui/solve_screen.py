"""The solve view: watch the model think about one instance, iteration by iteration.

The view state lives in ``var`` attributes (what is shown, the instance, the cursor, playing,
speed, ...). Actions and the engine's messages only set them; the watchers redraw the instance
and the curves, and ``state``, computed from them, is bound to the status panel, so nothing
repaints the panel by hand. The engine runs ahead in a thread worker (:mod:`dtcli.tui.frames`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header
from textual.worker import get_current_worker

from dtcli.contracts.errors import error_text
from dtcli.contracts.instances import Instance
from dtcli.tui import messages as msg
from dtcli.tui.benchmark import PaintBenchmark
from dtcli.tui.curve_chart import CurveChart
from dtcli.tui.frames import FrameBuffer
from dtcli.tui.instance_view import InstanceView
from dtcli.tui.solve_bindings import DEFAULT_SPEED, SOLVE_BINDINGS, SPEEDS
from dtcli.tui.state import Figures, OpenModel, Showing, SolveOptions, SolveState, display_name
from dtcli.tui.status import SolveStatus
from dtcli.tui.workers import default_iterations, open_model, solve_instance, step_difficulty


class SolveScreen(Screen):
    """The instance, a status panel and live curves; the engine runs ahead in a thread."""

    BINDINGS = SOLVE_BINDINGS

    # Watchers touch widgets and the timer, so none runs at initialisation (init=False);
    # the values are set once the screen is mounted.
    model_name: var[str] = var("", init=False)  # shown before the first model is loaded
    showing: var[Showing | None] = var(None, init=False)  # the model and the difficulty
    seed: var[int] = var(0, init=False)  # of the instance
    session: var[int] = var(0, init=False)  # one instance being solved; stale messages drop
    buffer: var[FrameBuffer | None] = var(None, init=False)  # the session's frames
    instance: var[Instance | None] = var(None, init=False)  # None while it is being drawn
    cursor: var[int] = var(-1, init=False)  # the frame shown (-1: the bare instance)
    limit: var[int] = var(0, init=False)  # playback pauses at this iteration
    playing: var[bool] = var(False, init=False)
    speed_index: var[int] = var(DEFAULT_SPEED, init=False)  # into SPEEDS
    waiting: var[bool] = var(False, init=False)  # playing, and the engine is behind
    show_answer: var[bool] = var(False, init=False)
    note: var[str] = var("", init=False)
    busy: var[str | None] = var(None, init=False)  # "loading …", "drawing …": no frame yet
    iteration: var[int] = var(0, init=False)  # computed: the iteration of the frame shown
    state: var[SolveState] = var(SolveState, init=False)  # computed: the status panel

    def __init__(self, options: SolveOptions) -> None:
        super().__init__()
        self.options = options
        self.autoplay = options.autoplay and not options.benchmark
        self.base_limit = 0  # the limit a fresh instance starts with
        self.pending_steps = 0  # steps asked for beyond the frames computed so far
        self._resume_playing = False
        self._timer: Timer | None = None
        self._bench = PaintBenchmark(self, options.benchmark) if options.benchmark else None
        self.set_reactive(SolveScreen.model_name, display_name(options.model))
        self.set_reactive(SolveScreen.seed, options.seed)

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="solve-body"):
            with ScrollableContainer(id="instance-pane"):
                yield InstanceView(id="instance")
            with Vertical(id="side"):
                yield SolveStatus(id="status").data_bind(SolveScreen.state)
                yield CurveChart("confidence · changed · moving", ylim=(0, 1), max_hz=3,
                                 id="curve-confidence")
                yield CurveChart("‖Δthought‖ relative (log)", log=True, xlabel="iteration",
                                 max_hz=3, id="curve-delta")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self._timer = self.set_interval(1 / SPEEDS[self.speed_index], self._tick, pause=True)
        self.busy = f"loading {self.options.model}…"
        self.load(self.options.model, initial=True)

    @property
    def model(self) -> OpenModel | None:
        return self.showing.model if self.showing is not None else None

    @property
    def difficulty(self) -> Any:
        return self.showing.difficulty if self.showing is not None else None

    @property
    def current_frame(self) -> Any:
        return self.buffer.current if self.buffer is not None else None

    def first_correct(self) -> int | None:
        return self.buffer.first_correct_iteration() if self.buffer is not None else None

    # -- computed state --------------------------------------------------------------------

    def compute_iteration(self) -> int:
        frame = self.current_frame
        return frame.iteration if frame is not None else 0

    def compute_state(self) -> SolveState:
        showing = self.showing
        frame = self.current_frame
        model_line = instance_line = ""
        verify_name = "verified"
        if showing is not None:
            problem = showing.model.loaded.problem
            model_line = showing.model.summary
            instance_line = f"{problem.describe_difficulty(showing.difficulty)} · seed {self.seed}"
            verify_name = problem.verify_name
        return SolveState(
            model=self.model_name, model_line=model_line, instance_line=instance_line,
            iteration=frame.iteration if frame is not None else 0, limit=self.limit,
            playing=self.playing, speed=f"{SPEEDS[self.speed_index]} it/s",
            waiting=self.waiting, loading=self.busy, figures=Figures.of(frame),
            first_correct=self.first_correct(), answer_shown=self.show_answer, note=self.note,
            verify_name=verify_name, key=(self.session, self.cursor))

    # -- watchers: the instance and the curves follow the state ----------------------------

    def watch_showing(self, showing: Showing | None) -> None:
        if showing is not None:
            self.post_message(msg.ShowingChanged(showing))

    def watch_instance(self, instance: Instance | None) -> None:
        if instance is not None:
            self.busy = None
            self.redraw()

    def watch_cursor(self) -> None:
        self.show_frame()
        self.update_curves()

    def watch_show_answer(self) -> None:
        self.show_frame()

    def watch_playing(self, playing: bool) -> None:
        if self._timer is not None:
            self._timer.resume() if playing else self._timer.pause()
        if not playing:
            self.waiting = False
            self.update_curves(now=True)  # the curves are drawn at a bounded rate while playing

    def validate_speed_index(self, index: int) -> int:
        return max(0, min(len(SPEEDS) - 1, index))

    def watch_speed_index(self, index: int) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(1 / SPEEDS[index], self._tick, pause=not self.playing)

    # -- model loading ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def load(self, ref: str, initial: bool) -> None:
        o = self.options
        try:
            loaded, difficulty = open_model(ref, o.device, o.threads,
                                            o.difficulty if initial else None)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            self.post_message(msg.ModelFailed(ref, error_text(exc), initial))
            return
        if not get_current_worker().is_cancelled:  # another model was chosen meanwhile
            self.post_message(msg.ModelLoaded(loaded, ref, difficulty))

    def on_model_loaded(self, m: msg.ModelLoaded) -> None:
        model = OpenModel(m.loaded, m.ref, display_name(m.ref))
        self.model_name = model.name
        self.seed = self.options.seed
        self.showing = Showing(model, m.difficulty)
        self.new_session(play=self.autoplay if self.session == 0 else self.playing)

    def on_model_failed(self, m: msg.ModelFailed) -> None:
        if m.initial:
            self.post_message(msg.Fatal(m.error))
        else:
            self.notify(m.error, title=f"cannot open {m.ref}", severity="error")
            self.busy = None

    # -- sessions: one instance being solved ------------------------------------------------

    def new_session(self, play: bool | None = None) -> None:
        showing = self.showing
        assert showing is not None
        loaded = showing.model.loaded
        self.session += 1
        self.pending_steps = 0
        self.instance = None
        self.buffer = FrameBuffer()
        self.cursor = self.buffer.cursor
        self.note = ""
        self.base_limit = self.options.benchmark or self.options.iters or default_iterations(
            loaded.net, loaded.max_iters)
        self.limit = self.base_limit
        if play is not None:
            self.playing = play
        self.busy = "drawing a fresh instance…"
        self.run_engine(self.session, self.buffer, loaded, showing.difficulty, self.seed)

    @work(thread=True, exclusive=True, group="solve")
    def run_engine(self, session: int, buffer: FrameBuffer, loaded: Any, difficulty: Any,
                   seed: int) -> None:
        worker, post = get_current_worker(), self.post_message
        try:
            solve_instance(buffer, loaded, difficulty, seed,
                           on_instance=lambda inst: post(msg.InstanceReady(session, inst)),
                           on_frames=lambda n, done: post(msg.FrameComputed(session, n, done)),
                           is_cancelled=lambda: worker.is_cancelled)
        except Exception as exc:  # noqa: BLE001
            post(msg.SolveFailed(session, error_text(exc)))

    def on_instance_ready(self, m: msg.InstanceReady) -> None:
        if m.session == self.session:
            self.instance = m.instance

    def on_frame_computed(self, m: msg.FrameComputed) -> None:
        if m.session != self.session or self.buffer is None:
            return
        if self._bench is not None:
            self._bench.step()
        elif self.pending_steps:
            target = self.cursor + self.pending_steps
            reach = min(target, self.buffer.count - 1)
            self.pending_steps = target - reach
            self.goto(reach, now=not self.pending_steps)
        elif self.waiting and self.playing:
            self._tick()

    def on_solve_failed(self, m: msg.SolveFailed) -> None:
        if m.session != self.session:
            return
        self.playing = False
        if self.options.benchmark:
            self.post_message(msg.Fatal(m.error))
            return
        self.notify(m.error, title="solve failed", severity="error")
        self.busy = None
        self.note = m.error

    # -- playback --------------------------------------------------------------------------

    def _tick(self) -> None:
        if not self.playing or self.buffer is None or self.instance is None:
            return
        nxt = self.cursor + 1
        if nxt >= self.limit:
            self.playing = False
            self.note = (f"thought for {self.limit} iterations: space thinks longer"
                         if self.model.recurrent else
                         "a feed-forward net cannot think longer than its depth")
        elif nxt < self.buffer.count:
            self.waiting = False
            self.goto(nxt)
        elif self.buffer.finished:
            self.playing = False
        else:
            self.waiting = True

    def goto(self, index: int, now: bool = False) -> None:
        """Move the cursor (the watcher draws the frame); ``now``: the curves at once too."""
        if self.buffer is None:
            return
        self.cursor = self.buffer.move(index)
        if now:
            self.update_curves(now=True)

    def show_frame(self, resized: bool = False) -> None:
        """Draw the frame under the cursor (the bare instance before iteration 1)."""
        instance, model = self.instance, self.model
        if instance is not None and model is not None and self.buffer is not None:
            self.query_one(InstanceView).draw(model.loaded.problem, instance, self.current_frame, self.show_answer,
                           key=(self.session, self.cursor, self.show_answer),
                           fit=self.instance_room(), resized=resized)

    def instance_room(self) -> tuple[int, int] | None:
        """The instance pane's inner size: an instance is drawn as large as fits."""
        size = self.query_one("#instance-pane").content_size
        return (size.width, size.height) if size.width and size.height else None

    def on_resize(self) -> None:
        self.call_after_refresh(self.redraw)

    def redraw(self) -> None:
        """The instance laid out afresh (a new one, or a new size) and the curves at once."""
        self.show_frame(resized=True)
        self.update_curves(now=True)

    def update_curves(self, now: bool = False) -> None:
        """The curves up to the cursor (redrawn at a bounded rate, or ``now``)."""
        if self.buffer is None or self.instance is None:
            return
        s = self.buffer.series(self.cursor)
        its = s["iterations"]
        first = self.first_correct()
        vlines = [(first, "green")] if first is not None else []
        self.query_one("#curve-confidence", CurveChart).update_series(
            {"confidence": (its, s["confidence"], "cyan"),
             "changed": (its, s["changed"], "orange"),
             "moving": (its, s["moving"], "green")}, vlines=vlines, now=now)
        self.query_one("#curve-delta", CurveChart).update_series(
            {"‖Δthought‖": (its, s["delta"], "magenta")}, vlines=vlines, now=now)

    # -- actions ---------------------------------------------------------------------------

    def action_toggle_play(self) -> None:
        if self.buffer is None or self.options.benchmark:
            return
        if self.playing:
            self.playing = False
            return
        if self.cursor + 1 >= self.limit:
            if self.model.recurrent:
                self.limit += self.base_limit
            else:
                self.goto(-1)  # a feed-forward net: play it again from the start
        elif self.buffer.finished and self.cursor + 1 >= self.buffer.count:
            self.goto(-1)
        self.note = ""
        self.playing = True

    def action_step(self, delta: int) -> None:
        if self.buffer is None or self.instance is None or self.options.benchmark:
            return
        self.playing = False
        target = self.cursor + delta
        if delta < 0:
            self.pending_steps = 0
            self.goto(max(target, -1), now=True)
            return
        if target >= self.limit:
            if not self.model.recurrent:
                self.app.bell()
                return
            self.limit = target + 1
        if target < self.buffer.count:
            self.goto(target, now=True)
        elif self.buffer.finished:
            self.app.bell()
        else:
            self.pending_steps = target - self.cursor

    def action_speed(self, delta: int) -> None:
        self.speed_index += delta

    def action_new_instance(self) -> None:
        if self.showing is None or self.options.benchmark:
            return
        self.seed += 1
        self.new_session()

    def action_difficulty(self, direction: int) -> None:
        showing = self.showing
        if showing is None or self.options.benchmark:
            return
        problem = showing.model.loaded.problem
        nxt = step_difficulty(problem, showing.difficulty, direction)
        if nxt is None:
            self.notify(f"no {'bigger' if direction > 0 else 'smaller'} "
                        f"{problem.difficulty_unit} to step to from {showing.difficulty}",
                        severity="warning")
            return
        self.showing = replace(showing, difficulty=nxt)
        self.new_session()

    def action_toggle_answer(self) -> None:
        self.show_answer = not self.show_answer

    def action_choose_model(self) -> None:
        from dtcli.tui.model_picker import ModelPicker

        def chosen(ref: str | None) -> None:
            if ref:
                self.busy = f"loading {ref}…"
                self.load(ref, initial=False)

        current = self.model.ref if self.model is not None else self.options.model
        self.app.push_screen(ModelPicker(self.options.runs_root, current=current), chosen)

    # -- other screens take the stage: pause meanwhile -------------------------------------

    def on_screen_suspend(self) -> None:
        self._resume_playing = self.playing
        self.playing = False

    def on_screen_resume(self) -> None:
        if self._resume_playing:
            self.playing = True
