"""Unique random bit strings and their running parities (numpy only)."""

from __future__ import annotations

import numpy as np

BLOCK = 4096  # strings drawn at a time; fixed, so the stream does not depend on ``count``


def unique_bit_strings(bits: int, count: int, seed: int) -> np.ndarray:
    """``count`` distinct random bit strings of length ``bits``, shape (count, bits), uint8.

    Deterministic in ``seed`` and nested: the first distinct strings of one seeded stream, in
    the order they were first drawn, so asking for fewer gives a prefix of asking for more.
    """
    if bits < 63 and count > 2**bits:
        raise ValueError(f"only {2**bits} distinct {bits}-bit strings exist, asked for {count}")
    rng = np.random.default_rng(seed)
    out = np.empty((0, bits), dtype=np.uint8)
    while len(out) < count:
        pool = np.concatenate([out, rng.integers(0, 2, size=(BLOCK, bits), dtype=np.uint8)])
        _, first = np.unique(pool, axis=0, return_index=True)
        out = pool[np.sort(first)]
    return out[:count]


def running_parity(strings: np.ndarray) -> np.ndarray:
    """The prefix sums modulo 2 along the last axis."""
    return np.cumsum(strings, axis=-1, dtype=np.int64) % 2
