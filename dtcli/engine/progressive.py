"""The progressive loss: ``(1-α)·L(max_iters) + α·L(k iterations from a detached thought after n)``."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch


def sample_nk(max_iters: int, rng: random.Random, how: str = "reference") -> tuple[int, int]:
    """Draw ``(n, k)`` with ``0 <= n < max_iters`` and ``1 <= k <= max_iters - n``.

    ``reference``: n uniform, then k uniform given n (as deep-thinking; n + k is then skewed
    towards small sums, its issue #10). ``uniform-sum``: n + k uniform on 1..max_iters, then n
    uniform below it, so every depth is trained equally often.
    """
    if how == "uniform-sum":
        total = rng.randrange(1, max_iters + 1)
        n = rng.randrange(0, total)
        return n, total - n
    n = rng.randrange(0, max_iters)
    k = rng.randrange(1, max_iters - n + 1)
    return n, k


@dataclass
class StepOutput:
    """The loss of one batch and the logits its accuracy is measured on."""

    loss: torch.Tensor
    logits: torch.Tensor


def progressive_loss(net, problem, x: torch.Tensor, y: torch.Tensor, *, alpha: float,
                     max_iters: int, rng: random.Random, nk_sampling: str = "reference") -> StepOutput:
    """One batch's loss, doing only the work α makes useful.

    With α < 1 the full unroll is computed with gradients, and the progressive term reuses its
    (detached) thought after n iterations instead of running n more iterations. With α = 1 the
    full unroll is skipped and the n warm-up iterations run without building a graph. With
    α = 0 no progressive term is computed.
    """
    n = k = 0
    if alpha > 0:
        n, k = sample_nk(max_iters, rng, nk_sampling)
    loss = torch.zeros((), device=x.device)
    logits = None
    detached = None

    if alpha < 1:
        thought = net.start(x)
        for i, thought in net.iterate(x, max_iters, thought):
            if alpha > 0 and i == n:
                detached = thought.detach()
        logits = net.answer(thought)
        loss = loss + (1 - alpha) * problem.loss(logits, y, x)

    if alpha > 0:
        if n == 0:
            start = net.start(x)  # as the reference: the projection learns from this term too
        elif detached is not None:
            start = detached
        else:
            with torch.no_grad():
                start = net.start(x)
                for _, start in net.iterate(x, n, start):
                    pass
        prog_logits, _ = net(x, k, thought=start, start_iter=n)
        loss = loss + alpha * problem.loss(prog_logits, y, x)
        if logits is None:
            logits = prog_logits
    return StepOutput(loss=loss, logits=logits)
