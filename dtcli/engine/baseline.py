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
        self._classes: int | None = None

    def classes(self, thought: torch.Tensor) -> int:
        """The head's output channels (probed once on one position of one instance)."""
        if self._classes is None:
            with torch.no_grad():
                probe = thought[(slice(0, 1), slice(None)) + (slice(0, 1),) * (thought.dim() - 2)]
                self._classes = int(self.net.answer(probe).shape[1])
        return self._classes


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
    kept in a zeroed tensor allocated before the loop (in training too), as the reference's
    forward does; in training the reference returns the last output itself, as here."""
    initial = net.net.start(x)  # computed even when a thought is given, as the reference
    thought = initial if thought is None else thought
    outputs = torch.zeros((x.shape[0], iters, net.classes(initial), *x.shape[2:]),
                          device=x.device)
    out = None
    for j in range(iters):
        thought = net.think(thought, x, start_iter + j)
        out = net.net.answer(thought)
        outputs[:, j] = out
    return outputs, out, thought


def reference_inference(net, problem, x: torch.Tensor, y: torch.Tensor, iters: int) -> list[int]:
    """Correct instances at every iteration: all outputs first, then scored one iteration at a
    time, each iteration's outputs copied first (the reference's ``get_predicted`` clones
    them) and its count read back to the host.

    Timed against the real code, this agrees to 1% (21.1 s against 21.0 s on 25 mazes of
    33x33, 100 iterations, 1 thread) when both keep freed memory (dt's
    :mod:`~dtcli.engine.allocator`); under glibc's default settings the real code's own run
    time varies from 23 to 28 s with how many pages its allocator hands back and faults in
    again (1.7 to 3.6 million minor faults), and no re-written baseline tracks that.
    """
    with torch.no_grad():
        outputs, _, _ = reference_forward(net, x, iters)
        return [int(problem.correct(problem.predict(outputs[:, i].clone(), x), y).sum().item())
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
