"""Normalising a convolution by its operator norm (not by its reshaped weight matrix's).

``torch.nn.utils.parametrizations.spectral_norm`` divides a conv's weight by the largest
singular value of the weight reshaped to (out, in·k^d). The conv applies that matrix to k^d
shifted copies of its input, so its operator norm lies anywhere between that value and
sqrt(k^d) times it: a bound of 1 needs an extra 1/sqrt(k^d), which for a 3x3 conv shrinks a
typical input about 3x per conv, and a recurrent block of five convs then forgets what it
carried a few cells away. :class:`ConvOperatorNorm` instead runs the power iteration on the
conv itself (a conv and its transpose on a reference input, the vector kept between calls,
one round per training forward, as ``spectral_norm`` does for matrices), so the normalised
conv's norm is 1 on that input size up to the iteration's convergence. On larger inputs the
norm of a zero-padded conv grows towards its value on the infinite grid; from the reference
size used here (64, 24x24) that growth is a few percent at most: the contraction the tests
check is measured, with the Jacobian power iteration, at the sizes that are used.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

REFERENCE_SIZE = {1: (64,), 2: (24, 24)}


class ConvOperatorNorm(nn.Module):
    """Parametrization: weight / ‖conv(·, weight)‖ (stride 1, 'same' zero padding)."""

    def __init__(self, weight: torch.Tensor, *, rounds: int = 30, eps: float = 1e-12) -> None:
        super().__init__()
        self.dims = weight.dim() - 2
        self.padding = weight.shape[-1] // 2
        self.eps = eps
        u = torch.randn(1, weight.shape[1], *REFERENCE_SIZE[self.dims])
        self.register_buffer("_u", u / u.norm())
        with torch.no_grad():
            self._power(weight.detach(), rounds)

    def _conv(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        op = F.conv1d if self.dims == 1 else F.conv2d
        return op(x, weight, padding=self.padding)

    def _conv_t(self, y: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        op = F.conv_transpose1d if self.dims == 1 else F.conv_transpose2d
        return op(y, weight, padding=self.padding)

    def _power(self, weight: torch.Tensor, rounds: int) -> None:
        """Rounds of power iteration on AᵀA (A the conv), in place on the stored vector."""
        u = self._u
        for _ in range(rounds):
            u = self._conv_t(self._conv(u, weight), weight)
            u = u / u.norm().clamp_min(self.eps)
        self._u.copy_(u)

    def norm(self, weight: torch.Tensor) -> torch.Tensor:
        """‖A u‖ for the stored unit vector u: the operator norm's estimate (from below)."""
        return self._conv(self._u.clone(), weight).norm()

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                self._power(weight.detach(), 1)
        return weight / self.norm(weight).clamp_min(self.eps)


def operator_norm(module: nn.Module, name: str = "weight") -> nn.Module:
    """Register :class:`ConvOperatorNorm` on ``module.<name>`` (a Conv1d or Conv2d); the free
    weight is then ``module.parametrizations.<name>.original``, as with ``spectral_norm``."""
    parametrize.register_parametrization(module, name, ConvOperatorNorm(getattr(module, name)))
    return module
