"""dt tui: the Textual app driven by Pilot on a tiny maze model in a private zoo."""

from __future__ import annotations

import asyncio
import time

import pytest

from helpers import SIZE, ready, wait_for


def run(coro_fn, **app_kwargs):
    from dtcli.tui.app import DtApp

    app = DtApp(**app_kwargs)

    async def main():
        async with app.run_test(size=SIZE) as pilot:
            await coro_fn(pilot)

    asyncio.run(main())
    return app


# -- the solve view ------------------------------------------------------------------------


def test_opens_on_the_zoo_maze_model_and_plays(tui_zoo):
    async def scenario(pilot):
        screen = await ready(pilot)
        assert screen.model.ref == "mazes-dt-recall"
        assert screen.model.loaded.problem.name == "mazes" and screen.difficulty == 13
        assert screen.playing and screen.limit == 100  # 10 x max_iters, at least 100
        await wait_for(pilot, lambda: screen.iteration >= 3, what="playback")
        await pilot.press("space")
        assert not screen.playing
        stopped = screen.iteration
        await pilot.pause(0.3)
        assert screen.iteration == stopped
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.iteration > stopped, what="playing again")

    run(scenario)


def test_step_forward_and_back(tui_zoo):
    async def scenario(pilot):
        screen = await ready(pilot)
        assert not screen.playing and screen.iteration == 0
        await pilot.press("right", "right", "right")
        await wait_for(pilot, lambda: screen.iteration == 3, what="three steps")
        frame = screen.current_frame
        assert frame.iteration == 3 and frame.correct is not None
        await pilot.press("left")
        assert screen.iteration == 2
        await pilot.press("left", "left", "left")  # back to the bare instance, and no further
        assert screen.iteration == 0 and screen.cursor == -1
        # the curves follow the playback cursor
        await pilot.press("right", "right")
        await wait_for(pilot, lambda: screen.iteration == 2)
        curve = screen.query_one("#curve-delta")
        assert list(curve.series["‖Δthought‖"][0]) == [1, 2]

    run(scenario, autoplay=False)


def test_new_instance_bigger_and_smaller(tui_zoo):
    async def scenario(pilot):
        screen = await ready(pilot)
        first = screen.instance.inputs.clone()
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.instance is not None, what="a new maze")
        assert screen.seed == 1 and screen.difficulty == 13
        assert not bool((screen.instance.inputs == first).all())
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: screen.instance is not None, what="a bigger maze")
        assert screen.difficulty == 15
        assert screen.instance.inputs.shape[-1] > first.shape[-1]  # compact layout: size + 2 pixels
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: screen.instance is not None and screen.difficulty == 11)
        await pilot.press("right")
        await wait_for(pilot, lambda: screen.iteration == 1)
        # the sub-title follows in the app, from the message the solve view posts up
        await wait_for(pilot, lambda: "size 11" in pilot.app.sub_title, what="the sub-title")

    run(scenario, autoplay=False)


def test_answer_toggle_help_and_model_picker(tui_zoo):
    from dtcli.tui.help_screen import HelpScreen
    from dtcli.tui.model_picker import ModelPicker

    async def scenario(pilot):
        screen = await ready(pilot)
        await pilot.press("a")
        assert screen.show_answer
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("m")
        assert isinstance(pilot.app.screen, ModelPicker)
        await pilot.press("enter")  # the zoo model is highlighted: open it again
        await wait_for(pilot, lambda: pilot.app.screen is screen and screen.session == 2
                       and screen.instance is not None, what="the reopened model")

    run(scenario, autoplay=False)


def test_missing_default_model_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("DT_ZOO_DIR", str(tmp_path / "empty-zoo"))
    result = cli("tui")
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "dt tui RUN" in lines[0]
    result = cli("tui", "no-such-model")
    assert result.exit_code == 2 and "no model" in result.stderr


