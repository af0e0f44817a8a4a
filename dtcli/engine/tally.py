"""An epoch's running loss and accuracy, kept on the device and read once per sync point, so a
GPU step never waits for the host."""

from __future__ import annotations

from typing import Any

import torch

from dtcli.engine.distributed import DistContext

#: the sums a resume state carries, in this order (older states carry the first three)
LOSS, CORRECT, SEEN, POS_RIGHT, POS_COUNTED = range(5)
KEPT = 5
INTERVAL_LOSS = KEPT


def _dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


class EpochTally:
    """Sums over the steps of one epoch: the batch losses (each rank adds its share of the
    global batch's mean), correct instances and instances seen, right and counted positions
    (:meth:`Problem.position_correct`); plus the loss since the last sync point, for progress
    display."""

    def __init__(self, device: torch.device, values: list[float] | None = None) -> None:
        self.device = device
        self.sums = torch.zeros(KEPT + 1, dtype=_dtype(device), device=device)
        if values is not None:
            self.sums[:len(values)] = torch.tensor(values[:KEPT], dtype=self.sums.dtype)
        self.interval_steps = 0

    def add(self, loss: torch.Tensor, share: float, correct: torch.Tensor | int, seen: int,
            positions: tuple[Any, Any] | None = None) -> None:
        contribution = loss.to(self.sums.dtype) * share if share != 1 else loss.to(self.sums.dtype)
        self.sums[LOSS] += contribution
        self.sums[INTERVAL_LOSS] += contribution
        self.sums[CORRECT] += correct
        self.sums[SEEN] += seen
        if positions is not None:
            self.sums[POS_RIGHT] += positions[0]
            self.sums[POS_COUNTED] += positions[1]
        self.interval_steps += 1

    def interval_loss(self) -> torch.Tensor:
        """This rank's share of the summed batch losses since the last :meth:`reset_interval`."""
        return self.sums[INTERVAL_LOSS]

    def positions(self) -> torch.Tensor:
        """This rank's right and counted positions so far this epoch (sum them over ranks)."""
        return self.sums[POS_RIGHT:POS_COUNTED + 1]

    def reset_interval(self) -> None:
        self.sums[INTERVAL_LOSS] = 0
        self.interval_steps = 0

    def global_values(self, ctx: DistContext) -> list[float]:
        """``[loss sum, correct, seen, right positions, counted positions]`` over all ranks
        (a collective when distributed)."""
        totals = self.sums[:KEPT].clone()
        ctx.all_reduce(totals)
        return [float(v) for v in totals.tolist()]

    def collapse(self, ctx: DistContext, totals: list[float]) -> None:
        """Keep the global totals on rank 0 only, so later sums over ranks stay right."""
        self.sums[:KEPT] = torch.tensor(totals if ctx.main else [0.0] * KEPT,
                                        dtype=self.sums.dtype)


def position_accuracy(right: float, counted: float) -> float | None:
    """Percent of positions right, None where the problem counts none."""
    return 100.0 * right / counted if counted else None
