"""Vectorised random maze generation (numpy only).

A size ``s`` maze (``s`` odd, ``s >= 3``) has ``m = (s + 1) // 2`` cells per side and a raw grid of
``(s + 2) x (s + 2)`` pixels: cell ``(r, c)`` sits at pixel ``(2r + 1, 2c + 1)``, the passage
between two adjacent cells at the pixel between them, everything else is wall. The maze is the
spanning tree of the cell grid grown by a randomized depth-first search (recursive backtracker)
rooted at the start cell, as in easy-to-hard-data's ``make_mazes.py``; the solution is the unique
tree path from start to end.

All mazes of a batch advance in lock-step: one numpy step moves every maze either to a random
unvisited neighbour of its current cell or back to that cell's parent. The DFS stack is never
stored: the stack is exactly the tree path from the root, so backtracking follows the parent
pointer, which the tree needs anyway.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

# Directions: 0 up, 1 down, 2 left, 3 right, 4 none (root / backtrack).
_OPPOSITE = (1, 0, 3, 2, 4)
# Random draws are uniform over 0..11 and 12 is divisible by 1, 2, 3 and 4, so ``draw % k`` picks
# uniformly among k candidate directions.
_DRAWS = 12
_BITS = np.array([1, 2, 4, 8], dtype=np.uint8)


@dataclass
class MazeSet:
    """A batch of mazes on the raw pixel grid (side ``size + 2``)."""

    open: np.ndarray  # (N, s+2, s+2) bool, True = open pixel
    start: np.ndarray  # (N, 2) int64, raw (row, col) of the start cell
    end: np.ndarray  # (N, 2) int64, raw (row, col) of the end cell
    path: np.ndarray  # (N, s+2, s+2) bool, the unique start->end path pixels
    size: int  # s

    def __len__(self) -> int:
        return len(self.open)


def check_size(size: int) -> None:
    """Raise ValueError unless ``size`` is an odd integer >= 3 (9, 13, 33, 59, 201, ...)."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise ValueError(f"maze size must be an odd integer >= 3, got {size!r}")
    if size < 3 or size % 2 == 0:
        raise ValueError(f"maze size must be an odd integer >= 3 (e.g. 9, 13, 59), got {size}")


def _choice_table() -> np.ndarray:
    """Direction for each ``mask | draw << 4`` (mask bit k: neighbour k unvisited); 4 if none."""
    table = np.full(256, 4, dtype=np.uint8)
    for mask in range(1, 16):
        dirs = [d for d in range(4) if mask >> d & 1]
        for draw in range(_DRAWS):
            table[mask | draw << 4] = dirs[draw % len(dirs)]
    return table


_CHOICE = _choice_table()
# Parent directions are stored shifted left by 3 so that ``d | stored`` indexes the tables below
# with one OR. KEEP: what to store at the step's target (the new cell's parent direction, or the
# current cell's own value when backtracking, where the target is the current cell).
_KEEP = np.array([(_OPPOSITE[d] if d < 4 else p) << 3 for p in range(5) for d in range(8)],
                 dtype=np.uint8)


def _offsets(m: int) -> np.ndarray:
    """Flat offsets of the 5 directions in the padded ``(m+2) x (m+2)`` cell grid."""
    return np.array([-(m + 2), m + 2, -1, 1, 0], dtype=np.intp)


