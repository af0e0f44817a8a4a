"""The numpy maze engine: generator, layouts, text form and terminal rendering."""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dt_mazes.generate import MazeSet, bfs_path, check_size, generate_mazes
from dt_mazes.layouts import e2h_to_compact, image_size, load_e2h_dir, to_compact, to_e2h
from dt_mazes.render import render_maze
from dt_mazes.text import format_text_maze, parse_text_maze


def _reachable(open_: np.ndarray, start) -> int:
    """Number of open pixels 4-connected to ``start`` (an independent flood fill)."""
    h, w = open_.shape
    seen = {tuple(int(v) for v in start)}
    queue = deque(seen)
    while queue:
        r, c = queue.popleft()
        for q in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= q[0] < h and 0 <= q[1] < w and open_[q] and q not in seen:
                seen.add(q)
                queue.append(q)
    return len(seen)


def _check_maze(mz: MazeSet, i: int) -> None:
    s = mz.size
    m = (s + 1) // 2
    grid, path = mz.open[i], mz.path[i]
    start, end = tuple(mz.start[i]), tuple(mz.end[i])
    assert grid.shape == path.shape == (s + 2, s + 2)
    assert start != end
    assert all(v % 2 == 1 for v in start + end)  # both are cells
    assert grid[start] and grid[end]
    assert grid[1::2, 1::2].all()  # every cell is open
    assert not grid[::2, ::2].any()  # corners between cells and the border corners are wall
    assert not (grid[0].any() or grid[-1].any() or grid[:, 0].any() or grid[:, -1].any())
    passages = int(grid.sum()) - m * m
    assert passages == m * m - 1  # a tree on m*m cells ...
    assert _reachable(grid, start) == int(grid.sum())  # ... that is connected: a spanning tree
    assert not (path & ~grid).any()
    expected = bfs_path(grid, start, end)
    assert expected is not None
    np.testing.assert_array_equal(path, expected)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(half=st.integers(1, 20), seed=st.integers(0, 2**32 - 1), count=st.integers(1, 5))
def test_every_maze_is_a_spanning_tree_with_the_bfs_path(half: int, seed: int, count: int):
    mz = generate_mazes(2 * half + 1, count, seed)
    assert mz.open.dtype == bool and mz.path.dtype == bool
    assert mz.start.dtype == np.int64 and mz.start.shape == (count, 2)
    for i in range(count):
        _check_maze(mz, i)


def test_many_small_mazes_are_valid():
    mz = generate_mazes(9, 300, 5)
    for i in range(len(mz)):
        _check_maze(mz, i)


def test_start_and_end_cover_all_distinct_cell_pairs():
    mz = generate_mazes(3, 4000, 0)  # 2x2 cells: 12 ordered (start, end) pairs, 4 trees
    pairs = {(tuple(a), tuple(b)) for a, b in zip(mz.start.tolist(), mz.end.tolist())}
    assert len(pairs) == 12
    trees = {mz.open[i].tobytes() for i in range(len(mz))}
    assert len(trees) == 4


def test_deterministic_in_the_seed():
    a, b, c = (generate_mazes(13, 20, s) for s in (7, 7, 8))
    for field in ("open", "start", "end", "path"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.open, c.open)
    assert a.size == 13


def test_empty_batch_and_bad_arguments():
    assert generate_mazes(5, 0, 0).open.shape == (0, 7, 7)
    for bad in (4, 1, 0, -3, 2.5, "9", True):
        with pytest.raises(ValueError, match="odd integer >= 3"):
            check_size(bad)
    with pytest.raises(ValueError, match="count"):
        generate_mazes(9, -1, 0)


def test_bfs_path_unreachable():
    grid = np.zeros((5, 5), dtype=bool)
    grid[1, 1] = grid[3, 3] = True
    assert bfs_path(grid, (1, 1), (3, 3)) is None


# ---------------------------------------------------------------- layouts


