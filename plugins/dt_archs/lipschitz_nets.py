"""DT-L: a deep thinking net whose recurrent map is a contraction in the thought.

After Bear, Prügel-Bennett and Hare (NeurIPS 2024, "Rethinking Deep Thinking: Stable Learning
of Algorithms using Lipschitz Constraints"), from the paper's description (its code is not
released). What the description fixes: spectral normalisation on the recurrent block's convs,
1-Lipschitz activations (ELU), a learnable linear interpolation between the previous thought
and the block's output in place of the additive residual, batch normalisation on the input
projection and the non-recurrent convs, bias on the recall convs. What it leaves open, chosen
here (and made options):

- ``conv_norm``, how each recurrent conv is held to norm 1 (the recall conv to ``contraction``):
  ``strict`` divides the weight by the spectral norm of the weight reshaped to
  (out, in·k^d) (torch's ``spectral_norm``) and scales it by 1/sqrt(k^d): the conv applies that
  matrix to k^d shifted copies of its input, so it is then at most 1-Lipschitz, a guarantee,
  but its measured norm is only 0.5 (2D) to 0.7 (1D). ``spectral`` leaves out the 1/sqrt(k^d),
  as the paper's description reads: measured conv norms 1.3–1.6, so the contraction is no
  longer guaranteed: **a net trained with ``spectral`` is not a contraction** (trained
  estimates 1.3–1.7). ``operator`` (the default, with ``contraction`` 0.99) divides by the
  conv's own operator norm (power iteration on the conv and its transpose,
  :mod:`dt_archs.conv_norm`): norm 1.00 (1.005–1.008 on larger inputs than the reference), the
  tight form of the guarantee; trained on prefix sums its estimate is 0.94 (it learns 36% of
  32-bit training strings in 30 epochs, and extrapolates to neither 128 nor 512 bits: the
  lever study in ``benchmarks/dtl_levers.md``).

  Why the tightness matters: if ``think`` is L-Lipschitz and one iteration reaches r cells
  (five 3-wide convs: r = 5), a bit D cells away moves the fixed point's answer by at most
  about L^(D/r) times the thought's size. With L = 0.9 that is 2e-5 at D = 512: a strict
  contraction cannot carry a prefix sum across 512 bits, whatever it learns. Extrapolating
  far needs L close to 1.

  Measured on prefix sums (32 bits, width 32, α 1, Adam 2e-3, 30 epochs of 9,000, seed 0;
  best accuracy over 300 iterations on 100 strings of 32 / 64 / 128 bits; Lipschitz estimate
  of the trained ``think``): strict 0% (training accuracy 0%, 10 seeds); operator with
  contraction 1.0: 45 / 17 / 1%, estimate 0.98; spectral with 0.9: 87 / 47 / 7%, estimate 1.37;
  spectral with 1.0: 86 / 53 / 18%, estimate 1.66. None reaches 512 bits; all hold their
  accuracy to 300 iterations. On mazes of size 9 (width 32, 4 epochs of 19,200, α 0.5): strict
  1.0% validation, estimate 0.68; spectral 9.3%, estimate 1.98.
- the residual blocks inside an iteration also interpolate (h + β·(g(h) − h)), each β a
  sigmoid of a learned scalar, so every block is at most 1-Lipschitz.

With ``operator`` (to the power iteration's precision) and ``strict``, ``think`` is at most
``1 − β·(1 − contraction)``-Lipschitz in the thought: a contraction, whose iterates converge to
a unique fixed point for each input (the tests check it with the Jacobian power iteration of ``dt analyze stability``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from dt_archs.conv_norm import operator_norm
from dtcli.api import IterativeNet


def _conv(dims: int, c_in: int, c_out: int, bias: bool = False) -> nn.Module:
    cls = nn.Conv1d if dims == 1 else nn.Conv2d
    return cls(c_in, c_out, kernel_size=3, stride=1, padding=1, bias=bias)


def _norm(dims: int, width: int) -> nn.Module:
    return nn.BatchNorm1d(width) if dims == 1 else nn.BatchNorm2d(width)


class BoundedConv(nn.Module):
    """A 3-wide convolution whose operator norm is at most ``bound`` (see the module doc)."""

    def __init__(self, dims: int, c_in: int, c_out: int, *, bound: float = 1.0,
                 bias: bool = False, norm: str = "strict", init: str = "default") -> None:
        super().__init__()
        conv = _conv(dims, c_in, c_out, bias)
        if init == "orthogonal":
            delta_orthogonal_(conv)
        self.conv = operator_norm(conv) if norm == "operator" else spectral_norm(conv)
        self.scale = bound / math.sqrt(3 ** dims) if norm == "strict" else bound

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.scale


def _mix(logit: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(logit)


def _logit(beta: float) -> torch.Tensor:
    return torch.tensor(math.log(beta / (1.0 - beta)))


def delta_orthogonal_(conv: nn.Module) -> None:
    """Delta-orthogonal initialisation (Xiao et al., 2018): a (semi-)orthogonal matrix at the
    kernel's centre tap, zeros elsewhere. The conv is then an isometry at init (every singular
    value of its reshaped weight and of the conv itself is 1), so norm-bounded convs do not
    shrink the thought they pass on, as a default init's bulk of small singular values does."""
    weight = conv.weight
    with torch.no_grad():
        weight.zero_()
        centre = (slice(None), slice(None)) + tuple(k // 2 for k in weight.shape[2:])
        nn.init.orthogonal_(weight[centre])


class LipschitzBlock(nn.Module):
    """h + β·(ELU(conv2(ELU(conv1(h)))) − h): at most 1-Lipschitz for β in (0, 1)."""

    def __init__(self, dims: int, width: int, norm: str = "strict", mix_init: float = 0.5,
                 init: str = "default") -> None:
        super().__init__()
        self.conv1 = BoundedConv(dims, width, width, norm=norm, init=init)
        self.conv2 = BoundedConv(dims, width, width, norm=norm, init=init)
        self.mix = nn.Parameter(_logit(mix_init))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        g = F.elu(self.conv2(F.elu(self.conv1(h))))
        return h + _mix(self.mix) * (g - h)


class LipschitzDTNet(IterativeNet):
    """Projection (conv, BN, ELU) → think = interpolate(thought, blocks(ELU(recall(thought, x))))
    → head (convs with BN and ELU)."""

    recurrent = True
    layers_before = 1
    layers_after = 3

    def __init__(self, config: dict[str, Any], *, dims: int, in_channels: int,
                 num_classes: int) -> None:
        super().__init__(config)
        self.spatial_dims = dims
        width = config["width"]
        self.layers_per_iter = 2 * config["blocks"] + 1
        batch_norm = config.get("batch_norm", "on") == "on"
        norm_layer = (lambda w: _norm(dims, w)) if batch_norm else (lambda w: nn.Identity())
        self.projection = nn.Sequential(_conv(dims, in_channels, width, bias=not batch_norm),
                                        norm_layer(width), nn.ELU())
        norm = config.get("conv_norm", "strict")
        init = config.get("init", "default")
        mix_init = config.get("mix_init", 0.5)
        # recall_norm=thought: only the thought's part of the recall conv is norm-bounded; the
        # input's part (which the Lipschitz constant in the thought does not involve) is free,
        # so a strong input does not shrink what the thought carries
        self.split_recall = config.get("recall_norm", "joint") == "thought"
        self.recall_conv = BoundedConv(dims, width if self.split_recall else width + in_channels,
                                       width, bound=config["contraction"], bias=True, norm=norm,
                                       init=init)
        if self.split_recall:
            self.input_conv = _conv(dims, in_channels, width)
        self.recur_blocks = nn.ModuleList(LipschitzBlock(dims, width, norm, mix_init, init)
                                          for _ in range(config["blocks"]))
        self.mix = nn.Parameter(_logit(mix_init))
        mid = (width, max(width // 2, 2)) if dims == 1 else (32, 8)
        self.head = nn.Sequential(_conv(dims, width, mid[0], bias=not batch_norm),
                                  norm_layer(mid[0]), nn.ELU(),
                                  _conv(dims, mid[0], mid[1], bias=not batch_norm),
                                  norm_layer(mid[1]), nn.ELU(),
                                  _conv(dims, mid[1], num_classes))

    def start(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(x)

    def think(self, thought: torch.Tensor, x: Any, i: int) -> torch.Tensor:
        if self.split_recall:
            h = F.elu(self.recall_conv(thought) + self.input_conv(x))
        else:
            h = F.elu(self.recall_conv(torch.cat([thought, x], 1)))
        for block in self.recur_blocks:
            h = block(h)
        return thought + _mix(self.mix) * (h - thought)

    def answer(self, thought: torch.Tensor) -> torch.Tensor:
        return self.head(thought)

    def contraction_bound(self) -> float:
        """The Lipschitz constant ``think`` is guaranteed not to exceed (in the thought) with
        ``conv_norm=strict``; with ``spectral``, the bound its power-iteration estimate is held to."""
        beta = float(_mix(self.mix).detach())
        return 1.0 - beta * (1.0 - self.config["contraction"])

    def weight_decay_exempt(self) -> list[nn.Parameter]:
        """The constrained (spectrally normalised) weights and the mixing logits: the paper
        decays the unconstrained convs only."""
        exempt = [self.mix]
        for module in (self.recall_conv, *self.recur_blocks):
            exempt += [p for n, p in module.named_parameters() if "original" in n or
                       n.endswith("mix")]
        return exempt
