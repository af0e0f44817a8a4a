"""Keep freed memory in the process on Linux (glibc), so CPU work is not slowed by page faults.

A 2D net's convolutions make large temporaries (a 25-maze batch of 33x33 at width 32: 16.6 MB
per conv output). By default glibc's malloc hands big freed blocks back to the system (an
``munmap``, or trimming the top of the heap) and the next allocation faults every page in again,
zeroed by the kernel. Measured on 25 mazes of 33x33, 100 iterations, 1 thread: the real
deep-thinking code took 3.6 million minor page faults and 27.9 s, dt 0.4 million and 16.8 s; with
the settings below 0 faults, 20.5 s and 16.0 s (``benchmarks/reference_side_by_side.py``).
Blocks above 32 MB (a 25-maze batch of 59x59 at width 128: 184 MB per conv output) are always
mapped afresh unless mmap is off: at that size dt took 250,000 faults per 10-maze run and 4.7 s,
with mmap off 0 and 4.3 s.

The cost: memory freed by torch stays in the process (its resident size does not shrink after a
peak). ``DT_MALLOC=default`` leaves glibc's own settings.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4
TOP_PAD = 64 * 1024 * 1024
NEVER_TRIM = 2**31 - 1

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's malloc to keep freed memory in the heap and never map blocks afresh (once per
    process); whether it applied (False
    off Linux/glibc or with ``DT_MALLOC=default``)."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if sys.platform != "linux" or os.environ.get("DT_MALLOC", "") == "default":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # every block from the heap (no mmap), and the heap never trimmed
    _applied = all(mallopt(param, value) == 1 for param, value in
                   ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, NEVER_TRIM), (M_TOP_PAD, TOP_PAD)))
    return _applied
