"""The depth-study networks of *The Uncanny Similarity of Recurrence and Depth* (appendix A.1).

Every family has one class whose ``recurrent`` flag is the only difference between the twins:
the recurrent net holds one internal block (``recur_block``) applied at every iteration, the
feed-forward net ``max_iters`` distinct ones (``blocks``). Layers follow the paper's code
(github.com/Arjung27/DeepThinking, ``models/``): module for module, bias for bias, so the
parameter counts match (recurrent ResNet on CIFAR-10: 11.8M at every depth; feed-forward
ResNet of effective depth 15: 30.7M).

The input is an image ``(C, H, W)`` and the output one label: ``start`` maps the image to the
first thought, ``think`` applies one internal layer (MLP, ConvNet) or one residual block of
four convs (ResNet), ``answer`` is the rest of the network.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dtcli.api import IterativeNet


class _DepthNet(IterativeNet):
    """Shared plumbing: one shared block (recurrent) or ``max_iters`` blocks (feed-forward)."""

    def __init__(self, config: dict[str, Any], *, recurrent: bool) -> None:
        super().__init__(config)
        self.recurrent = recurrent

    def _make_blocks(self, make) -> None:
        if self.recurrent:
            self.recur_block = make()
        else:
            self.blocks = nn.ModuleList(make() for _ in range(self.config["max_iters"]))

    def block(self, i: int) -> nn.Module:
        return self.recur_block if self.recurrent else self.blocks[i]

    @property
    def max_depth(self) -> int | None:
        return None if self.recurrent else len(self.blocks)

    def think(self, thought: torch.Tensor, x: torch.Tensor, i: int) -> torch.Tensor:
        return self.block(i)(thought)


# -- MLP ---------------------------------------------------------------------------------------


class MLPNet(_DepthNet):
    """FC in→w, ReLU; (depth−2) × [FC w×w, ReLU]; FC w→classes. Effective depth = iterations + 2."""

    layers_before = 1
    layers_per_iter = 1
    layers_after = 1

    def __init__(self, config: dict[str, Any], *, in_shape: tuple[int, ...], num_classes: int,
                 recurrent: bool) -> None:
        super().__init__(config, recurrent=recurrent)
        width = config["width"]
        inputs = 1
        for n in in_shape:
            inputs *= int(n)
        self.linear_first = nn.Linear(inputs, width)
        self._make_blocks(lambda: nn.Sequential(nn.Linear(width, width), nn.ReLU()))
        self.linear_last = nn.Linear(width, num_classes)

    def start(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.linear_first(x.flatten(1)))

    def answer(self, thought: torch.Tensor) -> torch.Tensor:
        return self.linear_last(thought)


# -- ConvNet -----------------------------------------------------------------------------------


def head_plan(side: int) -> tuple[int, int, int, int]:
    """``(pool1, conv_padding, pool2, final side)`` of the ConvNet head for a ``side``-pixel map.

    The paper's head is max-pool(3), 3x3 conv without padding, max-pool(3): on CIFAR's 28x28
    map that leaves 2x2. A step that would not fit a small map (8x8 digits leave 4x4) is
    softened: a pool only where the map has at least 3 pixels, a padded conv where it has fewer.
    """
    pool1 = 3 if side >= 3 else 1
    side //= pool1
    pad = 0 if side >= 3 else 1
    side = side - 2 + 2 * pad
    pool2 = 3 if side >= 3 else 1
    return pool1, pad, pool2, side // pool2


class ConvNet(_DepthNet):
    """Two 3x3 convs without padding (w/2, w channels), (depth−3) internal 3x3 convs of w
    channels with padding, max-pool, a 3x3 conv to 2w, max-pool, linear.

    Effective depth counts as the paper's code does: 2 convs before, one per iteration and the
    conv after (the final linear classifier is not counted), so depth 4 = one internal conv.
    """

    spatial_dims = 2
    layers_before = 2
    layers_per_iter = 1
    layers_after = 1
    dims = 2

    def __init__(self, config: dict[str, Any], *, in_shape: tuple[int, ...], num_classes: int,
                 recurrent: bool) -> None:
        super().__init__(config, recurrent=recurrent)
        width, dilation = config["width"], config["dilation"]
        channels, height, width_px = in_shape
        self.first_layers = nn.Sequential(
            nn.Conv2d(channels, width // 2, kernel_size=3), nn.ReLU(),
            nn.Conv2d(width // 2, width, kernel_size=3), nn.ReLU())
        self._make_blocks(lambda: nn.Sequential(
            nn.Conv2d(width, width, kernel_size=3, padding=dilation, dilation=dilation), nn.ReLU()))
        pool1, pad, pool2, side_h = head_plan(height - 4)
        _, _, _, side_w = head_plan(width_px - 4)
        self.last_layers = nn.Sequential(
            nn.MaxPool2d(pool1), nn.Conv2d(width, 2 * width, kernel_size=3, padding=pad),
            nn.ReLU(), nn.MaxPool2d(pool2))
        self.linear = nn.Linear(2 * width * side_h * side_w, num_classes)

    def start(self, x: torch.Tensor) -> torch.Tensor:
        return self.first_layers(x)

    def answer(self, thought: torch.Tensor) -> torch.Tensor:
        return self.linear(self.last_layers(thought).flatten(1))


# -- ResNet ------------------------------------------------------------------------------------

HEAD_CHANNELS = 512  # the paper's last conv always has 512 output channels


class ResNetBlock(nn.Module):
    """conv-ReLU-conv plus the identity, then ReLU (no bias, as the paper)."""

    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, bias=False)
        self.conv2 = nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, bias=False)

    def forward(self, x: torch.Tensor, norms: nn.ModuleList | None = None) -> torch.Tensor:
        out = self.conv1(x)
        out = F.relu(norms[0](out) if norms is not None else out)
        out = self.conv2(out)
        out = norms[1](out) if norms is not None else out
        return F.relu(out + x)


class ResidualBlock(nn.Module):
    """One internal block of the paper's residual networks: two basic blocks, four convs."""

    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([ResNetBlock(width, dilation), ResNetBlock(width, dilation)])

    def forward(self, x: torch.Tensor, norms: nn.ModuleList | None = None) -> torch.Tensor:
        for j, layer in enumerate(self.layers):
            x = layer(x, None if norms is None else norms[2 * j:2 * j + 2])
        return x


