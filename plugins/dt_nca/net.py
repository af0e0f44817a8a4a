"""The NCA network: a neural cellular automaton as an :class:`~dtcli.api.IterativeNet`.

One iteration (``think``) of the thought ``s`` (``(B, C, H, W)``, one C-channel state per cell)
on the input ``x`` (``(B, in_channels, H, W)``)::

    p     = perceive(s)                        # 3x3 neighbourhood, 4C channels per cell
    h     = relu(W1 · [p, x] + b1)             # per-cell MLP: 1x1 convs
    delta = W2 · h                             # W2 starts at zero: a do-nothing rule at init
    s'    = s + m ⊙ delta                      # m: the per-cell update mask (fire rate)

``W1 · [p, x]`` is split as ``W1_p · p + (W1_x · x + b1)`` and the input's part is computed
once per instance (:meth:`NCANet.encode_input`), as DT-recall's recall conv is.
See :mod:`dt_nca.arch` for what the papers describe and what was chosen here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from dtcli.api import IterativeNet

#: the fixed filters besides the identity: Sobel x, Sobel y (each / 8, as in Growing NCA) and
#: the 5-point Laplacian (the 4-neighbourhood a maze step moves in)
SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))
SOBEL_Y = ((-1.0, -2.0, -1.0), (0.0, 0.0, 0.0), (1.0, 2.0, 1.0))
LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))
#: perception channels per state channel (identity + three filters, or four learned ones)
PERCEPTS = 4


def fixed_filters(width: int) -> torch.Tensor:
    """Depthwise weights ``(3 * width, 1, 3, 3)``: Sobel x / 8, Sobel y / 8 and the Laplacian
    for every state channel, in that order per channel (``groups=width``)."""
    bank = torch.tensor((SOBEL_X, SOBEL_Y, LAPLACIAN))
    bank[:2] /= 8.0
    return bank.repeat(width, 1, 1).unsqueeze(1)


class NCAInput(NamedTuple):
    """The input as ``think`` needs it, computed once per instance: the raw input and its part
    of the first per-cell layer, ``W1_x · x + b1`` (the same at every iteration)."""

    x: torch.Tensor
    x_part: torch.Tensor


class NCANet(IterativeNet):
    """A neural cellular automaton on a 2D grid; ``config`` as :meth:`NCAArchitecture.build`
    records it (width, max_iters, hidden, perception, fire_rate, start)."""

    recurrent = True
    spatial_dims = 2
    # perception and the first 1x1 conv compose into one linear map (nothing between them),
    # then ReLU and the second 1x1 conv: two layers per iteration, whatever the perception
    layers_per_iter = 2
    layers_after = 1

    def __init__(self, config: dict[str, Any], *, in_channels: int, num_classes: int) -> None:
        super().__init__(config)
        width, hidden = config["width"], config["hidden"]
        self.width = width
        self.perception = config["perception"]
        self.fire_rate = float(config["fire_rate"])
        self.layers_before = 1 if config["start"] == "project" else 0
        self.projection = nn.Conv2d(in_channels, width, 1) if config["start"] == "project" else None
        if self.perception == "fixed":
            # not a parameter and not saved: rebuilt from the config, like the architecture
            self.register_buffer("filters", fixed_filters(width), persistent=False)
            self.perceive = None
        else:
            groups = width if self.perception == "depthwise" else 1
            self.perceive = nn.Conv2d(width, PERCEPTS * width, 3, padding=1, groups=groups,
                                      bias=False)
        self.dense_in = nn.Conv2d(PERCEPTS * width + in_channels, hidden, 1)
        self.dense_out = nn.Conv2d(hidden, width, 1, bias=False)
        nn.init.zeros_(self.dense_out.weight)
        self.head = nn.Conv2d(width, num_classes, 1)

    # -- the three parts -------------------------------------------------------------------

    def start(self, x: torch.Tensor) -> torch.Tensor:
        if self.projection is not None:
            return self.projection(x)
        return x.new_zeros((x.shape[0], self.width, *x.shape[2:]))

    def encode_input(self, x: torch.Tensor) -> NCAInput:
        weight = self.dense_in.weight[:, PERCEPTS * self.width:]
        return NCAInput(x, F.conv2d(x, weight, self.dense_in.bias))

    def perceive_state(self, thought: torch.Tensor) -> torch.Tensor:
        """``(B, 4C, H, W)``: what each cell sees of its 3x3 neighbourhood (zero padded)."""
        if self.perceive is not None:
            return self.perceive(thought)
        filtered = F.conv2d(thought, self.filters, padding=1, groups=self.width)
        return torch.cat([thought, filtered], dim=1)

    def think(self, thought: torch.Tensor, x: Any, i: int) -> torch.Tensor:
        enc = x if isinstance(x, NCAInput) else self.encode_input(x)
        weight = self.dense_in.weight[:, :PERCEPTS * self.width]
        hidden = F.conv2d(self.perceive_state(thought), weight)
        hidden += enc.x_part
        delta = self.dense_out(torch.relu_(hidden))
        if self.fire_rate >= 1.0:
            return thought + delta
        if self.training:
            # each cell fires (updates) with probability fire_rate, drawn from torch's RNG
            shape = (thought.shape[0], 1, *thought.shape[2:])
            fire = torch.rand(shape, device=thought.device) < self.fire_rate
            return thought + delta * fire.to(delta.dtype)
        # evaluation is deterministic: every cell takes the expected update
        return thought + delta * self.fire_rate

    def answer(self, thought: torch.Tensor) -> torch.Tensor:
        return self.head(thought)
