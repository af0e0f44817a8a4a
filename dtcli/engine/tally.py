"""An epoch's running loss and accuracy, kept on the device and read once per sync point, so a
GPU step never waits for the host."""

from __future__ import annotations

import torch

from dtcli.engine.distributed import DistContext

LOSS, CORRECT, SEEN, INTERVAL_LOSS = range(4)


def _dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


class EpochTally:
    """Sums over the steps of one epoch: the batch losses (each rank adds its share of the
    global batch's mean), correct instances and instances seen; plus the loss since the
    last sync point, for progress display."""

    def __init__(self, device: torch.device, values: list[float] | None = None) -> None:
        self.device = device
        self.sums = torch.zeros(4, dtype=_dtype(device), device=device)
        if values is not None:
            self.sums[:3] = torch.tensor(values[:3], dtype=self.sums.dtype)
        self.interval_steps = 0

    def add(self, loss: torch.Tensor, share: float, correct: torch.Tensor | int, seen: int) -> None:
        contribution = loss.to(self.sums.dtype) * share if share != 1 else loss.to(self.sums.dtype)
        self.sums[LOSS] += contribution
        self.sums[INTERVAL_LOSS] += contribution
        self.sums[CORRECT] += correct
        self.sums[SEEN] += seen
        self.interval_steps += 1

    def interval_loss(self) -> torch.Tensor:
        """This rank's share of the summed batch losses since the last :meth:`reset_interval`."""
        return self.sums[INTERVAL_LOSS]

    def reset_interval(self) -> None:
        self.sums[INTERVAL_LOSS] = 0
        self.interval_steps = 0

    def global_values(self, ctx: DistContext) -> list[float]:
        """``[loss sum, correct, seen]`` over all ranks (a collective when distributed)."""
        totals = self.sums[:3].clone()
        ctx.all_reduce(totals)
        return [float(v) for v in totals.tolist()]

    def collapse(self, ctx: DistContext, totals: list[float]) -> None:
        """Keep the global totals on rank 0 only, so later sums over ranks stay right."""
        self.sums[:3] = torch.tensor(totals if ctx.main else [0.0, 0.0, 0.0],
                                     dtype=self.sums.dtype)
