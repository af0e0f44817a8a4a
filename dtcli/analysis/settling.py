"""Settling, measured where it happens: per position of the thought, and per solved instance.

A thought can look settled as a whole (its relative change small) while some positions still
move, or never settle while its answers stay right. Two counters make that visible:

- :func:`~dtcli.engine.settle.moving_positions` (in the engine, which the solve view shares):
  per instance and output position (a bit, a maze cell), whether the
  thought there still moves: the largest change over channels, ``max_c |θ_t − θ_{t−1}|``,
  above ``tolerance`` times the thought's largest value ``max |θ_t|`` (so the test does not
  depend on the thought's scale). Its complement over all positions is the *settled share*.
- :class:`SolveTrace`: per instance, over the iterations, the first iteration it is correct,
  the last iteration it is wrong after that, and how often it flips from correct to wrong
  (a *flicker*). An instance *stays solved* when it never flips back after its first solve.

Both are plain tensor functions (no net, no CLI), used by ``dt analyze stability``, the
stable-thinking study and the solve view.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dtcli.engine.settle import POSITION_TOLERANCE, moving_positions, moving_share

__all__ = ["POSITION_TOLERANCE", "SolveTrace", "moving_positions", "moving_share"]

@dataclass
class SolveTrace:
    """Per instance, how its correctness ran over iterations 1..T (from a bool matrix)."""

    first_correct: list[int | None]
    last_wrong: list[int | None]   # the last wrong iteration after the first correct one
    flickers: list[int]            # correct -> wrong transitions

    @classmethod
    def from_correct(cls, correct: torch.Tensor) -> "SolveTrace":
        """``correct``: bool, one row per instance, one column per iteration 1..T."""
        correct = correct.bool()
        first: list[int | None] = []
        last_wrong: list[int | None] = []
        for row in correct:
            hits = torch.nonzero(row).flatten()
            if not len(hits):
                first.append(None)
                last_wrong.append(None)
                continue
            start = int(hits[0])
            first.append(start + 1)
            wrong = torch.nonzero(~row[start:]).flatten()
            last_wrong.append(start + int(wrong[-1]) + 1 if len(wrong) else None)
        flips = (correct[:, :-1] & ~correct[:, 1:]).sum(1) if correct.shape[1] > 1 else \
            torch.zeros(len(correct), dtype=torch.long)
        return cls(first, last_wrong, [int(f) for f in flips])

    @property
    def solved(self) -> int:
        """Instances correct at some iteration."""
        return sum(f is not None for f in self.first_correct)

    @property
    def stayed_solved(self) -> int:
        """Instances that, once correct, stayed correct to the last iteration."""
        return sum(f is not None and w is None
                   for f, w in zip(self.first_correct, self.last_wrong))

    def summary(self) -> dict[str, int | float | None]:
        solved = self.solved
        return {"solved": solved, "stayed_solved": self.stayed_solved,
                "turned_wrong": solved - self.stayed_solved,
                "flickers": sum(self.flickers),
                "flickering_instances": sum(f > 0 for f in self.flickers),
                "latest_wrong_after_solve": max((w for w in self.last_wrong if w is not None),
                                                default=None)}

    def to_dict(self) -> dict:
        return {"first_correct": self.first_correct, "last_wrong": self.last_wrong,
                "flickers": self.flickers, "summary": self.summary()}
