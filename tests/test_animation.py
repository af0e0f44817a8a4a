"""`dt solve --save`: GIF, last-frame PNG, a folder of PNGs; bounded frames; render_image."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

from dtcli.cli.animation import Recorder, frame_step, save_kind
from dtcli.contracts.errors import DtError
from dtcli.contracts.problem import Problem

PNG = b"\x89PNG\r\n\x1a\n"


def solve(cli, model, *args):
    return cli("solve", model, "-d", "9", "--no-halt", *args)


def test_gif_has_a_frame_per_iteration(cli, tiny_run, tmp_path):
    r = solve(cli, tiny_run, "--iters", "5", "--save", tmp_path / "solve.gif")
    assert r.exit_code == 0, r.output
    assert "saved" in r.output and "(5 frames)" in r.output
    with Image.open(tmp_path / "solve.gif") as im:
        assert im.format == "GIF" and im.n_frames == 5 and im.width >= 300


def test_png_is_the_last_frame_and_json_still_works(cli, tiny_run, tmp_path):
    r = solve(cli, tiny_run, "--iters", "4", "--json", "--save", tmp_path / "last.png")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["saved"]["frames"] == 1 and doc["saved"]["last_iteration"] == 4
    assert (tmp_path / "last.png").read_bytes().startswith(PNG)


def test_folder_gets_one_png_per_iteration(cli, tiny_run, tmp_path):
    r = solve(cli, tiny_run, "--iters", "5", "--save", f"{tmp_path / 'frames'}/")
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == [f"iter-{i}.png" for i in range(1, 6)]


def test_long_solve_keeps_a_bounded_number_of_frames(cli, tiny_run, tmp_path):
    r = solve(cli, tiny_run, "--iters", "40", "--max-frames", "8", "--save", tmp_path / "s.gif")
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / "s.gif") as im:
        assert 3 <= im.n_frames <= 8


def test_a_maze_solve_from_the_zoo(cli, tmp_path):
    r = cli("solve", "mazes-dt-recall", "-d", "9", "--iters", "3", "--save", tmp_path / "m.gif")
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / "m.gif") as im:
        assert im.n_frames == 3


@pytest.mark.parametrize("dest", ["solve.jpg", "solve"])
def test_bad_destination_is_one_clear_error(cli, tiny_run, tmp_path, dest):
    r = solve(cli, tiny_run, "--iters", "3", "--save", tmp_path / dest)
    assert r.exit_code == 2
    assert len(r.output.strip().splitlines()) == 1 and "FILE.gif" in r.output


def test_unwritable_destination(cli, tiny_run, tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    r = solve(cli, tiny_run, "--iters", "3", "--save", tmp_path / "file.txt" / "s.gif")
    assert r.exit_code == 2 and "cannot" in r.output


def test_problem_without_pictures_is_named(cli, tiny_run, tmp_path, monkeypatch):
    from dt_prefix_sums.problem import PrefixSums

    monkeypatch.setattr(PrefixSums, "render_image", Problem.render_image)
    r = solve(cli, tiny_run, "--iters", "3", "--save", tmp_path / "s.gif")
    assert r.exit_code == 2
    assert "'prefix-sums' cannot draw itself as an image" in r.output
    assert not (tmp_path / "s.gif").exists()


# -- the recorder alone, on a fake stream of frames ---------------------------------------------

class Squares(Problem):
    name = "squares"

    def render_image(self, inputs, prediction=None, target=None, confidence=None,
                     probabilities=None, fit=None):
        return np.full((4, 6, 3), 200, dtype=np.uint8)


@dataclass
class Frame:
    iteration: int
    correct: bool | None
    prediction: torch.Tensor = torch.zeros(1)
    confidence: torch.Tensor = torch.zeros(1)
    probabilities: torch.Tensor = torch.zeros(1)
    mean_confidence: float = 0.5


def stream(n: int, first_correct: int) -> list[Frame]:
    return [Frame(i, i >= first_correct) for i in range(1, n + 1)]


def test_recorder_keeps_first_first_correct_and_last(tmp_path):
    rec = Recorder(Squares(), None, None, 1000, f"{tmp_path / 'frames'}/", max_frames=20)
    kept = []
    rec._keep = lambda f: kept.append(f.iteration)  # record the choice, draw nothing
    for _ in rec.tap(stream(1000, first_correct=337)):
        pass
    rec.finish()
    assert kept[0] == 1 and 337 in kept and kept[-1] == 1000
    assert len(kept) <= 20 and kept == sorted(kept)


def test_recorder_keeps_the_last_frame_of_a_halted_solve(tmp_path):
    rec = Recorder(Squares(), None, None, 1000, tmp_path / "s.gif", max_frames=10)
    for _ in rec.tap(stream(401, first_correct=50)):
        pass
    saved = rec.finish()
    assert saved["last_iteration"] == 401 and saved["frames"] <= 10
    with Image.open(tmp_path / "s.gif") as im:
        assert im.n_frames == saved["frames"]


def test_frame_step_and_kinds(tmp_path):
    assert frame_step(60, 100) == 1 and frame_step(1000, 100) == 11
    assert save_kind("a.GIF") == "gif" and save_kind("a.png") == "png"
    assert save_kind("out/") == "dir" and save_kind(tmp_path) == "dir"
    with pytest.raises(DtError, match="FILE.gif"):
        save_kind("a.mp4")


def test_a_bad_picture_is_named(tmp_path):
    class Bad(Squares):
        name = "bad"

        def render_image(self, *args, **kwargs):
            return np.zeros((4, 4), dtype=np.float32)

    rec = Recorder(Bad(), None, None, 3, tmp_path / "s.png")
    with pytest.raises(DtError, match="'bad' drew a picture"):
        rec.frame_image(Frame(1, None))


# -- the built-in problems' pictures -------------------------------------------------------------

def test_maze_picture_shows_start_end_and_path(registry):
    mazes = registry.problems["mazes"]()
    x, y = mazes.dataset("test", 9, 1, 0)
    img = mazes.render_image(x[0], y[0], y[0], torch.ones(y[0].shape))
    assert img.dtype == np.uint8 and img.shape == (*y[0].shape, 3)
    colours = {tuple(c) for c in img.reshape(-1, 3)}
    assert (0, 255, 0) in colours and (255, 26, 26) in colours  # start, end
    small = mazes.render_image(x[0], y[0], y[0], fit=(5, 5))
    assert small.shape[0] <= 5 and (0, 255, 0) in {tuple(c) for c in small.reshape(-1, 3)}


def test_prefix_sums_picture_marks_wrong_bits(registry):
    ps = registry.problems["prefix-sums"]()
    x, y = ps.dataset("test", 40, 1, 0)
    pred = y[0].clone()
    pred[3] = 1 - pred[3]
    img = ps.render_image(x[0], pred, y[0], torch.ones(40))
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[1] >= 300
    assert (img == np.array([250, 170, 170], np.uint8)).all(-1).any() or \
        (img == np.array([200, 30, 30], np.uint8)).all(-1).any()  # a red (wrong) cell
    assert ps.render_image(x[0], fit=(200, 20)).shape[0] <= 20


def test_chess_picture(registry):
    chess_problem = registry.problems["chess"]()
    inst = chess_problem.parse_instance("6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1")
    x = inst.inputs
    pred = torch.zeros(8, 8, dtype=torch.uint8)
    pred[0, 3] = pred[7, 3] = 3  # Rd1-d8
    img = chess_problem.render_image(x, pred, inst.target, extras=inst.extras)
    assert img.dtype == np.uint8 and img.shape[2] == 3 and min(img.shape[:2]) >= 300
