"""The numbers studies report: mean ± standard error, the success rule, CSV tables."""

from __future__ import annotations

import csv
import io
import math
from typing import Any


def mean_se(values: list[float]) -> tuple[float, float | None]:
    """Mean and standard error of the mean (sample standard deviation / √n; None for n = 1)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def peak(iters: list[int], accuracy: list[float],
         max_iter: int | None = None) -> tuple[int | None, float]:
    """``(iteration, accuracy)`` of a curve's best point at or before ``max_iter`` (all of it
    when None); the earliest iteration on a tie; ``(None, 0.0)`` for an empty window."""
    window = [(i, a) for i, a in zip(iters, accuracy) if max_iter is None or i <= max_iter]
    if not window:
        return None, 0.0
    return max(window, key=lambda p: (p[1], -p[0]))


def succeeded(iters: list[int], accuracy: list[float], success_at: float,
              max_iter: int | None = None) -> bool:
    """The success rule of a seeds study: the curve reaches ``success_at`` (%) at some
    iteration up to ``max_iter``."""
    at, best = peak(iters, accuracy, max_iter)
    return at is not None and best >= success_at


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """``rows`` as CSV with ``columns``; lists joined with ';', None as empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([";".join(map(str, r[c])) if isinstance(r[c], list) else
                         ("" if r[c] is None else r[c]) for c in columns])
    return buf.getvalue()


def parse_int_list(text: str, what: str) -> list[int]:
    """``"4,8, 6"`` -> ``[4, 6, 8]`` (sorted, unique), or one clear error naming ``what``."""
    from dtcli.contracts.errors import DtError

    try:
        values = [int(v) for v in str(text).replace(" ", "").split(",") if v]
    except ValueError:
        raise DtError(f"{what} must be whole numbers separated by commas, got {text!r}") from None
    if not values:
        raise DtError(f"{what} is empty")
    return sorted(dict.fromkeys(values))


def parse_seeds(text: str | int) -> list[int]:
    """``3`` means seeds 0, 1, 2; ``0,4,7`` names them (``4,``: seed 4 alone)."""
    from dtcli.contracts.errors import DtError

    text = str(text).strip()
    if "," not in text:
        try:
            n = int(text)
        except ValueError:
            raise DtError(f"--seeds is a count (3) or a list (0,1,2), got {text!r}") from None
        if n < 1:
            raise DtError(f"--seeds must be at least 1, got {n}")
        return list(range(n))
    return parse_int_list(text, "--seeds")