def _norms(width: int) -> nn.ModuleList:
    return nn.ModuleList(nn.BatchNorm2d(width) for _ in range(4))


class ResNet(_DepthNet):
    """A stride-2 3x3 conv to w channels; residual blocks of four 3x3 convs; a stride-2 conv to
    512 channels; average pool; linear. Effective depth = 3 + 4·iterations.

    With ``batch_norm`` every conv is followed by a BatchNorm; the internal block's norms are
    one set per iteration (``norms[i]``), also in the recurrent net, whose convs are shared
    (the paper's ``recur_residual_network_bn``). A recurrent net asked to think longer than it
    was built for re-uses its last set of norms.
    """

    spatial_dims = 2
    layers_before = 1
    layers_per_iter = 4
    layers_after = 2
    dims = 2

    def __init__(self, config: dict[str, Any], *, in_shape: tuple[int, ...], num_classes: int,
                 recurrent: bool) -> None:
        super().__init__(config, recurrent=recurrent)
        width, dilation, bn = config["width"], config["dilation"], config["batch_norm"]
        self.batch_norm = bn
        self.conv1 = nn.Conv2d(in_shape[0], width, 3, stride=2, padding=1, bias=False)
        self._make_blocks(lambda: ResidualBlock(width, dilation))
        self.conv2 = nn.Conv2d(width, HEAD_CHANNELS, 3, stride=2, padding=1, bias=False)
        self.linear = nn.Linear(HEAD_CHANNELS, num_classes)
        if bn:
            self.bn1 = nn.BatchNorm2d(width)
            self.norms = nn.ModuleList(_norms(width) for _ in range(config["max_iters"]))
            self.bn3 = nn.BatchNorm2d(HEAD_CHANNELS)

    def start(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        return F.relu(self.bn1(out) if self.batch_norm else out)

    def think(self, thought: torch.Tensor, x: torch.Tensor, i: int) -> torch.Tensor:
        norms = self.norms[min(i, len(self.norms) - 1)] if self.batch_norm else None
        return self.block(i)(thought, norms)

    def answer(self, thought: torch.Tensor) -> torch.Tensor:
        out = self.conv2(thought)
        out = F.relu(self.bn3(out) if self.batch_norm else out)
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


NETS = {"mlp": MLPNet, "convnet": ConvNet, "resnet": ResNet}
