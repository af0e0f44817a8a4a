"""DT nets and their feed-forward twins, layer for layer as the deep-thinking reference.

Module names mirror the reference (``projection``, ``recur_block``, ``head``) so its state
dicts load, and so the reference's "throttle" (a lower learning rate for ``recur`` parameters)
finds the recurrent block.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dtcli.api import IterativeNet


def conv(dims: int, c_in: int, c_out: int) -> nn.Module:
    """A 3-wide, stride-1, same-padding convolution without bias."""
    cls = nn.Conv1d if dims == 1 else nn.Conv2d
    return cls(c_in, c_out, kernel_size=3, stride=1, padding=1, bias=False)


class BasicBlock(nn.Module):
    """A residual block of two 3-wide convs, no bias, no normalisation."""

    def __init__(self, dims: int, width: int) -> None:
        super().__init__()
        self.conv1 = conv(dims, width, width)
        self.conv2 = conv(dims, width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.conv1(x))
        out = self.conv2(out)
        return torch.relu(out + x)


def residual_stage(dims: int, width: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(*(BasicBlock(dims, width) for _ in range(blocks)))


def make_head(dims: int, width: int, num_classes: int) -> nn.Sequential:
    # The reference's heads: 1D width->width->width/2->classes, 2D width->32->8->classes.
    mid = (width, int(width / 2)) if dims == 1 else (32, 8)
    return nn.Sequential(conv(dims, width, mid[0]), nn.ReLU(),
                         conv(dims, mid[0], mid[1]), nn.ReLU(),
                         conv(dims, mid[1], num_classes))


class _DTBase(IterativeNet):
    layers_before = 1
    layers_after = 3

    def __init__(self, config: dict[str, Any], *, dims: int, in_channels: int,
                 num_classes: int, recall: bool) -> None:
        super().__init__(config)
        self.dims = dims
        self.recall = recall
        width = config["width"]
        self.layers_per_iter = 2 * config["blocks"] + int(recall)
        self.projection = nn.Sequential(conv(dims, in_channels, width), nn.ReLU())
        self.head = make_head(dims, width, num_classes)

    def recall_layers(self, width: int, in_channels: int) -> list[nn.Module]:
        layers: list[nn.Module] = [conv(self.dims, width + in_channels, width)]
        if self.config["recall_relu"] == "on":
            layers.append(nn.ReLU())
        return layers

    def start(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(x)

    def answer(self, thought: torch.Tensor) -> torch.Tensor:
        return self.head(thought)


class DTNet(_DTBase):
    """Recurrent: one block (recall conv + residual stage) applied at every iteration."""

    recurrent = True

    def __init__(self, config: dict[str, Any], *, dims: int, in_channels: int,
                 num_classes: int, recall: bool) -> None:
        super().__init__(config, dims=dims, in_channels=in_channels,
                         num_classes=num_classes, recall=recall)
        width = config["width"]
        layers = self.recall_layers(width, in_channels) if recall else []
        layers.append(residual_stage(dims, width, config["blocks"]))
        self.recur_block = nn.Sequential(*layers)

    def think(self, thought: torch.Tensor, x: torch.Tensor, i: int) -> torch.Tensor:
        if self.recall:
            thought = torch.cat([thought, x], 1)
        return self.recur_block(thought)


class FeedForwardNet(_DTBase):
    """Feed-forward twin: ``max_iters`` distinct residual stages; one shared recall conv."""

    recurrent = False

    def __init__(self, config: dict[str, Any], *, dims: int, in_channels: int,
                 num_classes: int, recall: bool) -> None:
        super().__init__(config, dims=dims, in_channels=in_channels,
                         num_classes=num_classes, recall=recall)
        width = config["width"]
        layers = self.recall_layers(width, in_channels) if recall else []
        # A bare conv when there is no ReLU, so the reference's state dicts load as they are.
        self.recall_layer = layers[0] if len(layers) == 1 else nn.Sequential(*layers)
        self.feedforward_layers = nn.ModuleList(
            residual_stage(dims, width, config["blocks"]) for _ in range(config["max_iters"])
        )

    @property
    def max_depth(self) -> int:
        return len(self.feedforward_layers)

    def think(self, thought: torch.Tensor, x: torch.Tensor, i: int) -> torch.Tensor:
        if self.recall:
            thought = self.recall_layer(torch.cat([thought, x], 1))
        return self.feedforward_layers[i](thought)
