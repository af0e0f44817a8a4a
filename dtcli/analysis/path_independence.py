"""Path independence: does where thinking starts change where it ends?

After Anil et al. (NeurIPS 2022, "Path Independent Equilibrium Models Can Better Exploit
Test-Time Computation"): run the net for ``iters`` iterations from its own start thought
(``start(x)``) and from ``starts`` random initial thoughts (Gaussian, each with its own start
thought's standard deviation; drawn per instance, so batching does not change them), and
compare the final
thoughts. The **asymptotic alignment (AA) score** of an instance is the mean, over the random
starts, of the cosine similarity between its final thought from that start and its final
thought from its own start (1: the same end wherever it starts). Beside it: the accuracy from
each start and how often the answers agree with the own-start answer.

Memory is flat in ``iters`` (one thought per start at a time) and in the data (batches).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from dtcli.analysis.common import batch_size_for, batches, check_iterations
from dtcli.contracts.errors import DtError


def random_start(start: torch.Tensor, seed: int, k: int, first: int = 0) -> torch.Tensor:
    """The ``k``-th random initial thought of instances ``first, first + 1, ...`` (the rows of
    ``start``): per instance a Gaussian with the standard deviation of its own start thought,
    from a generator of (seed, k, instance), so it does not depend on the batching."""
    rows = []
    for j, own in enumerate(start):
        g = torch.Generator().manual_seed(zlib.crc32(f"{seed}:{k}:{first + j}".encode()))
        rows.append(torch.randn(own.shape, generator=g) * own.float().std().clamp_min(1e-6))
    return torch.stack(rows).to(start.device, start.dtype)


def final_thought(net, x: torch.Tensor, thought: torch.Tensor, iters: int) -> torch.Tensor:
    for _, thought in net.iterate(x, iters, thought):
        pass
    return thought


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per instance, the cosine similarity of two batches of thoughts (flattened, float64)."""
    a, b = a.flatten(1).double(), b.flatten(1).double()
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-300)


@dataclass
class PathIndependence:
    """The AA score of one model on one data set, with the accuracies it stands beside."""

    iters: int
    starts: int
    total: int
    aa: list[float]                 # per instance: mean cosine over the random starts
    accuracy_own: float             # % correct at ``iters`` from start(x)
    accuracy_random: list[float]    # % correct at ``iters``, per random start
    agreement: float                # % of (instance, random start) answers equal to the own one
    curve: list[float] = field(default_factory=list)  # % correct from the own start, per iteration
    difficulty: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def aa_mean(self) -> float | None:
        """The mean AA score over the instances whose thoughts stayed finite (None if none
        did: a thought that overflows has no direction)."""
        finite = [v for v in self.aa if math.isfinite(v)]
        return sum(finite) / len(finite) if finite else None

    def summary(self) -> dict[str, Any]:
        finite = sorted(v for v in self.aa if math.isfinite(v))
        return {"aa_mean": self.aa_mean, "aa_min": finite[0] if finite else None,
                "aa_median": finite[len(finite) // 2] if finite else None,
                "overflowed": len(self.aa) - len(finite),
                "accuracy_own": self.accuracy_own,
                "accuracy_random_mean": sum(self.accuracy_random) / max(1, self.starts),
                "agreement": self.agreement,
                "peak_accuracy": max(self.curve) if self.curve else None,
                "peak_iteration": self.curve.index(max(self.curve)) + 1 if self.curve else None}

    def to_dict(self) -> dict[str, Any]:
        return {"difficulty": self.difficulty, "iters": self.iters, "starts": self.starts,
                "total": self.total, "aa": [v if math.isfinite(v) else None for v in self.aa], "accuracy_own": self.accuracy_own,
                "accuracy_random": self.accuracy_random, "agreement": self.agreement,
                "curve": self.curve,
                "summary": self.summary(), **self.extra}


def path_independence(net, problem, x: torch.Tensor, y: torch.Tensor, iters: int, *,
                      starts: int = 4, seed: int = 0, batch_size: int | None = None,
                      difficulty: Any = None,
                      on_step: Callable[[int, int], None] | None = None) -> PathIndependence:
    """The AA score of ``net`` on ``(x, y)`` after ``iters`` iterations from ``starts`` random
    initial thoughts (see the module doc); deterministic in ``seed``."""
    if not net.recurrent:
        raise DtError("path independence needs a recurrent net: a feed-forward net's blocks "
                      "are fixed, so it cannot start from another thought and think on")
    check_iterations(net, iters)
    if starts < 1:
        raise DtError(f"--starts must be at least 1, got {starts}")
    size = batch_size_for(net, x, batch_size) // (starts + 1) or 1
    aa: list[float] = []
    own_correct = 0
    random_correct = [0] * starts
    agree = 0
    curve = torch.zeros(iters, dtype=torch.long)
    parts = batches(len(x), size)
    net.eval()
    with torch.no_grad():
        for b, s in enumerate(parts):
            xb, yb = x[s], y[s]
            start = net.start(xb)
            own = start
            for i, own in net.iterate(xb, iters, start):
                own_pred = problem.predict(net.answer(own), xb)
                curve[i - 1] += int(problem.correct(own_pred, yb).sum())
            own_correct += int(problem.correct(own_pred, yb).sum())
            sims = torch.zeros(len(xb), dtype=torch.float64)
            for k in range(starts):
                end = final_thought(net, xb, random_start(start, seed, k, s.start), iters)
                sims += cosine(end, own).cpu()
                pred = problem.predict(net.answer(end), xb)
                random_correct[k] += int(problem.correct(pred, yb).sum())
                agree += int((pred.reshape(len(xb), -1) == own_pred.reshape(len(xb), -1))
                             .all(1).sum())
            aa += (sims / starts).tolist()
            if on_step is not None:
                on_step(b + 1, len(parts))
    n = len(x)
    return PathIndependence(iters=iters, starts=starts, total=n, aa=aa,
                            accuracy_own=100.0 * own_correct / n,
                            accuracy_random=[100.0 * c / n for c in random_correct],
                            agreement=100.0 * agree / (n * starts),
                            curve=(100.0 * curve.double() / n).tolist(), difficulty=difficulty,
                            extra={"seed": seed})