def test_compact_colours():
    mz = generate_mazes(9, 6, 1)
    inputs, targets = to_compact(mz)
    assert inputs.shape == (6, 3, 11, 11) and inputs.dtype == np.float32
    assert targets.dtype == np.int64
    np.testing.assert_array_equal(targets, mz.path)
    for i in range(6):
        (sr, sc), (er, ec) = mz.start[i], mz.end[i]
        assert inputs[i, :, sr, sc].tolist() == [0, 1, 0]
        assert inputs[i, :, er, ec].tolist() == [1, 0, 0]
        rest = mz.open[i].copy()
        rest[sr, sc] = rest[er, ec] = False
        assert (inputs[i][:, rest] == 1).all()
        assert (inputs[i][:, ~mz.open[i]] == 0).all()


@pytest.mark.parametrize("size,side", [(9, 24), (59, 124)])
def test_e2h_layout_matches_the_reference_upscaling(size: int, side: int):
    mz = generate_mazes(size, 2, 3)
    small, small_t = to_compact(mz)
    big, big_t = to_e2h(mz)
    assert big.shape == (2, 3, side, side) and big_t.shape == (2, side, side)
    assert image_size(size, "e2h") == side and image_size(size, "compact") == size + 2
    for a in (0, 1):
        for b in (0, 1):
            np.testing.assert_array_equal(big[:, :, 1 + a : side - 1 : 2, 1 + b : side - 1 : 2],
                                          small)
            np.testing.assert_array_equal(big_t[:, 1 + a : side - 1 : 2, 1 + b : side - 1 : 2],
                                          small_t)
    for edge in (big[:, :, 0], big[:, :, -1], big[:, :, :, 0], big[:, :, :, -1]):
        assert not edge.any()
    back, back_t = e2h_to_compact(big, big_t)
    np.testing.assert_array_equal(back, small)
    np.testing.assert_array_equal(back_t, small_t)


def test_layout_errors():
    with pytest.raises(ValueError, match="unknown maze layout"):
        image_size(9, "huge")
    with pytest.raises(ValueError, match="odd integer"):
        image_size(8, "e2h")
    for side in (25, 22, 10):
        with pytest.raises(ValueError, match="2s\\+6"):
            e2h_to_compact(np.zeros((1, 3, side, side)), np.zeros((1, side, side)))
    with pytest.raises(ValueError, match="targets"):
        e2h_to_compact(np.zeros((2, 3, 24, 24)), np.zeros((1, 24, 24)))
    with pytest.raises(ValueError, match="\\(N, 3, H, H\\)"):
        e2h_to_compact(np.zeros((2, 1, 24, 24)), np.zeros((2, 24, 24)))


def _save(folder: Path, inputs, solutions) -> Path:
    folder.mkdir(exist_ok=True)
    if inputs is not None:
        np.save(folder / "inputs.npy", inputs)
    if solutions is not None:
        np.save(folder / "solutions.npy", solutions)
    return folder


def test_load_e2h_dir_round_trip(tmp_path):
    inputs, targets = to_e2h(generate_mazes(9, 5, 2))
    folder = _save(tmp_path / "maze_data_test_9", inputs.astype(np.float64), targets)
    got, got_t = load_e2h_dir(folder)
    assert got.dtype == np.float32 and got_t.dtype == np.int64
    np.testing.assert_array_equal(got, inputs)
    np.testing.assert_array_equal(got_t, targets)


def test_load_e2h_dir_errors(tmp_path):
    good, good_t = to_e2h(generate_mazes(9, 3, 2))
    with pytest.raises(ValueError, match="not a directory"):
        load_e2h_dir(tmp_path / "nowhere")
    cases = [
        ("missing", good, None, "solutions.npy: file not found"),
        ("shape", good[:, :2], good_t, "inputs.npy: expected shape"),
        ("side", np.zeros((3, 3, 25, 25)), np.zeros((3, 25, 25)), "inputs.npy: image side 25"),
        ("sol", good, good_t[:, :-1], "solutions.npy: expected shape"),
        ("count", good, good_t[:2], "solutions.npy: 2 solutions but inputs.npy has 3"),
        ("values", good * 0.5, good_t, "inputs.npy: values must be 0 or 1"),
        ("tvalues", good, good_t * 2, "solutions.npy: values must be 0 or 1"),
        ("pickle", np.array([{"a": 1}], dtype=object), good_t, "inputs.npy: not a readable"),
    ]
    for name, inputs, solutions, message in cases:
        folder = _save(tmp_path / name, inputs, solutions)
        with pytest.raises(ValueError, match=message.replace("(", "\\(")):
            load_e2h_dir(folder)


