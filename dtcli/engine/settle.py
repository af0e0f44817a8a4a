"""Which positions of a thought still move: the counter behind the settled share of ``dt analyze
stability`` (:mod:`dtcli.analysis.settling`) and the solve view's "moving" curve. A position
(a bit, a maze cell) moves while the largest change over channels of its thought is above
``tolerance`` times the thought's largest value."""

from __future__ import annotations

import torch

#: a position still moves while its change is above this share of the thought's largest value
POSITION_TOLERANCE = 1e-4


def moving_positions(prev: torch.Tensor, thought: torch.Tensor,
                     tolerance: float = POSITION_TOLERANCE) -> torch.Tensor:
    """Per instance and spatial position, True where the thought still moves (see the module
    doc); a thought without spatial dimensions counts as one position. Non-finite thoughts
    count as moving."""
    change = (thought - prev).abs().float()
    scale = thought.abs().float().flatten(1).amax(1).clamp_min(1e-30)
    per_position = change.amax(1) if thought.dim() > 2 else change.amax(1, keepdim=True)
    scale = scale.view(-1, *[1] * (per_position.dim() - 1))
    moving = per_position > tolerance * scale
    return moving | ~torch.isfinite(per_position)


def moving_share(prev: torch.Tensor, thought: torch.Tensor,
                 tolerance: float = POSITION_TOLERANCE) -> torch.Tensor:
    """Per instance, the share (0..1) of its positions whose thought still moves."""
    moving = moving_positions(prev, thought, tolerance)
    return moving.flatten(1).float().mean(1)
