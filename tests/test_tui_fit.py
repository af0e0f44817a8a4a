"""dt tui on small and large terminals, keys typed while a model loads, quitting during
playback, and the chess view (issue 32, items 3 and 6). Driven by Pilot; the maze tests use
the tiny model of a private zoo, the chess ones the zoo's chess-dt-recall."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from helpers import ready, wait_for

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])


def run(coro_fn, size=(120, 40), **app_kwargs):
    from dtcli.tui.app import DtApp

    app = DtApp(**app_kwargs)

    async def main():
        async with app.run_test(size=size) as pilot:
            await coro_fn(pilot)

    asyncio.run(main())
    return app


def painted(widget) -> list[str]:
    """The rows a widget paints."""
    return [widget.render_line(y).text for y in range(widget.size.height)]


def words(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def curve_rows(chart) -> int:
    """Rows of curve a chart shows: between the top and bottom lines of its frame."""
    lines = painted(chart)
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    return bottom - top - 1


# -- the solve view fits 80x24 and 120x40 ---------------------------------------------------


@SIZES
def test_every_curve_keeps_four_rows_and_the_panel_its_words(tui_zoo, size):
    """At 80x24 the curves go under the instance side by side, and the panel drops its least
    important rows instead of cutting any: the model's size, the verdict with the problem's
    check, and the note at the end are there in full."""
    async def scenario(pilot):
        screen = await ready(pilot)
        await wait_for(pilot, lambda: not screen.playing and screen.note, what="the end")
        await pilot.pause()
        for chart in screen.query("CurveChart"):
            assert chart.display and chart.region.height, chart.id
            assert curve_rows(chart) >= 4, (chart.id, painted(chart))
        status = screen.query_one("#status")
        text = words(painted(status))
        params = screen.model.loaded.net.num_parameters()
        assert f"{params:,} params" in text
        assert "✗ wrong" in text and "verified" in text and "not yet" not in text
        assert "thought for 5 iterations: space thinks longer" in text
        assert all(len(line.rstrip()) <= status.size.width for line in painted(status))

    run(scenario, size=size, iters=5)


@SIZES
def test_the_footer_keeps_the_screen_keys(tui_zoo, size):
    """An 80-column footer keeps play, step, new, answer, model, extrapolate, train, help and
    quit inside the screen (speed and size keys leave it, still working and in the help);
    at 120 columns it shows them all."""
    from textual.widgets._footer import FooterKey

    async def scenario(pilot):
        screen = await ready(pilot)
        await pilot.pause()
        width = pilot.app.size.width
        keys = {k.key for k in screen.query(FooterKey) if k.region.right <= width and k.region.width}
        assert {"space", "left", "right", "n", "a", "m", "e", "t", "question_mark", "q"} <= keys
        speed_and_size = {"minus", "plus", "left_square_bracket", "right_square_bracket"}
        assert (speed_and_size <= keys) == (width >= 100)
        await pilot.press("plus", "right_square_bracket")  # off the footer, still bound
        await wait_for(pilot, lambda: screen.difficulty == 15 and screen.instance is not None)
        assert screen.speed_index == 5

    run(scenario, size=size, autoplay=False)


# -- keys typed while a model loads ---------------------------------------------------------


def hold_loading(monkeypatch):
    """The solve view's model loading, held until released: (entered, release) events."""
    from dtcli.tui import solve_screen

    entered, release = threading.Event(), threading.Event()
    real = solve_screen.open_model

    def held(*args, **kwargs):
        entered.set()
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(solve_screen, "open_model", held)
    return entered, release


def test_keys_pressed_while_the_model_loads_are_applied(tui_zoo, monkeypatch):
    """Two steps, a new instance and a step typed during loading: once the model is there,
    they apply in order (the last one to the new instance, once it is drawn)."""
    entered, release = hold_loading(monkeypatch)

    async def scenario(pilot):
        await wait_for(pilot, entered.is_set, what="the loading")
        screen = pilot.app.screen
        await pilot.press("right", "right", "n", "right")
        assert screen.showing is None and len(screen.pending_keys) == 4
        release.set()
        await wait_for(pilot, lambda: screen.seed == 1 and screen.instance is not None
                       and screen.iteration == 1, what="the keys applied")
        assert screen.pending_keys == [] and not screen.playing and screen.session == 2

    run(scenario, autoplay=False)


def test_extrapolation_asked_while_loading_opens_once_loaded(tui_zoo, monkeypatch):
    from dtcli.tui.extrapolation_screen import ExtrapolationScreen

    entered, release = hold_loading(monkeypatch)

    async def scenario(pilot):
        await wait_for(pilot, entered.is_set, what="the loading")
        await pilot.press("e")
        assert not isinstance(pilot.app.screen, ExtrapolationScreen)
        release.set()
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExtrapolationScreen)
                       and pilot.app.screen.query("#ex-difficulty"), what="the extrapolation screen")
        await pilot.pause()
        screen = pilot.app.screen
        assert screen.showing is pilot.app.showing
        assert screen.query_one("#ex-difficulty").value == "13"

    run(scenario, autoplay=False)


# -- quitting during playback ---------------------------------------------------------------


