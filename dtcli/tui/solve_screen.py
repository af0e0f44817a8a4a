"""The solve view: watch the model think about one instance, iteration by iteration.

The view state lives in ``var`` attributes (what is shown, the instance, the cursor, playing,
speed, ...). Actions and the engine's messages only set them; the watchers redraw the instance
and the curves, and ``state``, computed from them, is bound to the status panel, so nothing
repaints the panel by hand. The engine runs ahead in a thread worker (:mod:`dtcli.tui.frames`);
playback and the keys are in :mod:`dtcli.tui.solve_actions`.

The body is a grid: the instance beside the status panel, and the two curves under the panel
on a tall terminal, or side by side under both on a short one (80x24), where the header
leaves too (the panel names the model), so that every curve keeps at least four rows.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Container, ScrollableContainer
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
from dtcli.tui.layout import NARROW
from dtcli.tui.solve_actions import SolveActions
from dtcli.tui.solve_bindings import DEFAULT_SPEED, SOLVE_BINDINGS, SPEEDS, footer_bindings
from dtcli.tui.state import Figures, OpenModel, Showing, SolveOptions, SolveState, display_name
from dtcli.tui.status import SolveStatus
from dtcli.tui.workers import default_iterations, open_model, solve_instance


class SolveScreen(SolveActions, Screen):
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
        self.pending_keys: list[tuple[str, tuple]] = []  # keys pressed before it could act
        self.loading_ref: str | None = None  # the model being loaded
        self._resume_playing = False
        self._timer: Timer | None = None
        self._narrow = False  # the footer's layout (under NARROW columns)
        self._bench = PaintBenchmark(self, options.benchmark) if options.benchmark else None
        self.set_reactive(SolveScreen.model_name, display_name(options.model))
        self.set_reactive(SolveScreen.seed, options.seed)

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Container(id="solve-body"):
            with ScrollableContainer(id="instance-pane"):
                yield InstanceView(id="instance")
            yield SolveStatus(id="status").data_bind(SolveScreen.state)
            yield CurveChart("confidence · changed · moving", ylim=(0, 1), max_hz=3,
                             boxed=True, id="curve-confidence")
            yield CurveChart("‖Δthought‖ relative (log)", log=True, max_hz=3, boxed=True,
                             id="curve-delta")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self._timer = self.set_interval(1 / SPEEDS[self.speed_index], self._tick, pause=True)
        self._narrow = self.app.size.width < NARROW
        self.query_one(Footer).compact = self._narrow
        self.start_loading(self.options.model, initial=True)

    @property
    def active_bindings(self) -> dict[str, Any]:
        """The footer's keys (:func:`footer_bindings`): fewer on a narrow terminal."""
        return footer_bindings(super().active_bindings, self.app.size.width < NARROW)

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
        model_parts: tuple[str, ...] = ()
        instance_line = ""
        verify_name = "verified"
        if showing is not None:
            problem = showing.model.loaded.problem
            model_parts = showing.model.summary
            instance_line = f"{problem.describe_difficulty(showing.difficulty)} · seed {self.seed}"
            verify_name = problem.verify_name
        return SolveState(
            model=self.model_name, model_parts=model_parts, instance_line=instance_line,
            iteration=frame.iteration if frame is not None else 0, limit=self.limit,
            playing=self.playing, speed=f"{SPEEDS[self.speed_index]} it/s",
            waiting=self.waiting, loading=self.busy, figures=Figures.of(frame),
            first_correct=self.first_correct(), final=self.at_end(),
            answer_shown=self.show_answer, note=self.note,
            verify_name=verify_name, key=(self.session, self.cursor))

    # -- watchers: the instance and the curves follow the state ----------------------------

    def watch_showing(self, showing: Showing | None) -> None:
        if showing is not None:
            self.post_message(msg.ShowingChanged(showing))

    def watch_instance(self, instance: Instance | None) -> None:
        if instance is not None:
            self.busy = None
            self.redraw()
            self.replay_pending()

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

    def start_loading(self, ref: str, initial: bool) -> None:
        """Open ``ref`` in a thread; keys that need it wait (:meth:`able`)."""
        self.loading_ref = ref
        self.busy = f"loading {ref}…"
        self.load(ref, initial)

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
        if m.ref != self.loading_ref:
            return  # another model was chosen meanwhile
        self.loading_ref = None
        model = OpenModel(m.loaded, m.ref, display_name(m.ref))
        self.model_name = model.name
        self.seed = self.options.seed
        self.showing = Showing(model, m.difficulty)
        self.new_session()

    def on_model_failed(self, m: msg.ModelFailed) -> None:
        if m.ref != self.loading_ref:
            return
        self.loading_ref = None
        if m.initial:
            self.post_message(msg.Fatal(m.error))
        else:
            self.notify(m.error, title=f"cannot open {m.ref}", severity="error")
            self.busy = None
            self.replay_pending()  # the keys apply to the model still shown

    # -- sessions: one instance being solved ------------------------------------------------

    def new_session(self) -> None:
        """Draw a fresh instance and solve it; it plays, as the first one did, unless dt tui
        was opened paused (then it plays if the last one was playing)."""
        showing = self.showing
        assert showing is not None
        loaded = showing.model.loaded
        self.session += 1
        self.pending_steps = 0
        self.instance = None
        if self.buffer is not None:
            self.buffer.close()  # its engine stops now, not after its next wait
        self.buffer = FrameBuffer()
        self.cursor = self.buffer.cursor
        self.note = ""
        self.base_limit = self.options.benchmark or self.options.iters or default_iterations(
            loaded.net, loaded.max_iters)
        self.limit = self.base_limit
        self.playing = self.autoplay or self.playing
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

    def show_frame(self, resized: bool = False) -> None:
        """Draw the frame under the cursor (the bare instance before iteration 1)."""
        instance, model = self.instance, self.model
        if instance is not None and model is not None and self.buffer is not None:
            self.query_one(InstanceView).draw(
                model.loaded.problem, instance, self.current_frame, self.show_answer,
                key=(self.session, self.cursor, self.show_answer), fit=self.instance_room(),
                resized=resized)

    def instance_room(self) -> tuple[int, int] | None:
        """The instance pane's inner size: an instance is drawn as large as fits."""
        size = self.query_one("#instance-pane").content_size
        return (size.width, size.height) if size.width and size.height else None

    def on_resize(self) -> None:
        narrow = self.app.size.width < NARROW
        if narrow != self._narrow:  # the footer shows fewer keys, compactly
            self._narrow = narrow
            self.query_one(Footer).compact = narrow
            self.refresh_bindings()
        self.call_after_refresh(self.redraw)

    def halt(self) -> None:
        """Stop playing and the engine (quitting): its thread ends before its next
        iteration, so the app is not kept waiting for it."""
        self.playing = False
        self.pending_keys.clear()
        if self.buffer is not None:
            self.buffer.close()
        self.workers.cancel_node(self)

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

    # -- other screens take the stage: pause meanwhile -------------------------------------

    def on_screen_suspend(self) -> None:
        self._resume_playing = self.playing
        self.playing = False

    def on_screen_resume(self) -> None:
        if self._resume_playing:
            self.playing = True
