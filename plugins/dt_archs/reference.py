"""The DT family's iteration as the deep-thinking reference computes it, offered to
``dt bench --baseline reference`` (``Architecture.reference_think``): recall as a concatenation
followed by one convolution, out-of-place ReLUs, the residual stage block by block. Same
weights as dt's own ``think``, which splits the recall conv and works in place."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def _block(block: torch.nn.Module, t: torch.Tensor) -> torch.Tensor:
    out = F.relu(block.conv1(t))
    out = block.conv2(out)
    out += t
    return F.relu(out)


def reference_think(net) -> Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]:
    """``think(thought, x, i)`` of ``net`` (a DTNet or FeedForwardNet) as the reference."""

    def think(thought: torch.Tensor, x: torch.Tensor, i: int) -> torch.Tensor:
        if net.recall:
            thought = torch.cat([thought, x], 1)
            recall = list(net.recur_block)[:-1] if net.recurrent else [net.recall_layer]
            for layer in recall:
                thought = layer(thought)
        stage = net.recur_block[-1] if net.recurrent else net.feedforward_layers[i]
        for block in stage:
            thought = _block(block, thought)
        return thought

    return think
