"""Halting on a checked answer (``dt test --mode halt --halt-on-check``): a maze stops as soon
as its predicted path is a start-to-end path, which in a perfect maze is the solution."""

from __future__ import annotations

import json

import torch

ITERS = 40


def first_correct(loaded, x, y) -> list[int | None]:
    """Per maze, the first iteration whose answer equals the label (None when none up to ITERS
    does), found by thinking step by step and comparing with the targets: no check, no halting."""
    from dtcli.engine.device import batch_to

    net, problem = loaded.net, loaded.problem
    x, y = batch_to(x, y, torch.device("cpu"))
    first: list[int | None] = [None] * len(x)
    with torch.inference_mode():
        thought, encoded = net.start(x), net.encode_input(x)
        for i in range(1, ITERS + 1):
            thought = net.think(thought, encoded, i - 1)
            ok = problem.correct(problem.predict(net.answer(thought), x), y)
            for n in torch.nonzero(ok).flatten().tolist():
                first[n] = first[n] or i
    return first


def test_halt_on_check_stops_each_maze_at_its_first_correct_answer(cli):
    from dtcli.engine.model import load_model

    loaded = load_model("mazes-dt-recall")
    x, y = loaded.problem.dataset("test", 21, 24, 5)
    first = first_correct(loaded, x, y)
    solved = [f for f in first if f is not None]
    assert 0 < len(solved) < len(first)  # some mazes halt early, some think to the end
    res = cli("test", "mazes-dt-recall", "-d", "21", "-n", "24", "--seed", "5", "--mode", "halt",
              "-k", "1000000", "--halt-on-check", "-i", str(ITERS), "--json")
    assert res.exit_code == 0, res.output
    halt = json.loads(res.stdout)["halt"]
    assert halt["check"] is True
    halted_at = [f or ITERS for f in first]
    assert halt["iterations_computed"] == sum(halted_at)
    assert halt["mean_halt_iteration"] == sum(halted_at) / len(first)
    assert halt["correct"][-1] == len(solved)  # a checked answer is the solution, kept


def test_halt_on_check_is_refused_where_no_check_exists(cli):
    res = cli("test", "prefix-sums-dt-recall", "--mode", "halt", "--halt-on-check", "-n", "4")
    assert res.exit_code == 2 and "cannot check an answer" in res.output
    res = cli("test", "mazes-dt-recall", "--halt-on-check", "-n", "4")
    assert res.exit_code == 2 and "add --mode halt" in res.output
