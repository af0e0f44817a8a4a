"""Time the maze engine: ``python benchmarks/bench_mazes.py`` (best of 3 runs each).

Reference points (pure-Python generator of easy-to-hard-data, 2 cores): 10,000 size-9 mazes in
about 10 s, 1,000 size-59 mazes in about 28 s. Targets here: <= 0.5 s and <= 1.5 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

try:
    import dt_mazes  # noqa: F401
except ImportError:  # not installed as a package yet: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from dt_mazes.generate import generate_mazes  # noqa: E402
from dt_mazes.layouts import to_e2h  # noqa: E402
from dt_mazes.render import render_maze  # noqa: E402

GENERATE = [(9, 10_000, 0.5), (59, 1_000, 1.5), (201, 100, None)]


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` wall-clock timings of ``fn()``, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    print(f"{'task':<34}{'best of 3':>12}{'target':>10}")
    for size, count, target in GENERATE:
        seconds = best_of(lambda: generate_mazes(size, count, seed=0))
        goal = f"{target:.1f} s" if target else "-"
        print(f"{f'generate_mazes({size}, {count})':<34}{seconds:>10.3f} s{goal:>10}")

    mazes = generate_mazes(59, 1_000, seed=0)
    seconds = best_of(lambda: to_e2h(mazes))
    print(f"{'to_e2h(1000 x size 59)':<34}{seconds:>10.3f} s{'-':>10}")

    one = generate_mazes(33, 1, seed=0)
    args = (one.open[0], one.start[0], one.end[0], one.path[0], one.path[0],
            one.path[0] * 0.9 + 0.05)
    seconds = best_of(lambda: [render_maze(*args) for _ in range(100)]) / 100
    print(f"{'render_maze(size 33, compact)':<34}{seconds * 1e3:>9.2f} ms{'30 ms':>10}")


if __name__ == "__main__":
    main()