def _grow_trees(m: int, root: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomized DFS spanning trees of the m x m grid, one per root cell, all in lock-step.

    Works on the cell grid padded with a ring of permanently visited cells, so neighbours are
    plain offsets. ``root`` holds padded flat cell indices; returns the parent direction of every
    padded cell, shifted left by 3, ``(N, (m+2)**2)`` uint8 (4 << 3 for the roots and the ring).
    """
    n, side = len(root), m + 2
    width = side * side
    off = _offsets(m)
    # STEP: where the current cell moves, forward to direction d or back up to its parent.
    step = np.array([off[d] if d < 4 else off[p] for p in range(5) for d in range(8)],
                    dtype=np.intp)
    unvisited = np.zeros((n, side, side), dtype=bool)
    unvisited[:, 1:-1, 1:-1] = True
    unvisited = unvisited.reshape(n, width)
    unvisited[np.arange(n), root] = False
    parent = np.full((n, width), 4 << 3, dtype=np.uint8)
    unvisited_flat, parent_flat = unvisited.reshape(-1), parent.reshape(-1)
    neighbours = off[:4, None]

    active = np.arange(n)
    cur = active * width + root  # flat index into the whole batch
    # Checking for finished mazes costs O(N * cells); do it every few steps and drop them.
    check_every = min(256, max(16, m * m // 8))
    while len(active):
        draws = rng.integers(0, _DRAWS, size=(check_every, len(active)), dtype=np.uint8) << 4
        for k in range(check_every):
            free = unvisited_flat[neighbours + cur].view(np.uint8)  # (4, n)
            d = _CHOICE[(_BITS @ free) | draws[k]]
            target = cur + off[d]  # the current cell itself when backtracking
            code = d | parent_flat[cur]
            unvisited_flat[target] = False
            parent_flat[target] = _KEEP[code]
            cur += step[code]
        busy = unvisited[active].any(axis=1)
        if not busy.all():
            active, cur = active[busy], cur[busy]
    return parent


def _tree_path(m: int, parent: np.ndarray, root: np.ndarray, leaf: np.ndarray) -> np.ndarray:
    """Padded cells on the tree path from ``leaf`` up to ``root``, ``(N, (m+2)**2)`` bool."""
    n, width = parent.shape
    up = np.zeros(8 * 5, dtype=np.intp)
    up[np.arange(5) << 3] = _offsets(m)
    on_path = np.zeros((n, width), dtype=bool)
    path_flat, parent_flat = on_path.reshape(-1), parent.reshape(-1)
    base = np.arange(n) * width
    cur, goal = base + leaf, base + root
    path_flat[goal] = True
    check_every = min(256, max(16, m * m // 8))
    while len(cur):
        for _ in range(check_every):
            path_flat[cur] = True
            cur += up[parent_flat[cur]]  # the root is its own parent
        busy = cur != goal
        cur, goal = cur[busy], goal[busy]
    return on_path


def _cells_to_pixels(m: int, cells: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Raw ``(N, 2m+1, 2m+1)`` mask of the chosen padded ``cells`` and the passage from each to
    its parent."""
    n, side = len(cells), m + 2
    cells = cells.reshape(n, side, side)[:, 1:-1, 1:-1]
    parent = parent.reshape(n, side, side)[:, 1:-1, 1:-1] >> 3
    out = np.zeros((n, 2 * m + 1, 2 * m + 1), dtype=bool)
    out[:, 1::2, 1::2] = cells
    out[:, 0 : 2 * m : 2, 1::2] |= cells & (parent == 0)  # parent above
    out[:, 2::2, 1::2] |= cells & (parent == 1)  # parent below
    out[:, 1::2, 0 : 2 * m : 2] |= cells & (parent == 2)  # parent left
    out[:, 1::2, 2::2] |= cells & (parent == 3)  # parent right
    return out


def generate_mazes(size: int, count: int, seed: int) -> MazeSet:
    """``count`` random size-``size`` mazes with their solutions; deterministic in the arguments."""
    check_size(size)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"maze count must be an integer >= 0, got {count!r}")
    m = (size + 1) // 2
    cells = m * m
    rng = np.random.default_rng(seed)
    start = rng.integers(0, cells, size=count)
    # A uniform non-zero shift makes end uniform over the cells other than start.
    end = (start + rng.integers(1, cells, size=count)) % cells

    def padded(cell: np.ndarray) -> np.ndarray:
        r, c = np.divmod(cell, m)
        return ((r + 1) * (m + 2) + c + 1).astype(np.intp)

    def raw(cell: np.ndarray) -> np.ndarray:
        r, c = np.divmod(cell.astype(np.int64), m)
        return np.stack([2 * r + 1, 2 * c + 1], axis=1).reshape(-1, 2)

    parent = _grow_trees(m, padded(start), rng)
    open_ = _cells_to_pixels(m, np.ones(parent.shape, dtype=bool), parent)
    path = _cells_to_pixels(m, _tree_path(m, parent, padded(start), padded(end)), parent)
    return MazeSet(open=open_, start=raw(start), end=raw(end), path=path, size=size)


def generate_mixed(sizes: tuple[int, ...], count: int, seed: int) -> MazeSet:
    """``count`` mazes of several sizes in equal shares (in a seeded random order), each in a
    raw grid of the largest size: a smaller maze sits at a random even offset, the rest is
    wall. One tensor shape lets a fully convolutional net train on mixed sizes in one batch;
    even offsets keep every maze on the big grid's cell lattice."""
    big = max(sizes)  # generate_mazes checks every size
    rng = np.random.default_rng(seed)
    which = rng.permutation(np.arange(count) % len(sizes))
    out = MazeSet(open=np.zeros((count, big + 2, big + 2), dtype=bool),
                start=np.zeros((count, 2), dtype=np.int64), end=np.zeros((count, 2), dtype=np.int64),
                path=np.zeros((count, big + 2, big + 2), dtype=bool), size=big)
    for k, size in enumerate(sizes):
        rows = np.flatnonzero(which == k)
        part = generate_mazes(size, len(rows), int(rng.integers(0, 2**32)))
        offsets = 2 * rng.integers(0, (big - size) // 2 + 1, size=(len(rows), 2))
        for row, (dr, dc), o, p in zip(rows, offsets, part.open, part.path):
            out.open[row, dr:dr + size + 2, dc:dc + size + 2] = o
            out.path[row, dr:dr + size + 2, dc:dc + size + 2] = p
        out.start[rows] = part.start + offsets
        out.end[rows] = part.end + offsets
    return out


def bfs_path(open_: np.ndarray, start, end) -> np.ndarray | None:
    """Shortest 4-neighbour path from ``start`` to ``end`` over open pixels of one maze.

    A plain breadth-first search, independent of the generator: returns the bool mask of the
    path (both ends included) or None when ``end`` cannot be reached.
    """
    grid = np.asarray(open_, dtype=bool)
    h, w = grid.shape
    s = int(start[0]) * w + int(start[1])
    e = int(end[0]) * w + int(end[1])
    flat = grid.reshape(-1).tolist()
    if not (flat[s] and flat[e]):
        return None
    prev = [-1] * (h * w)
    prev[s] = s
    queue = deque([s])
    while queue:
        p = queue.popleft()
        if p == e:
            break
        r, c = divmod(p, w)
        for q, ok in ((p - w, r > 0), (p + w, r < h - 1), (p - 1, c > 0), (p + 1, c < w - 1)):
            if ok and flat[q] and prev[q] < 0:
                prev[q] = p
                queue.append(q)
    if prev[e] < 0:
        return None
    mask = np.zeros(h * w, dtype=bool)
    p = e
    while p != s:
        mask[p] = True
        p = prev[p]
    mask[s] = True
    return mask.reshape(h, w)
