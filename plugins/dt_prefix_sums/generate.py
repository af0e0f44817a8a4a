"""Unique random bit strings and their running parities (numpy only)."""

from __future__ import annotations

import numpy as np


def unique_bit_strings(bits: int, count: int, seed: int) -> np.ndarray:
    """``count`` distinct random bit strings of length ``bits``, shape (count, bits), uint8.

    Deterministic in ``seed``; strings keep the order in which they were first drawn.
    """
    if bits < 63 and count > 2**bits:
        raise ValueError(f"only {2**bits} distinct {bits}-bit strings exist, asked for {count}")
    rng = np.random.default_rng(seed)
    out = np.empty((0, bits), dtype=np.uint8)
    while len(out) < count:
        need = count - len(out)
        draw = rng.integers(0, 2, size=(need + need // 10 + 16, bits), dtype=np.uint8)
        pool = np.concatenate([out, draw])
        _, first = np.unique(pool, axis=0, return_index=True)
        out = pool[np.sort(first)]
    return out[:count]


def running_parity(strings: np.ndarray) -> np.ndarray:
    """The prefix sums modulo 2 along the last axis."""
    return np.cumsum(strings, axis=-1, dtype=np.int64) % 2