def test_bad_difficulty_ends_the_app_with_an_error(tui_zoo):
    async def scenario(pilot):
        await wait_for(pilot, lambda: pilot.app.error is not None, what="the error")

    app = run(scenario, difficulty="12")
    assert "odd" in app.error and app.return_code == 2


def painted(widget) -> str:
    """The text a widget paints, row by row."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


def test_the_status_panel_follows_the_reactive_state(tui_zoo):
    """Keys only set the solve view's reactive attributes; the status panel's ``state`` is
    computed from them and bound to it, and what the panel paints follows."""
    from dtcli.tui.status import SolveStatus

    async def scenario(pilot):
        screen = await ready(pilot)
        status = screen.query_one(SolveStatus)
        assert status.state.loading is None and status.state.iteration == 0
        await pilot.press("right")
        await wait_for(pilot, lambda: screen.iteration == 1, what="one step")
        assert status.state.iteration == 1 and status.state.key == (screen.session, 0)
        assert status.state.figures is not None
        await pilot.pause()
        assert "1 / 100" in painted(status)
        await pilot.press("plus", "a")  # paused: nothing moves but these two rows
        assert screen.speed_index == 5 and status.state.speed == "30 it/s"
        assert status.state.answer_shown
        await pilot.pause()
        text = painted(status)
        assert "30 it/s" in text and "solution shown" in text
        await pilot.press("minus", "minus", "minus", "minus", "minus", "minus", "minus")
        assert screen.speed_index == 0 and status.state.speed == "1 it/s"  # clamped

    run(scenario, autoplay=False)


def test_the_app_and_the_extrapolation_screen_follow_the_solve_view(tui_zoo):
    """The solve view posts what it shows up to the app (ShowingChanged); the app sets its
    sub-title and hands it down to the extrapolation screen, whose form starts afresh when
    the model changes (and only then)."""
    async def scenario(pilot):
        app = pilot.app
        screen = await ready(pilot)
        await wait_for(pilot, lambda: app.showing is screen.showing, what="the app's showing")
        assert "size 13" in app.sub_title
        await pilot.press("e")
        extrapolation = app.screen
        assert extrapolation.showing is screen.showing
        extrapolation.query_one("#ex-count").value = "7"
        await pilot.press("escape", "right_square_bracket")
        await wait_for(pilot, lambda: app.showing.difficulty == 15, what="the bigger maze")
        assert "size 15" in app.sub_title and extrapolation.showing is app.showing
        assert extrapolation.query_one("#ex-count").value == "7"  # same model: form kept
        first = screen.model
        await pilot.press("m", "enter")  # open the zoo model again: a new model
        await wait_for(pilot, lambda: screen.model is not first and app.showing is screen.showing,
                       what="the reopened model")
        assert extrapolation.showing is app.showing
        assert extrapolation.query_one("#ex-count").value == "100"  # new model: form afresh
        assert extrapolation.query_one("#ex-difficulty").value == "13"

    run(scenario, autoplay=False)


def test_benchmark_reports_to_the_app(tui_zoo):
    """``dt tui --benchmark N``: each frame is shown once the last one was painted; the
    report reaches the app in a message and the app ends."""
    async def scenario(pilot):
        await wait_for(pilot, lambda: pilot.app.bench_report is not None, what="the report")

    app = run(scenario, benchmark=12)
    r = app.bench_report
    assert r["iterations"] == 12 and r["painted"] == 12 and r["difficulty"] == 13
    assert app.return_code == 0 and app.error is None


# -- extrapolation and training ------------------------------------------------------------


def test_extrapolation_screen_draws_a_curve(tui_zoo):
    from dtcli.tui.extrapolation_screen import ExtrapolationScreen

    async def scenario(pilot):
        await ready(pilot)
        await pilot.press("e")
        screen = pilot.app.screen
        assert isinstance(screen, ExtrapolationScreen)
        assert screen.query_one("#ex-difficulty").value == "13"
        screen.query_one("#ex-count").value = "6"
        screen.query_one("#ex-iters").value = "1:8"
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.running, what="the evaluation")
        series = screen.query_one("#ex-curve").series
        assert set(series) == {"fixed", "max-conf"}
        xs, ys, _ = series["fixed"]
        assert list(xs) == list(range(1, 9)) and len(ys) == 8
        assert "best" in str(screen.query_one("#ex-summary").render())
        # halting mode
        screen.query_one("#ex-mode").value = "halt"
        screen.query_one("#ex-patience").value = "2"
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.running, what="the halting evaluation")
        assert list(screen.query_one("#ex-curve").series) == ["halt K=2"]
        assert "compute saved" in str(screen.query_one("#ex-summary").render())
        await pilot.press("escape")

    run(scenario, autoplay=False)


def test_training_screen_trains_cancels_and_resumes(tui_zoo, tmp_path):
    from dtcli import runs
    from dtcli.config import TrainConfig
    from dtcli.engine.train import train
    from dtcli.tui.training_screen import TrainingScreen

    settings = {"width": 4, "max_iters": 2, "epochs": 3, "batch_size": 16, "train_count": 40,
                "train_difficulty": "5", "test_difficulties": ["7"], "test_count": 4,
                "test_iters": 3, "warmup_steps": 0}
    found = {}

    def held_train(cfg, run_dir, *, listener, cancel, **kwargs):
        """The engine's train, held after epoch 1 until the screen has cancelled: the cancel
        lands in epoch 2 however fast this machine trains."""
        from dtcli.engine.events import Listener, Listeners

        class Hold(Listener):
            def on_epoch_end(self, record):
                deadline = time.monotonic() + 60
                while record["epoch"] == 1 and not cancel() and time.monotonic() < deadline:
                    time.sleep(0.01)

        return train(cfg, run_dir, listener=Listeners([listener, Hold()]), cancel=cancel, **kwargs)

    async def scenario(pilot):
        await ready(pilot)
        await pilot.press("t")
        screen = pilot.app.screen
        assert isinstance(screen, TrainingScreen)
        assert screen.query_one("#train-problem").value == "mazes"
        assert screen.query_one("#train-arch").value == "dt-recall"
        assert screen.query_one("#train-preset").value == "quick"
        await pilot.press("s")
        assert screen.running and screen.run_dir.parent == tmp_path / "tui-runs"
        await wait_for(pilot, lambda: len(screen.records) >= 1, timeout=60, what="an epoch")
        epochs = screen.query_one("#train-acc").series["train"][0]
        assert epochs[:1] == [1] and epochs == list(range(1, len(epochs) + 1))  # a point per epoch
        await pilot.press("q")  # a run is going: quitting asks for a second q
        assert pilot.app.is_running and pilot.app._quit_armed
        await pilot.press("c")
        await wait_for(pilot, lambda: not screen.running, timeout=30, what="the cancellation")
        found["run"] = screen.run_dir
        found["epochs"] = len(screen.records)

    run(scenario, autoplay=False, runs_root=tmp_path / "tui-runs",
        training={"overrides": settings, "train_fn": held_train})
    run_dir = found["run"]
    doc = runs.read_run_config(run_dir)
    assert doc["status"] == "cancelled" and (run_dir / runs.LAST).exists()
    cfg = TrainConfig.from_dict(doc["train"])
    assert cfg.width == 4 and cfg.threads == 1  # the TUI caps torch threads
    assert found["epochs"] == 1 and len(runs.read_metrics(run_dir)) == 1  # cancelled in epoch 2
    result = train(cfg, run_dir, resume=True)
    assert result.status == "finished" and result.epochs_done == 3


# -- pieces --------------------------------------------------------------------------------


def test_frame_messages_coalesce():
    from dtcli.tui.messages import ExtrapolationProgress, FrameComputed, TrainBatch

    assert FrameComputed(1, 5).can_replace(FrameComputed(1, 6))
    assert not FrameComputed(1, 5).can_replace(FrameComputed(2, 6))
    assert not FrameComputed(1, 5).can_replace(TrainBatch(1, 1, 1, 1, 1, 0.5, []))
    assert ExtrapolationProgress(3, 1, 2, [1], {}).can_replace(ExtrapolationProgress(3, 2, 2, [1], {}))


def test_difficulty_steps_and_settings(registry):
    from dtcli.contracts.errors import DtError
    from dtcli.tui.workers import parse_settings, step_difficulty

    mazes, bits = registry.problem("mazes"), registry.problem("prefix-sums")
    assert step_difficulty(mazes, 13, 1) == 15 and step_difficulty(mazes, 13, -1) == 11
    assert step_difficulty(mazes, 3, -1) is None
    assert step_difficulty(bits, 32, 1) == 33
    assert step_difficulty(bits, "600-1000", 1) is None
    got = parse_settings("width=16 --max-iters=5 alpha=0.5 throttle=yes test-difficulty=13,21 clip=none")
    assert got == {"width": 16, "max_iters": 5, "alpha": 0.5, "throttle": True,
                   "test_difficulties": ["13", "21"], "clip": None}
    with pytest.raises(DtError, match="did you mean"):
        parse_settings("widht=3")
    with pytest.raises(DtError, match="epochs: 'many' is not a whole number"):
        parse_settings("epochs=many")
    with pytest.raises(DtError, match="lr must be a finite number"):  # checked as dt train's
        parse_settings("lr=nan")


def test_frame_buffer_runs_ahead_and_drops_old_tensors():
    import threading

    import torch

    from dtcli.engine.solve import SolveFrame
    from dtcli.tui.frames import FrameBuffer, produce

    def frames():
        for i in range(1, 1000):
            t = torch.zeros(10)
            yield SolveFrame(i, t.long(), t, t, 0.5, 0.1, 0.0, i > 5, None)

    buf = FrameBuffer(ahead=4, max_bytes=10 * 3 * 40)
    stop = threading.Event()
    thread = threading.Thread(target=produce, args=(buf, frames(), stop.is_set, lambda n, d: None))
    thread.start()
    deadline = time.monotonic() + 10
    while buf.count < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert buf.count == 4  # waits for the view
    buf.move(20)
    assert buf.cursor == 3  # clamped to what exists
    while buf.count < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    buf.move(7)
    while buf.count < 12 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(5)
    assert buf.finished and buf.oldest > 0 and buf.frame(0) is None
    assert buf.first_correct == 5 and buf.iterations[:3] == [1, 2, 3]
    assert buf.move(-1) == buf.oldest  # stepping back stops at the oldest kept frame


def test_curve_skips_values_that_are_not_finite():
    """A thought that overflows (a recurrent image net far past its depth) gives inf / nan
    changes: the chart leaves them out instead of crashing the app."""
    from textual.app import App

    from dtcli.tui.curve_chart import CurveChart

    class One(App):
        def compose(self):
            yield CurveChart("change", log=True, id="c")

    async def main():
        async with One().run_test(size=(60, 20)) as pilot:
            curve = pilot.app.query_one(CurveChart)
            inf, nan = float("inf"), float("nan")
            curve.update_series({"Δ": ([1, 2, 3, 4], [1.0, 1e-3, inf, nan], "red")}, now=True)
            await pilot.pause()
            curve._draw()
            assert "1e-3" in pilot.app.query_one(CurveChart).plt.build()

    asyncio.run(main())


def test_a_diverged_thought_is_named_not_shown_as_confident():
    """digits-recur-convnet thinking 100 iterations (it was trained for 5) overflows: the status
    panel says so instead of 'confidence 1.000' and a flipping answer."""
    async def scenario(pilot):
        screen = await ready(pilot)
        await pilot.press("plus", "plus")  # 60 iterations a second
        await wait_for(pilot, lambda: screen.iteration >= 80, what="iteration 80")
        await pilot.press("space")
        await pilot.pause()
        text = painted(screen.query_one("#status"))
        assert "diverged at" in text and "overflowed" in text and "1.000" not in text

    run(scenario, model="digits-recur-convnet", iters=100)
