"""The progressive loss: ``(1-α)·L(max_iters) + α·L(k iterations from a detached thought after n)``."""

from __future__ import annotations

import contextlib
import random
import zlib
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
class NoiseDraw:
    """Where a step's random initial thoughts come from: ``seed`` (the step's), and this
    batch's rows ``[offset, offset + len)`` of a global batch of ``total`` instances, so a
    rank of a distributed run draws exactly the noise one process draws for those rows."""

    seed: int
    offset: int = 0
    total: int | None = None


def step_noise(cfg, ctx, epoch: int, step: int, batch: int) -> NoiseDraw | None:
    """Where a training step's random initial thoughts come from (``--init-thought``): a seed
    of the run's seed, the epoch and the step, and this rank's rows of the global batch, so a
    resumed or distributed run draws exactly what one uninterrupted process draws."""
    if cfg.init_thought == "start":
        return None
    lo, hi = ctx.shard_bounds(batch) if ctx.active else (0, batch)
    if hi <= lo:  # a rank with no instance of this batch computes one with weight 0
        lo = 0
    seed = zlib.crc32(f"{cfg.seed}:{epoch}:{step}:init".encode())
    return NoiseDraw(seed=seed, offset=lo, total=batch)


def initial_thought(net, x: torch.Tensor, mode: str = "start",
                    draw: NoiseDraw | None = None) -> tuple[torch.Tensor, bool]:
    """The thought a training step starts from, and whether the projection was used.

    ``start``: ``net.start(x)``. ``random``: a Gaussian thought with the projection's spread
    (its standard deviation over the batch), as path-independent training starts (Anil et
    al., NeurIPS 2022). ``mix``: random for each instance with probability 1/2. The draws
    depend only on ``draw`` (the step's seed and the rows), so a resumed or distributed run
    repeats them exactly.
    """
    if mode == "start":
        return net.start(x), True
    if draw is None:
        raise ValueError("a random initial thought needs the step's NoiseDraw")
    with torch.no_grad() if mode == "random" else contextlib.nullcontext():
        start = net.start(x)
    total = draw.total or len(x)
    g = torch.Generator().manual_seed(draw.seed)
    rows = slice(draw.offset, draw.offset + len(x))
    noise = torch.randn((total, *start.shape[1:]), generator=g)[rows]
    noise = noise.to(start.device, start.dtype) * start.detach().float().std().clamp_min(1e-6)
    if mode == "random":
        return noise, False
    pick = (torch.rand(total, generator=g)[rows] < 0.5).to(start.device)
    pick = pick.view(-1, *([1] * (start.dim() - 1)))
    return torch.where(pick, noise, start), True


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


def settle_penalty(net, problem, x: torch.Tensor, y: torch.Tensor, logits: torch.Tensor,
                   thought: torch.Tensor, at: int) -> torch.Tensor:
    """The settling term of a batch whose thinking ended at iteration ``at`` in ``thought``
    with ``logits``: per instance it answers right, ‖think(thought) − thought‖ / ‖thought‖
    (the relative change of one more iteration), summed and divided by the batch size; 0 for
    the others.

    Only solved instances count, so the term never asks a thought to stop before its answer is
    formed. The norm, not its square: its gradient does not fade as the change shrinks, so it
    pushes towards a thought that stops, not one that only slows. The gradient reaches the
    iterations that led to ``thought`` as well as the extra one, so training learns to land on
    a fixed point, not only to shorten the last step.
    """
    with torch.no_grad():
        solved = problem.correct(problem.predict(logits, x), y)
    if not bool(solved.any()):
        return torch.zeros((), device=x.device)
    _, nxt = next(iter(net.iterate(x, 1, thought, start_iter=at)))
    change = (nxt - thought).float().flatten(1).pow(2).sum(1).add(1e-12).sqrt()
    scale = thought.detach().float().flatten(1).norm(dim=1).clamp_min(1e-6)
    return (change / scale * solved.float()).sum() / len(x)


def progressive_loss(net, problem, x: torch.Tensor, y: torch.Tensor, *, alpha: float,
                     max_iters: int, nk: tuple[int, int], init_thought: str = "start",
                     draw: NoiseDraw | None = None, settle_weight: float = 0.0) -> StepOutput:
    """One batch's loss for the draw ``nk = (n, k)``, doing only the work α makes useful.

    With α < 1 the full unroll is computed with gradients, and the progressive term reuses its
    (detached) thought after n iterations instead of running n more iterations. With α = 1 the
    full unroll is skipped and the n warm-up iterations run without building a graph (so the
    projection gets no gradient from that step unless n = 0). With α = 0 no progressive term
    is computed. ``init_thought`` and ``draw``: where thinking starts (:func:`initial_thought`).
    ``settle_weight``: adds that times :func:`settle_penalty` at the end of the progressive
    segment (of the full unroll when α = 0).
    """
    n, k = nk
    first_used = [False]

    def first() -> torch.Tensor:
        thought, used_start = initial_thought(net, x, init_thought, draw)
        first_used[0] = used_start
        return thought

    loss = torch.zeros((), device=x.device)
    logits = None
    detached = None

    if alpha < 1:
        thought = first()
        for i, thought in net.iterate(x, max_iters, thought):
            if alpha > 0 and i == n:
                detached = thought.detach()
        logits = net.answer(thought)
        loss = loss + (1 - alpha) * problem.loss(logits, y, x)
        used = UsedParts(start=first_used[0], iterations=range(max_iters))
        if settle_weight and alpha == 0:
            loss = loss + settle_weight * settle_penalty(net, problem, x, y, logits, thought,
                                                         max_iters)
            used = UsedParts(start=used.start, iterations=range(max_iters + 1))
    else:
        used = UsedParts(start=n == 0, iterations=range(n, n + k))

    if alpha > 0:
        if n == 0:
            start = first()  # as the reference: the projection learns from this term too
            used = UsedParts(start=first_used[0], iterations=used.iterations)
        elif detached is not None:
            start = detached
        else:
            with torch.no_grad():
                start = first()
                for _, start in net.iterate(x, n, start):
                    pass
        prog_logits, end = net(x, k, thought=start, start_iter=n)
        loss = loss + alpha * problem.loss(prog_logits, y, x)
        if settle_weight:
            loss = loss + settle_weight * settle_penalty(net, problem, x, y, prog_logits, end,
                                                         n + k)
            used = UsedParts(start=used.start, iterations=range(used.iterations.start,
                                                                max(used.iterations.stop,
                                                                    n + k + 1)))
        if logits is None:
            logits = prog_logits
    return StepOutput(loss=loss, logits=logits, used=used)
