"""DT nets and their feed-forward twins, layer for layer as the deep-thinking reference.

Module names mirror the reference (``projection``, ``recur_block``, ``head``) so its state
dicts load, and so the reference's "throttle" (a lower learning rate for ``recur`` parameters)
finds the recurrent block.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
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
        # In place where autograd allows: a convolution does not keep its output for backward.
        out = torch.relu_(self.conv1(x))
        out = self.conv2(out)
        out += x
        return torch.relu_(out)


def residual_stage(dims: int, width: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(*(BasicBlock(dims, width) for _ in range(blocks)))


def make_head(dims: int, width: int, num_classes: int) -> nn.Sequential:
    # The reference's heads: 1D width->width->width/2->classes, 2D width->32->8->classes.
    mid = (width, int(width / 2)) if dims == 1 else (32, 8)
    return nn.Sequential(conv(dims, width, mid[0]), nn.ReLU(),
                         conv(dims, mid[0], mid[1]), nn.ReLU(),
                         conv(dims, mid[1], num_classes))


class RecallInput(NamedTuple):
    """A recall net's input, encoded once per instance: the recall conv over cat([thought, x])
    is split into conv(thought, W_thought) + conv(x, W_x), and conv(x, W_x) is the same at
    every iteration."""

    x: torch.Tensor
    x_part: torch.Tensor
    thought_weight: torch.Tensor


def conv_fn(dims: int):
    return F.conv1d if dims == 1 else F.conv2d


class _DTBase(IterativeNet):
    layers_before = 1
    layers_after = 3

    def __init__(self, config: dict[str, Any], *, dims: int, in_channels: int,
                 num_classes: int, recall: bool) -> None:
        super().__init__(config)
        self.spatial_dims = dims
        self.recall = recall
        width = config["width"]
        self.layers_per_iter = 2 * config["blocks"] + int(recall)
        self.projection = nn.Sequential(conv(dims, in_channels, width), nn.ReLU())
        self.head = make_head(dims, width, num_classes)

    def recall_layers(self, width: int, in_channels: int) -> list[nn.Module]:
        layers: list[nn.Module] = [conv(self.spatial_dims, width + in_channels, width)]
        if self.config["recall_relu"] == "on":
            layers.append(nn.ReLU())
        return layers

    def start(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(x)

    def recall_conv(self) -> nn.Conv1d | nn.Conv2d:
        raise NotImplementedError

    def encode_input(self, x: torch.Tensor) -> Any:
        if not self.recall:
            return x
        weight = self.recall_conv().weight
        width = self.config["width"]
        x_part = conv_fn(self.spatial_dims)(x, weight[:, width:], padding=1)
        return RecallInput(x, x_part, weight[:, :width])

    def apply_recall(self, thought: torch.Tensor, x: Any) -> torch.Tensor:
        """The recall layer on (thought, input): conv over their concatenation (+ ReLU)."""
        r = x if isinstance(x, RecallInput) else self.encode_input(x)
        out = conv_fn(self.spatial_dims)(thought, r.thought_weight, padding=1)
        out += r.x_part
        return torch.relu_(out) if self.config["recall_relu"] == "on" else out

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

    def recall_conv(self) -> nn.Module:
        return self.recur_block[0]

    def think(self, thought: torch.Tensor, x: Any, i: int) -> torch.Tensor:
        if self.recall:
            thought = self.apply_recall(thought, x)
        return self.recur_block[-1](thought)


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

    def recall_conv(self) -> nn.Module:
        return self.recall_layer if isinstance(self.recall_layer, nn.Conv1d | nn.Conv2d) \
            else self.recall_layer[0]

    def think(self, thought: torch.Tensor, x: Any, i: int) -> torch.Tensor:
        if self.recall:
            thought = self.apply_recall(thought, x)
        return self.feedforward_layers[i](thought)
