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


def draw_nk(alpha: float, max_iters: int, rng: random.Random,
            how: str = "reference") -> tuple[int, int]:
    """The ``(n, k)`` of one step: drawn only when the progressive term is computed (α > 0),
    so the draws of a run depend on α exactly as the reference's do."""
    return sample_nk(max_iters, rng, how) if alpha > 0 else (0, 0)


@dataclass(frozen=True)
class UsedParts:
    """Which parts of the net ran with gradients in one step: the projection or not, the
    iterations (0-based) whose ``think`` did, and the head (always)."""

    start: bool
    iterations: range


@dataclass
class StepOutput:
    """The loss of one batch, the logits its accuracy is measured on, and what it used."""

    loss: torch.Tensor
    logits: torch.Tensor
    used: UsedParts


def progressive_loss(net, problem, x: torch.Tensor, y: torch.Tensor, *, alpha: float,
                     max_iters: int, nk: tuple[int, int]) -> StepOutput:
    """One batch's loss for the draw ``nk = (n, k)``, doing only the work α makes useful.

    With α < 1 the full unroll is computed with gradients, and the progressive term reuses its
    (detached) thought after n iterations instead of running n more iterations. With α = 1 the
    full unroll is skipped and the n warm-up iterations run without building a graph (so the
    projection gets no gradient from that step unless n = 0). With α = 0 no progressive term
    is computed.
    """
    n, k = nk
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
        used = UsedParts(start=True, iterations=range(max_iters))
    else:
        used = UsedParts(start=n == 0, iterations=range(n, n + k))

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
    return StepOutput(loss=loss, logits=logits, used=used)
