"""Training progress a user can read from the first minute: per-position accuracy beside
whole-instance accuracy, and a run-level ETA (issue 32, item 1)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from dtcli.cli.run_eta import TRAIN_TO_EVAL, RunClock
from helpers import TINY


def test_position_correct_counts_bits_against_numpy(registry):
    problem = registry.problem("prefix-sums")
    gen = np.random.default_rng(3)
    pred, target = gen.integers(0, 2, (7, 16)), gen.integers(0, 2, (7, 16))
    right, counted = problem.position_correct(torch.from_numpy(pred), torch.from_numpy(target),
                                              torch.zeros(7, 1, 16))
    assert (int(right), int(counted)) == (int((pred == target).sum()), 7 * 16)


def test_position_correct_counts_open_maze_cells_only(registry):
    problem = registry.problem("mazes")
    x, y = problem.generate(9, 4, seed=0)
    open_cells = problem.open_mask(x).bool()
    wrong = torch.zeros_like(y)  # every path cell wrong, every other open cell right
    right, counted = problem.position_correct(wrong, y, x)
    assert int(counted) == int(open_cells.sum())
    assert int(right) == int((open_cells & (y == 0)).sum())
    right, _ = problem.position_correct(y, y, x)
    assert int(right) == int(counted)


def test_position_correct_for_chess_counts_the_solution_squares(registry):
    problem = registry.problem("chess")
    targets = torch.zeros(2, 8, 8, dtype=torch.long)
    targets[0, 0, 0] = targets[0, 1, 1] = targets[1, 2, 2] = targets[1, 3, 3] = 1
    predicted = torch.zeros(2, 8, 8, dtype=torch.uint8)
    predicted[0, 0, 0] = predicted[0, 5, 5] = 1  # one of two found; bit 1 (the move) ignored
    predicted[1, 2, 2] = predicted[1, 3, 3] = 1
    predicted[1, 4, 4] = 2
    right, counted = problem.position_correct(predicted, targets, None)
    assert (int(right), int(counted)) == (3, 4)


def test_images_count_no_positions(registry):
    problem = registry.problem("images")
    assert problem.position_correct(torch.tensor([1, 2]), torch.tensor([1, 3]), None) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_run_clock_prices_the_rest_of_the_run():
    clock = FakeClock()
    info = {"epochs": 3, "steps_per_epoch": 10, "start_epoch": 0, "start_step": 0,
            "work": {"step": 1000, "val": 3000, "tests": 60000}}
    eta = RunClock(info, clock)
    assert eta.left() is None  # nothing timed yet
    eta.epoch_started()
    clock.now = 5.0
    eta.stepped(5)  # 1 s a step; evaluation priced from training until a validation ran
    per_work = 1.0 / 1000 / TRAIN_TO_EVAL
    assert eta.left() == pytest.approx(25 * 1.0 + (3 * 3000 + 60000) * per_work)
    clock.now = 10.0
    eta.stepped(10)
    clock.now = 16.0  # validation took 6 s: 2 ms per position-iteration
    eta.epoch_ended({"epoch": 1, "val_seconds": 6.0})
    assert eta.left() == pytest.approx(20 * 1.0 + (2 * 3000 + 60000) * 0.002)


def test_run_clock_after_a_mid_epoch_resume():
    clock = FakeClock()
    eta = RunClock({"epochs": 2, "steps_per_epoch": 10, "start_epoch": 1, "start_step": 6,
                    "work": {"step": 10, "val": 0, "tests": 0}}, clock)
    eta.epoch_started()
    clock.now = 2.0
    eta.stepped(8)  # 2 steps of the resumed epoch in 2 s
    assert eta.left() == pytest.approx(2.0)


def test_train_shows_bits_right_and_a_run_eta(cli, tmp_path):
    run = tmp_path / "run"
    result = cli("train", "prefix-sums", "--arch", "dt-recall", *TINY, "--out", run)
    assert result.exit_code == 0, result.output
    epochs = [ln for ln in result.output.splitlines() if ln.startswith("epoch ")]
    assert len(epochs) == 2
    first = re.search(r"train\s+([\d.]+)% \(([\d.]+)% bits\)", epochs[0])
    assert first, epochs[0]
    assert 0 <= float(first.group(1)) <= float(first.group(2)) <= 100
    # the quick preset stops once validation holds 99.9%: its ETA is a bound
    assert "run: at most" in epochs[0] and "run: " not in epochs[1]  # none after the last
    paper = cli("train", "prefix-sums", "--arch", "dt-recall", "--preset", "paper", *TINY,
                "--out", tmp_path / "paper")
    assert paper.exit_code == 0, paper.output
    paper_first = next(ln for ln in paper.output.splitlines() if ln.startswith("epoch "))
    assert "run: about" in paper_first  # no early stop: an estimate, not a bound
    records = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(0 <= r["train_position_acc"] <= 100 and r["val_seconds"] >= 0 for r in records)
    assert round(records[0]["train_position_acc"], 1) == float(first.group(2))


def test_solve_eta_knows_halting():
    from types import SimpleNamespace

    from dtcli.cli.solve_cmd import status_line

    frame = SimpleNamespace(iteration=100, diverged_at=None, mean_confidence=0.9,
                            delta_thought=0.01, changed=0.0, correct=True, verified=None,
                            stable=15)
    plain = status_line(frame, 2000, 90, rate=1.0).plain
    assert "ETA 31:40" in plain  # the whole budget without halting
    halting = status_line(frame, 2000, 90, rate=1.0, patience=20).plain
    assert "ETA 0:05 if the answer holds (at most 31:40)" in halting
    near_end = SimpleNamespace(**{**vars(frame), "iteration": 1995, "stable": 0})
    assert "ETA 0:05" in status_line(near_end, 2000, 90, rate=1.0, patience=20).plain
    assert "if the answer holds" not in status_line(near_end, 2000, 90, 1.0, patience=20).plain
