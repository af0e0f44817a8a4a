"""The mazes problem: data in both layouts, masked loss, verification, text input, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dtcli.contracts.errors import DtError

TINY_MAZE = ["--width", "8", "--max-iters", "4", "--epochs", "1", "--batch-size", "16",
             "--train-count", "64", "--test-count", "8", "--test-iters", "6",
             "--train-difficulty", "5", "--test-difficulty", "7", "--seed", "2"]

TEXT = """
#######
#S..#.#
###.#.#
#.....#
#.###.#
#...#E#
#######
"""


@pytest.fixture
def mazes(registry):
    return registry.problem("mazes")


def test_layouts_and_dtypes(registry):
    compact = registry.problem("mazes", {"layout": "compact"})
    e2h = registry.problem("mazes", {"layout": "e2h"})
    x, y = compact.dataset("train", 9, 20, seed=0)
    assert x.shape == (20, 3, 11, 11) and y.shape == (20, 11, 11) and x.dtype == torch.uint8
    xe, ye = e2h.dataset("train", 9, 20, seed=0)
    assert xe.shape == (20, 3, 24, 24) and ye.shape == (20, 24, 24)
    # the same mazes: every other e2h pixel from index 1 is the compact grid
    assert torch.equal(xe[:, :, 1:-1:2, 1:-1:2], x) and torch.equal(ye[:, 1:-1:2, 1:-1:2], y)


def test_difficulty_must_be_odd(mazes):
    assert mazes.parse_difficulty("13") == 13
    for bad in ("8", "1", "0", "x"):
        with pytest.raises(DtError):
            mazes.parse_difficulty(bad)
    assert "7x7 cells" in mazes.describe_difficulty(13)


def test_mixed_training_sizes_parse(mazes):
    assert mazes.parse_difficulty("9-13") == (9, 11, 13)
    assert mazes.parse_difficulty(" 7 , 11-13") == (7, 11, 13)
    assert mazes.parse_difficulty("9,9") == 9  # one size is not a mix
    assert mazes.describe_difficulty((9, 11)) == "sizes 9, 11 (mixed)"
    for bad, words in (("13-9", "smallest first"), ("8-12", "odd"), ("9-", "range"),
                       ("a,b", "list")):
        with pytest.raises(DtError, match=words):
            mazes.parse_difficulty(bad)


@pytest.mark.parametrize("layout", ["compact", "e2h"])
def test_mixed_sizes_are_padded_with_wall_in_equal_shares(registry, layout):
    from dt_mazes.generate import generate_mixed
    from dt_mazes.verify import raw_grid

    m = generate_mixed((5, 9), 20, seed=4)
    spans = []
    for open_, path, start, end in zip(m.open, m.path, m.start, m.end):
        rows, cols = np.nonzero(open_)
        spans.append(rows.max() - rows.min())
        # a maze of size s spans s-1 raw rows from its first to last open pixel, on odd rows
        assert rows.min() % 2 == 1 and cols.min() % 2 == 1
        assert open_[tuple(start)] and open_[tuple(end)] and path[tuple(start)] and path[tuple(end)]
        assert not (path & ~open_).any()
    assert sorted(spans) == [4] * 10 + [8] * 10
    again = generate_mixed((5, 9), 20, seed=4)
    assert np.array_equal(again.open, m.open) and np.array_equal(again.path, m.path)
    problem = registry.problem("mazes", {"layout": layout})
    x, y = problem.dataset("train", problem.parse_difficulty("5-9"), 20, seed=4)
    assert x.shape[-1] == (11 if layout == "compact" else 24)
    assert problem.verify(y.long(), x.float(), y).all()
    walls = raw_grid(x, layout).amax(1) == 0
    assert walls[:, 0].all() and not (raw_grid(y, layout).bool() & walls).any()


def test_mixed_sizes_need_generated_mazes(registry):
    imported = registry.problem("mazes", {"source": "e2h-small"})
    with pytest.raises(DtError, match="need generated mazes"):
        imported.dataset("train", (5, 7), 8, seed=0)


def test_loss_ignores_walls_and_prediction_is_masked(mazes):
    x, y = mazes.dataset("train", 5, 4, seed=1)
    x, y = x.float(), y.long()
    logits = torch.zeros(4, 2, *y.shape[1:])
    logits[:, 1] = torch.where(y.bool(), 5.0, -5.0)
    wall = x.amax(1) == 0
    noisy = logits.clone()
    noisy[:, 1][wall] = 5.0  # "path" on every wall pixel: must not change loss or prediction
    assert torch.allclose(mazes.loss(noisy, y, x), mazes.loss(logits, y, x))
    assert torch.equal(mazes.predict(noisy, x), y)
    assert mazes.correct(mazes.predict(noisy, x), y).all()


@pytest.mark.parametrize("layout", ["compact", "e2h"])
def test_verify_accepts_paths_and_rejects_breaks(registry, layout):
    p = registry.problem("mazes", {"layout": layout})
    x, y = p.dataset("test", 11, 16, seed=3)
    x, y = x.float(), y.long()
    assert p.verify(y, x, y).all()
    broken = y.clone()
    for i in range(len(broken)):  # remove one middle pixel of each path
        rows, cols = torch.nonzero(broken[i], as_tuple=True)
        j = len(rows) // 2
        broken[i, rows[j], cols[j]] = 0
    assert not p.verify(broken, x, y).any()
    extra = y.clone()
    extra[:, :, :] = 0
    assert not p.verify(extra, x, y).any()


def test_text_maze_input_and_target(mazes, tmp_path):
    x = mazes.parse_instance(TEXT)
    assert x.shape == (3, 7, 7)
    target = mazes.target_for(x)
    assert target.sum() == 9 and target[1, 1] == 1 and target[5, 5] == 1
    with pytest.raises(DtError, match="bad maze file"):
        mazes.parse_instance("#S#\n#X#\n")
    with pytest.raises(DtError, match="no open path leads from S to E"):
        mazes.parse_instance("#####\n#S#E#\n#.#.#\n#.#.#\n#####\n")


def test_render_shows_a_maze(mazes):
    from rich.console import Console

    x, y = mazes.dataset("test", 9, 1, seed=0)
    console = Console(record=True, width=40, color_system="truecolor")
    console.print(mazes.render(x[0], y[0], y[0], torch.ones(y[0].shape)))
    assert len(console.export_text().splitlines()) == 6  # 11 rows, two per line


def test_paper_preset_builds_the_reference_model(cli):
    doc = json.loads(cli("train", "mazes", "--arch", "dt-recall", "--preset", "paper",
                         "--dry-run", "--json").stdout)
    assert doc["model"]["parameters"] == 783_504
    assert doc["config"]["problem_options"]["layout"] == "e2h"
    assert doc["config"]["throttle"] is True and doc["config"]["alpha"] == 0.01


def test_train_test_solve_and_import(cli, tmp_path):
    run = tmp_path / "m"
    result = cli("train", "mazes", "--arch", "dt-recall", *TINY_MAZE, "--out", run)
    assert result.exit_code == 0, result.output
    mixed = cli("train", "mazes", "--arch", "dt-recall", *TINY_MAZE, "--train-difficulty", "5-7",
                "--out", tmp_path / "mixed", "--json")
    assert mixed.exit_code == 0, mixed.output
    config = json.loads((tmp_path / "mixed" / "config.json").read_text())["train"]
    assert config["train_difficulty"] == "5-7"
    res = json.loads(cli("test", run, "-d", "9", "--iters", "1:12", "--count", "6",
                         "--mode", "fixed", "--mode", "halt", "-k", "3", "--json").stdout)
    assert len(res["verified"]["accuracy"]) == 12 and "compute_saved" in res["halt"]
    alone = json.loads(cli("test", run, "-d", "9", "--iters", "1:12", "--count", "6",
                           "--mode", "halt", "-k", "3", "--json").stdout)
    assert "fixed" not in alone and alone["halt"]["correct"] == res["halt"]["correct"]
    shown = cli("test", run, "-d", "9", "--iters", "1:12", "--count", "6", "--mode", "fixed",
                "--mode", "halt", "-k", "3").stdout
    assert "both ran" in shown and "instance-iterations" in shown
    maze_file = tmp_path / "maze.txt"
    maze_file.write_text(TEXT)
    solved = cli("solve", run, "--input", maze_file, "--iters", "3", "--fps", "0")
    assert solved.exit_code == 0 and "iteration" in solved.stdout
    bad = tmp_path / "bad.txt"
    bad.write_text("#S#\n#Q#\n")
    out = cli("solve", run, "--input", bad)
    assert out.exit_code == 2 and "bad maze file" in out.stderr

    # easy-to-hard-data's files: inputs.npy (N,3,H,W) and solutions.npy (N,H,W)
    from dt_mazes.generate import generate_mazes
    from dt_mazes.layouts import to_e2h

    data = tmp_path / "maze_data_test_7"
    data.mkdir()
    inputs, targets = to_e2h(generate_mazes(7, 12, seed=9))
    np.save(data / "inputs.npy", inputs)
    np.save(data / "solutions.npy", targets.astype(np.float32))
    info = json.loads(cli("data", "import", "mazes", data, "--json").stdout)
    assert info["count"] == 12 and info["difficulty"] == 7 and info["name"] == "maze_data_test_7"
    res = json.loads(cli("test", run, "-d", "7", "--iters", "3", "--count", "12",
                         "-o", "source=maze_data_test_7", "--json").stdout)
    assert res["total"] == 12
    wrong = cli("test", run, "-d", "9", "-o", "source=maze_data_test_7")
    assert wrong.exit_code == 2 and "size 7" in wrong.stderr
