"""Random grids with obstacles and the cells reachable from a seed (numpy, vectorised)."""

from __future__ import annotations

import numpy as np


def reachable(free: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """Cells 4-connected to ``seed`` through ``free`` cells; batched (N, H, W) bool arrays.

    Grows every grid of the batch one step per loop until none changes (a BFS front).
    """
    reach = seed & free
    while True:
        grown = reach.copy()
        grown[:, 1:, :] |= reach[:, :-1, :]
        grown[:, :-1, :] |= reach[:, 1:, :]
        grown[:, :, 1:] |= reach[:, :, :-1]
        grown[:, :, :-1] |= reach[:, :, 1:]
        grown &= free
        if np.array_equal(grown, reach):
            return reach
        reach = grown


def generate_grids(side: int, count: int, seed: int, density: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(free, seed, reach)``: (count, side, side) bool arrays, one seed cell per grid on a free cell."""
    rng = np.random.default_rng(seed)
    free = rng.random((count, side, side)) >= density
    # the seed: the free cell with the highest random score (any cell if a grid has none)
    scores = rng.random((count, side * side)) + free.reshape(count, -1)
    cell = scores.argmax(1)
    seeds = np.zeros((count, side * side), dtype=bool)
    seeds[np.arange(count), cell] = True
    seeds = seeds.reshape(count, side, side)
    free |= seeds
    return free, seeds, reachable(free, seeds)
