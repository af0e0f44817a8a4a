"""The reference algorithm (deep-thinking), written from its description, for
``dt bench --baseline reference``: on the same weights and inputs, in the same process, so the
speed ratio can be measured on any machine.

What the reference does that dt does not: inference keeps every iteration's output (batch x
iterations x classes x positions) and scores them afterwards; a training step always runs the
full ``max_iters`` unroll with the head at every iteration (its last output gives the training
accuracy), runs the n warm-up iterations of the progressive loss with autograd before
detaching them, and applies the head at each of the k iterations too. Recall is a
concatenation followed by one convolution, ReLUs are out of place, tensors are NCHW. The
iteration itself comes from the architecture plugin (``Architecture.reference_think``: the DT
family offers it); this module runs the reference's algorithm around it.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch

from dtcli.contracts.errors import DtError


class ReferenceNet(torch.nn.Module):
    """A copy of a net's weights in the reference's contiguous (NCHW) layout, thinking with
    its architecture's reference iteration."""

    def __init__(self, net: torch.nn.Module, think: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.net = net
        self.think = think


def reference_copy(net: torch.nn.Module, arch) -> ReferenceNet:
    """The same weights, in the reference's layout, with ``arch``'s reference iteration."""
    copied = copy.deepcopy(net).to(memory_format=torch.contiguous_format)
    think = arch.reference_think(copied)
    if think is None:
        raise DtError(f"--baseline reference needs an architecture that offers the reference's "
                      f"iteration (the DT family: dt, dt-recall, ff, ff-recall); {arch.name} "
                      f"does not")
    return ReferenceNet(copied, think)


def reference_forward(net, x: torch.Tensor, iters: int, thought: torch.Tensor | None = None,
                      start_iter: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(all outputs, last output, last thought)``: the head at every iteration, every output
    kept (in training the reference returns the last output itself, as here)."""
    initial = net.net.start(x)  # computed even when a thought is given, as the reference
    thought = initial if thought is None else thought
    outputs = None
    for j in range(iters):
        thought = net.think(thought, x, start_iter + j)
        out = net.net.answer(thought)
        if outputs is None:
            outputs = out.new_zeros((out.shape[0], iters, *out.shape[1:]))
        outputs[:, j] = out
    return outputs, out, thought


def reference_inference(net, problem, x: torch.Tensor, y: torch.Tensor, iters: int) -> list[int]:
    """Correct instances at every iteration: all outputs first, then scored."""
    with torch.no_grad():
        outputs, _, _ = reference_forward(net, x, iters)
        return [int(problem.correct(problem.predict(outputs[:, i], x), y).sum())
                for i in range(iters)]


def reference_train_step(net, problem, optimizer: Any, x: torch.Tensor, y: torch.Tensor, *,
                         alpha: float, max_iters: int, nk: tuple[int, int],
                         clip: float | None) -> float:
    """One step of the reference's train_progressive; returns the loss."""
    optimizer.zero_grad()
    _, last_max, _ = reference_forward(net, x, max_iters)
    loss = torch.zeros((), device=x.device)
    if alpha != 1:
        loss = loss + (1 - alpha) * problem.loss(last_max, y, x)
    if alpha != 0:
        n, k = nk
        interim = None
        if n > 0:
            _, _, interim = reference_forward(net, x, n)
            interim = interim.detach()
        _, last, _ = reference_forward(net, x, k, thought=interim, start_iter=n)
        loss = loss + alpha * problem.loss(last, y, x)
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
    optimizer.step()
    problem.correct(problem.predict(last_max.detach(), x), y).sum()
    return float(loss.detach())