def test_q_quits_at_once_during_playback(tui_zoo):
    """q stops the engine before its next iteration: the view closes its frame buffer, which
    wakes an engine waiting for the view, and the app ends."""
    found = {}

    async def scenario(pilot):
        screen = await ready(pilot)
        await wait_for(pilot, lambda: screen.iteration >= 3, what="playback")
        buffer = found["buffer"] = screen.buffer
        assert screen.playing and not buffer.finished
        await pilot.press("q")
        assert buffer.closed and not screen.playing
        deadline = time.monotonic() + 10  # a bound for a busy machine, not a timing
        while not buffer.finished and time.monotonic() < deadline:
            time.sleep(0.01)  # the engine is a thread: waiting here blocks only the UI
        found["finished"] = buffer.finished

    app = run(scenario)
    assert found["finished"] and app.return_code == 0 and app.error is None


def test_closing_a_buffer_wakes_its_engine_at_once():
    """An engine waiting for the view (ahead by ``ahead`` frames) and never cancelled ends as
    soon as the view closes its buffer: it does not sleep out a poll."""
    import torch

    from dtcli.engine.solve import SolveFrame
    from dtcli.tui.frames import FrameBuffer, produce

    def frames():
        i = 0
        while True:
            i += 1
            t = torch.zeros(4)
            yield SolveFrame(i, t.long(), t, t, 0.5, 0.1, 0.0, None, None)

    buffer = FrameBuffer(ahead=2)
    thread = threading.Thread(target=produce, args=(buffer, frames(), lambda: False,
                                                    lambda n, done: None))
    thread.start()
    deadline = time.monotonic() + 10
    while buffer.count < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert buffer.count == 2 and thread.is_alive()  # waiting for the view
    buffer.close()
    thread.join(10)
    assert not thread.is_alive() and buffer.finished and buffer.count == 2


# -- the end of playback, the next instance ------------------------------------------------


def test_wrong_at_the_end_and_n_plays_the_next_instance(tui_zoo):
    """An answer still wrong when playback ends is "wrong", not "not yet"; n then plays the
    next instance instead of leaving it paused."""
    from dtcli.tui.status import verdict

    async def scenario(pilot):
        screen = await ready(pilot)
        await wait_for(pilot, lambda: not screen.playing and screen.iteration == 4)
        assert screen.state.final and "✗ wrong" in words(painted(screen.query_one("#status")))
        await pilot.press("left")
        assert not screen.state.final  # stepped back: not yet at the end
        await pilot.press("n")  # no other key: it plays to the end (paused, it would stay at 0)
        await wait_for(pilot, lambda: screen.seed == 1 and screen.instance is not None
                       and screen.iteration == 4, what="the next instance played")

    run(scenario, iters=4)
    from dtcli.tui.state import Figures

    wrong = Figures(0.5, 0.0, 0.1, False, True)
    assert verdict(wrong, None, "legal move")[0].plain == "✗ not yet"
    assert verdict(wrong, None, "legal move", final=True)[0].plain == "✗ wrong"
    assert verdict(wrong, 7, final=True)[0].plain == "✗ wrong again"


# -- the chess view --------------------------------------------------------------------------


def board_geometry(lines: list[str]) -> tuple[int, int]:
    """(cells per square across, rows per rank) of a board drawn in ``lines``."""
    ranks = [i for i, line in enumerate(lines) if line[:1].isdigit() and line[1:2] == " "]
    files = next(line for line in lines if line.strip().startswith(("a b", "h g", "a   ", "h   ")))
    letters = [i for i, c in enumerate(files) if c in "abcdefgh"]
    return letters[1] - letters[0], ranks[1] - ranks[0]


@SIZES
def test_chess_board_has_square_squares_and_fits(size):
    """The zoo's chess model on its first test puzzle (seed 0): squares twice as wide as tall
    in cells (a cell is about twice as tall as wide), as big as the pane allows, the text
    beside or below the board in full; the open rating range reads as a bound; after the
    last iteration the miss is "wrong"."""
    async def scenario(pilot):
        screen = await ready(pilot)
        await pilot.press("plus", "plus")
        await wait_for(pilot, lambda: not screen.playing and screen.iteration == 24,
                       timeout=60, what="the end of playback")
        await pilot.pause()
        view, pane = screen.query_one("#instance"), screen.query_one("#instance-pane")
        lines = painted(view)
        across, tall = board_geometry(lines)
        assert across == 2 * tall and (across, tall) == ((4, 2) if size == (120, 40) else (2, 1))
        assert view.size.width <= pane.content_size.width  # nothing to scroll sideways
        assert view.size.height <= pane.content_size.height
        text = words(lines)
        assert "(not a legal move)" in text or "(legal move)" in text
        status = words(painted(screen.query_one("#status")))
        assert "rating ≥ 1000" in status and "✗ wrong" in status and "legal move" in status

    run(scenario, size=size, model="chess-dt-recall", iters=24)


def test_open_chess_ranges_read_as_bounds(registry):
    chess = registry.problem("chess")
    assert chess.describe_difficulty("1000-") == "rating ≥ 1000"
    assert chess.describe_difficulty("-999") == "rating ≤ 999"
    assert chess.describe_difficulty("1800-2200") == "rating 1800-2200"
    assert chess.describe_difficulty("600000:") == "puzzles from 600000 on by rating order"
    assert chess.describe_difficulty(":600000") == "the first 600000 puzzles by rating"
