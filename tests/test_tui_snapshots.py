"""Screenshots of dt tui (pytest-textual-snapshot): what a user sees on each screen.

Deterministic by construction: a seeded untrained model, fixed instance seeds, paused
playback, and no timings on screen. Update with ``pytest tests/test_tui_snapshots.py
--snapshot-update`` after an intended change, and look at the SVGs in __snapshots__/.
"""

from __future__ import annotations

import pytest

from helpers import SIZE, ready, wait_for

#: every screen at the default size and at a small terminal's 80x24, where it must keep its
#: controls (the app lays out narrow and short screens with their own rules)
SIZES = pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["120x40", "80x24"])

TRAINING = {"overrides": {"width": 8, "max_iters": 4, "epochs": 3, "train_count": 200}}


def app(**kwargs):
    from dtcli.tui.app import DtApp

    return DtApp(autoplay=False, training=TRAINING, **kwargs)


@SIZES
def test_solve_view(snap_compare, tui_zoo, size):
    async def run_before(pilot):
        screen = await ready(pilot)
        await pilot.press("right", "right", "right")
        await wait_for(pilot, lambda: screen.iteration == 3)
        await pilot.pause()

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


def test_solve_view_with_solution(snap_compare, tui_zoo):
    async def run_before(pilot):
        screen = await ready(pilot)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: screen.instance is not None and screen.difficulty == 15)
        await pilot.press("right", "a")
        await wait_for(pilot, lambda: screen.iteration == 1 and screen.show_answer)
        await pilot.pause()

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


@SIZES
def test_solve_view_chess(snap_compare, size):
    """The zoo's chess model at the end of its playback on puzzle 0 (seed 0): the board's
    squares as big as the pane allows (the text beside a small board at 80x24), the miss
    called wrong, the open rating range as a bound."""
    from dtcli.tui.app import DtApp

    async def run_before(pilot):
        screen = await ready(pilot)
        await wait_for(pilot, lambda: not screen.playing and screen.iteration == 24, timeout=60)
        await pilot.pause()

    assert snap_compare(DtApp("chess-dt-recall", iters=24), terminal_size=size,
                        run_before=run_before)


def test_solve_view_digits(snap_compare):
    """The zoo's recurrent digits model at 80x24, three iterations in."""
    async def run_before(pilot):
        screen = await ready(pilot)
        await pilot.press("right", "right", "right")
        await wait_for(pilot, lambda: screen.iteration == 3)
        await pilot.pause()

    assert snap_compare(app(model="digits-recur-convnet"), terminal_size=(80, 24),
                        run_before=run_before)


@SIZES
def test_extrapolation_screen(snap_compare, tui_zoo, size):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("e")
        screen = pilot.app.screen
        screen.query_one("#ex-count").value = "8"
        screen.query_one("#ex-iters").value = "1:12"
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.running)
        await pilot.pause()

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


@SIZES
def test_training_screen(snap_compare, tui_zoo, size):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("t")
        await pilot.pause()

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


@SIZES
def test_help_screen(snap_compare, tui_zoo, size):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app(), terminal_size=size, run_before=run_before)