# ---------------------------------------------------------------- text


def _text(seed: int = 4, size: int = 9) -> tuple[MazeSet, str]:
    mz = generate_mazes(size, 1, seed)
    return mz, format_text_maze(mz.open[0], mz.start[0], mz.end[0])


def test_text_round_trip():
    for seed in range(5):
        mz, text = _text(seed)
        grid, start, end = parse_text_maze(text)
        np.testing.assert_array_equal(grid, mz.open[0])
        assert start == tuple(mz.start[0]) and end == tuple(mz.end[0])
        assert format_text_maze(grid, start, end) == text
        with_path = format_text_maze(grid, start, end, mz.path[0])
        assert with_path.count("o") == int(mz.path[0].sum()) - 2
        assert parse_text_maze(with_path)[0].tolist() == grid.tolist()


def test_text_padding_and_whitespace():
    mz, text = _text()
    lines = text.splitlines()
    bare = "\n".join(line[1:-1] for line in lines[1:-1])
    grid, start, end = parse_text_maze(bare)
    np.testing.assert_array_equal(grid, mz.open[0])
    assert start == tuple(mz.start[0])
    loose = "\n\n" + "\n".join("   " + line + "  \t" for line in lines) + "\n\n  \n"
    assert parse_text_maze(loose)[0].tolist() == mz.open[0].tolist()


def _edit(text: str, r: int, c: int, ch: str) -> str:
    rows = [list(line) for line in text.splitlines()]
    rows[r][c] = ch
    return "\n".join("".join(row) for row in rows)


def test_text_errors():
    mz, text = _text()
    (sr, sc), (er, ec) = mz.start[0], mz.end[0]
    no_s = _edit(text, sr, sc, ".")
    rows = text.splitlines()
    cases = [
        ("", "empty maze"),
        (" \n\n  ", "empty maze"),
        (_edit(text, 3, 4, "x"), "line 4, column 5: unknown character 'x'"),
        ("\n".join(rows[:3] + [rows[3][:-1]] + rows[4:]), "line 4: row has 10 characters"),
        ("\n".join(rows[:3] + [""] + rows[3:]), "line 4: empty row"),
        (no_s, "exactly one S \\(start\\), found 0"),
        (_edit(text, er, ec, "."), "exactly one E \\(end\\), found 0"),
        (_edit(text, 1, 1, "S") if (sr, sc) != (1, 1) else _edit(text, 1, 3, "S"),
         "exactly one S \\(start\\), found 2"),
        (_edit(no_s, 2, 2, "S"), "line 3, column 3: S is on a wall position"),
        ("\n".join(rows[:-1]), "must be square, got 10 rows of 11"),
        ("####\n#SE#\n#..#\n####", "got 4x4"),
        ("S.\n.E", "got 4x4 after adding the missing outer wall"),
        ("SE.", "must be square"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message) as info:
            parse_text_maze(bad)
        assert "\n" not in str(info.value)


def test_text_small_valid_maze():
    grid, start, end = parse_text_maze("S..\n#.#\nE..")  # a size-3 maze without outer wall
    assert grid.shape == (5, 5) and start == (1, 1) and end == (3, 1)


# ---------------------------------------------------------------- render


@pytest.mark.parametrize("size", [9, 21])
def test_render_half_blocks(size: int):
    mz = generate_mazes(size, 1, 6)
    grid, start, end, path = mz.open[0], mz.start[0], mz.end[0], mz.path[0]
    height = size + 2
    plain = render_maze(grid, start, end)
    pred = path.copy()
    pred[1, 1] = not pred[1, 1]
    conf = np.linspace(0, 1, grid.size).reshape(grid.shape)
    for text in (plain, render_maze(grid, start, end, pred, path, conf),
                 render_maze(grid, start, end, target=path), render_maze(grid, start, end, pred)):
        lines = text.plain.split("\n")
        assert len(lines) == math.ceil(height / 2)
        assert all(len(line) == height for line in lines)
        assert set(text.plain) <= {"\u2580", "\n"}
        assert len(text.spans) < height * len(lines)  # runs are grouped
    with pytest.raises(ValueError, match="prediction"):
        render_maze(grid, start, end, prediction=np.zeros((3, 3)))
