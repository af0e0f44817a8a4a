"""Maze tensors in two layouts (numpy only).

* ``compact``: the raw grid itself, side ``s + 2``; one pixel per wall/cell/passage.
* ``e2h``: the image layout of easy-to-hard-data: every raw pixel upscaled to 2x2, then a
  1-pixel zero border, side ``2s + 6`` (24 for size 9, 124 for size 59).

Inputs are RGB float32, channels first: wall (0,0,0), open (1,1,1), start (0,1,0), end (1,0,0).
Targets are int64, 1 on the solution path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dt_mazes.generate import MazeSet, check_size

LAYOUTS = ("compact", "e2h")
START_RGB = (0.0, 1.0, 0.0)
END_RGB = (1.0, 0.0, 0.0)


def to_compact(m: MazeSet) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(N, 3, s+2, s+2)`` float32 and targets ``(N, s+2, s+2)`` int64 on the raw grid."""
    n = len(m.open)
    inputs = np.repeat(m.open[:, None].astype(np.float32), 3, axis=1)
    rows = np.arange(n)
    for (r, c), rgb in ((m.start.T, START_RGB), (m.end.T, END_RGB)):
        inputs[rows, :, r, c] = rgb
    return inputs, m.path.astype(np.int64)


def _upscale(a: np.ndarray) -> np.ndarray:
    """Each pixel of the last two axes to 2x2, then a 1-pixel zero border."""
    big = np.repeat(np.repeat(a, 2, axis=-2), 2, axis=-1)
    pad = [(0, 0)] * (a.ndim - 2) + [(1, 1), (1, 1)]
    return np.pad(big, pad)


def to_e2h(m: MazeSet) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(N, 3, 2s+6, 2s+6)`` float32 and targets ``(N, 2s+6, 2s+6)`` int64 (e2h layout)."""
    inputs, targets = to_compact(m)
    return _upscale(inputs), _upscale(targets)


def _e2h_size(side: int) -> int | None:
    """The maze size ``s`` of an e2h image of this side, or None if no odd ``s >= 3`` fits."""
    s, rest = divmod(side - 6, 2)
    return s if rest == 0 and s >= 3 and s % 2 == 1 else None


def e2h_to_compact(inputs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`to_e2h`: one pixel of every 2x2 block; inputs float32, targets int64."""
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    if inputs.ndim != 4 or inputs.shape[1] != 3 or inputs.shape[2] != inputs.shape[3]:
        raise ValueError(f"e2h maze inputs must have shape (N, 3, H, H), got {inputs.shape}")
    side = inputs.shape[2]
    if _e2h_size(side) is None:
        raise ValueError(f"e2h maze images must have side 2s+6 for an odd maze size s >= 3 "
                         f"(12, 16, 20, 24, ...), got {side}")
    if targets.shape != (inputs.shape[0], side, side):
        raise ValueError(f"e2h maze targets must have shape {(inputs.shape[0], side, side)} "
                         f"to match the inputs, got {targets.shape}")
    inner = slice(1, side - 1, 2)
    return (inputs[:, :, inner, inner].astype(np.float32),
            targets[:, inner, inner].astype(np.int64))


def image_size(size: int, layout: str) -> int:
    """Side of the model's input image for a size-``size`` maze in ``layout``."""
    check_size(size)
    if layout == "compact":
        return size + 2
    if layout == "e2h":
        return 2 * size + 6
    raise ValueError(f"unknown maze layout {layout!r}; choose one of {', '.join(LAYOUTS)}")


def _load(path: Path) -> np.ndarray:
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npy array ({exc})") from None


def _check_binary(path: Path, a: np.ndarray) -> None:
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{path}: expected a numeric array, got dtype {a.dtype}")
    bad = (a != 0) & (a != 1)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{path}: values must be 0 or 1, found {a[where]!r} at index {where}")


def load_e2h_dir(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read easy-to-hard-data's ``inputs.npy`` ``(N, 3, H, H)`` and ``solutions.npy``
    ``(N, H, H)`` from a directory; returns (float32 inputs, int64 targets) in the e2h layout."""
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a directory (expected inputs.npy and solutions.npy)")
    in_path, sol_path = folder / "inputs.npy", folder / "solutions.npy"
    inputs, targets = _load(in_path), _load(sol_path)
    if inputs.ndim != 4 or inputs.shape[1] != 3 or inputs.shape[2] != inputs.shape[3]:
        raise ValueError(f"{in_path}: expected shape (N, 3, H, H), got {inputs.shape}")
    side = inputs.shape[2]
    if _e2h_size(side) is None:
        raise ValueError(f"{in_path}: image side {side} is not 2s+6 for an odd maze size s >= 3")
    if targets.ndim != 3 or targets.shape[1:] != (side, side):
        raise ValueError(f"{sol_path}: expected shape (N, {side}, {side}) to match "
                         f"{in_path.name}, got {targets.shape}")
    if len(targets) != len(inputs):
        raise ValueError(f"{sol_path}: {len(targets)} solutions but {in_path.name} has "
                         f"{len(inputs)} mazes")
    _check_binary(in_path, inputs)
    _check_binary(sol_path, targets)
    return inputs.astype(np.float32, copy=False), targets.astype(np.int64, copy=False)
