"""Mazes as text (numpy only): ``#`` wall, ``.`` open, ``S`` start, ``E`` end, ``o`` path.

The grid is the raw pixel grid of a size-``s`` maze, side ``s + 2`` including its outer wall; a
grid drawn without the outer wall is accepted and padded with one. ``o`` (a path pixel, as
written by :func:`format_text_maze`) reads back as open.
"""

from __future__ import annotations

import numpy as np

_OPEN = {"#": False, ".": True, "o": True, "S": True, "E": True}


def _fail(message: str) -> None:
    raise ValueError(message)


def parse_text_maze(text: str) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Parse a text maze into (open ``(H, W)`` bool, start, end), raw-grid (row, col) coordinates.

    Surrounding blank lines and whitespace around each row are ignored. Raises ValueError with a
    one-line message (naming the line and column where it applies) on structural errors.
    """
    rows: list[tuple[int, int, str]] = []  # (line number, column of the first char, row text)
    for number, line in enumerate(text.splitlines(), start=1):
        body = line.strip()
        rows.append((number, len(line) - len(line.lstrip()) + 1, body))
    while rows and not rows[-1][2]:
        rows.pop()
    while rows and not rows[0][2]:
        rows.pop(0)
    if not rows:
        _fail("empty maze: expected rows of '#' (wall), '.' (open), 'S' (start), 'E' (end)")

    width = len(rows[0][2])
    starts: list[tuple[int, int, int, int]] = []  # (row, col, line, column) of each S
    ends: list[tuple[int, int, int, int]] = []
    grid = np.zeros((len(rows), width), dtype=bool)
    for r, (number, first, body) in enumerate(rows):
        if not body:
            _fail(f"line {number}: empty row inside the maze")
        if len(body) != width:
            _fail(f"line {number}: row has {len(body)} characters but the first row has {width} "
                  "(rows must all have the same length)")
        for c, ch in enumerate(body):
            if ch not in _OPEN:
                _fail(f"line {number}, column {first + c}: unknown character {ch!r} "
                      "(use '#' wall, '.' open, 'S' start, 'E' end, 'o' path)")
            grid[r, c] = _OPEN[ch]
            if ch == "S":
                starts.append((r, c, number, first + c))
            elif ch == "E":
                ends.append((r, c, number, first + c))
    for name, found in (("S (start)", starts), ("E (end)", ends)):
        if len(found) != 1:
            places = ", ".join(f"line {ln} column {col}" for _, _, ln, col in found[:3])
            _fail(f"the maze needs exactly one {name}, found {len(found)}"
                  + (f" ({places})" if places else ""))

    height = len(rows)
    if height != width:
        _fail(f"the maze must be square, got {height} rows of {width} characters")
    walled = not (grid[0].any() or grid[-1].any() or grid[:, 0].any() or grid[:, -1].any())
    pad = 0 if walled else 1
    side = height + 2 * pad
    if side < 5 or side % 2 == 0:
        _fail(f"a maze grid with its outer wall must be (s+2)x(s+2) for an odd maze size s >= 3 "
              f"(5x5, 7x7, 11x11, ...), got {side}x{side}"
              + ("" if walled else " after adding the missing outer wall"))
    if pad:
        grid = np.pad(grid, 1)

    points = []
    for name, ((r, c, number, column),) in (("S", starts), ("E", ends)):
        r, c = r + pad, c + pad
        if r % 2 == 0 and c % 2 == 0:
            _fail(f"line {number}, column {column}: {name} is on a wall position "
                  "(a corner between cells, which is always wall)")
        points.append((r, c))
    return grid, points[0], points[1]


def format_text_maze(open_: np.ndarray, start, end, path: np.ndarray | None = None) -> str:
    """Draw one raw-grid maze as text (the inverse of :func:`parse_text_maze`); ``path`` pixels,
    when given, are drawn as ``o``. Lines end with a newline."""
    grid = np.asarray(open_, dtype=bool)
    chars = np.where(grid, ".", "#").astype("<U1")
    if path is not None:
        chars[np.asarray(path, dtype=bool) & grid] = "o"
    chars[int(start[0]), int(start[1])] = "S"
    chars[int(end[0]), int(end[1])] = "E"
    return "".join("".join(row) + "\n" for row in chars.tolist())
