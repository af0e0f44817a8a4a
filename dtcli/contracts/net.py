"""IterativeNet: the shape every architecture's network takes, ``answer(think^m(start(x)))``."""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import nn

from dtcli.contracts.errors import DtError


class IterativeNet(nn.Module):
    """A network that thinks in iterations.

    Subclasses implement :meth:`start` (projection into thought space), :meth:`think` (one
    iteration; a recurrent net ignores ``i``, a feed-forward net applies its ``i``-th block) and
    :meth:`answer` (the head). ``config`` holds every keyword the architecture needs to build the
    same network again; ``layers_before``, ``layers_per_iter`` and ``layers_after`` give the
    effective depth.
    """

    recurrent: bool = True
    #: spatial dimensions of the thought (1: sequences, 2: grids and boards; None: not a
    #: spatial map, e.g. an MLP's vector); the engine lays 2D thoughts out channels-last
    spatial_dims: int | None = None
    layers_before: int = 1
    layers_per_iter: int = 1
    layers_after: int = 1

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config: dict[str, Any] = dict(config or {})

    # -- the three parts -------------------------------------------------------------------

    def start(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def think(self, thought: torch.Tensor, x: Any, i: int) -> torch.Tensor:
        """One iteration; ``i`` counts from 0. ``x`` is what :meth:`encode_input` made of the
        input (the input itself unless the net overrides it); a net that overrides
        :meth:`encode_input` must also accept the raw input here."""
        raise NotImplementedError

    def encode_input(self, x: torch.Tensor) -> Any:
        """What ``think`` needs of the input, computed once per instance rather than at every
        iteration (a recall net: the input's part of the recall convolution). Default: ``x``."""
        return x

    def answer(self, thought: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- iteration -------------------------------------------------------------------------

    @property
    def max_depth(self) -> int | None:
        """The most iterations the net can do: None (unbounded) for recurrent nets."""
        return None

    def check_iters(self, iters: int, start_iter: int = 0) -> None:
        limit = self.max_depth
        if limit is not None and start_iter + iters > limit:
            raise DtError(
                f"this feed-forward net has {limit} blocks, so it can think for at most {limit} "
                f"iterations (asked for {start_iter + iters}); only recurrent nets think longer"
            )

    def iterate(self, x: torch.Tensor, iters: int, thought: torch.Tensor | None = None,
                start_iter: int = 0) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(i, thought)`` after each iteration, ``i`` counting from ``start_iter + 1``.

        Earlier thoughts are not kept, so memory does not grow with ``iters``.
        """
        self.check_iters(iters, start_iter)
        if thought is None:
            thought = self.start(x)
        encoded = self.encode_input(x)
        for i in range(start_iter, start_iter + iters):
            thought = self.think(thought, encoded, i)
            yield i + 1, thought

    def forward(self, x: torch.Tensor, iters: int, thought: torch.Tensor | None = None,
                start_iter: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Think for ``iters`` iterations and answer: ``(logits, final thought)``."""
        if thought is None:
            thought = self.start(x)
        for _, thought in self.iterate(x, iters, thought, start_iter):
            pass
        return self.answer(thought), thought

    # -- description -----------------------------------------------------------------------

    def effective_depth(self, iters: int) -> int:
        """Layers between input and output when thinking for ``iters`` iterations."""
        return self.layers_before + self.layers_per_iter * iters + self.layers_after

    def weight_decay_exempt(self) -> list[nn.Parameter]:
        """Parameters the optimizer's weight decay must leave alone (e.g. constrained
        weights); default none."""
        return []

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
