"""Stability of the recurrent map: does the thought settle, and can the net be truncated?

Per iteration t: the relative change of the thought ‖θ_t − θ_{t−1}‖ / ‖θ_t‖; at sampled
iterations, a local Lipschitz estimate of ``think`` in the thought (the spectral norm of its
Jacobian at θ_{t−1}, by power iteration with Jacobian-vector products); whether and when each
instance's thought settles (its change stays under a tolerance); and the **truncation test**:
the accuracy of the answer at every iteration k and how often it equals the answer at the
settled point. A map that is a contraction (Lipschitz < 1) settles to a unique fixed point and
can be truncated to a few steps, i.e. replaced by a feed-forward net (*When recurrent models
don't need to be recurrent*); one that is not may drift, oscillate or overthink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from dtcli.analysis.common import batch_size_for, batches, check_iterations, frozen
from dtcli.analysis.settling import POSITION_TOLERANCE, SolveTrace, moving_share
from dtcli.contracts.errors import DtError

TOLERANCE = 1e-3
#: a thought counts as settled only if it stays settled for at least this many iterations
WINDOW = 10


def finite(values: list[float | None]) -> list[float | None]:
    """``values`` with NaN and infinities as None (valid JSON; "no number" in tables)."""
    return [v if v is not None and math.isfinite(v) else None for v in values]


def last_number(values: list[float | None]) -> float | None:
    """The last entry that is a number (the one before an overflow)."""
    return next((v for v in reversed(values) if v is not None), None)


def per_sample_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1)


def _unit(t: torch.Tensor) -> torch.Tensor:
    return t / per_sample_norm(t).clamp_min(1e-30).view(-1, *[1] * (t.dim() - 1))


def lipschitz_estimate(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *,
                       steps: int = 8, generator: torch.Generator | None = None) -> torch.Tensor:
    """Per sample, the spectral norm of the Jacobian of ``fn`` at ``x``: its local Lipschitz
    constant (in the ℓ2 norm), by ``steps`` rounds of power iteration on JᵀJ.

    ``fn`` maps a batch to a batch and must treat the samples independently (a net in eval
    mode does), so the Jacobian is block-diagonal and each sample's power iteration runs on
    its own block, all in one pass. Each round is one Jacobian-vector product
    (``torch.func.jvp``) and one vector-Jacobian product (``torch.func.vjp``, linearised once).
    Power iteration approaches the top singular value from below: the estimate is a lower
    bound that tightens with ``steps``; ``‖J v‖`` of the final unit vector is returned.
    Parameters get no gradients (the transforms differentiate in ``x`` only).
    """
    from torch.func import jvp, vjp

    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    x = x.detach()
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype,
                        device=generator.device if generator is not None else x.device)
    v = _unit(noise.to(x.device))
    # torch.func.jvp accepts the in-place ops of DT nets' residual blocks (relu_, +=): checked
    # on the zoo's DT and DT-recall nets, so no forward_ad / double-vjp fallback is needed.
    with torch.no_grad():  # the transforms ignore an outer no_grad; parameters build no graph
        _, pullback = vjp(fn, x)
        for _ in range(steps):
            _, u = jvp(fn, (x,), (v,))
            (w,) = pullback(u)
            v = _unit(w)
        _, u = jvp(fn, (x,), (v,))
    return per_sample_norm(u)


def think_lipschitz(net, thought: torch.Tensor, encoded: Any, i: int, *, steps: int = 8,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Per instance, the local Lipschitz constant of ``think(·, encoded, i)`` at ``thought``."""
    with frozen(net):
        return lipschitz_estimate(lambda t: net.think(t, encoded, i), thought, steps=steps,
                                  generator=generator)


def sample_points(iters: int, points: int) -> list[int]:
    """``points`` iterations spread evenly over 1..iters (both ends included)."""
    if points <= 0:
        return []
    if points == 1:
        return [iters]
    return sorted({round(1 + k * (iters - 1) / (points - 1)) for k in range(points)})


def settle_iterations(change: torch.Tensor, tol: float, window: int = WINDOW) -> list[int | None]:
    """Per instance (rows of ``change``, one column per iteration 1..T): the first iteration
    from which the change stays below ``tol`` to the end, or None when it never does for at
    least ``window`` iterations."""
    iters = change.shape[1]
    below = change < tol
    # suffix "all below": flip, cumulative product, flip back
    stays = below.flip(1).int().cumprod(1).flip(1).bool()
    out: list[int | None] = []
    for row in stays:
        idx = torch.nonzero(row).flatten()
        first = int(idx[0]) + 1 if len(idx) else None
        out.append(first if first is not None and iters - first + 1 >= window else None)
    return out


@dataclass
class StabilityResult:
    """Per-iteration stability figures of one model on one data set."""

    iters: list[int]
    total: int
    max_iters: int
    tolerance: float
    change: list[float | None]   # mean over instances of the relative change (None: overflow)
    change_max: list[float | None]
    change_median: list[float | None]
    ratio: list[float | None]    # median of ‖θ_t − θ_{t−1}‖ / ‖θ_{t−1} − θ_{t−2}‖
    norm: list[float | None]     # median over instances of ‖θ_t‖
    accuracy: list[float]        # % correct at iteration k
    agreement: list[float]       # % whose answer at k equals their answer at the last iteration
    settle: list[int | None]     # per instance
    lipschitz_iters: list[int]
    lipschitz_mean: list[float | None]
    lipschitz_max: list[float | None]
    #: per instance, the first iteration whose thought is not finite (overflowed), or None
    overflow: list[int | None] = field(default_factory=list)
    #: % of positions whose thought still moves (above position_tolerance), per iteration
    moving: list[float] = field(default_factory=list)
    position_tolerance: float = POSITION_TOLERANCE
    #: per instance: first correct, last wrong after it, flickers (analysis.settling)
    trace: SolveTrace | None = None
    difficulty: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def settled_share(self) -> float:
        return 100.0 * sum(s is not None for s in self.settle) / max(1, len(self.settle))

    @property
    def settled_at(self) -> int | None:
        """The iteration by which every instance has settled (None if one never does)."""
        if not self.settle or any(s is None for s in self.settle):
            return None
        return max(self.settle)  # type: ignore[type-var]

    def median_settle(self) -> float | None:
        done = sorted(s for s in self.settle if s is not None)
        if not done:
            return None
        mid = len(done) // 2
        return float(done[mid]) if len(done) % 2 else (done[mid - 1] + done[mid]) / 2

    @property
    def diverged_at(self) -> int | None:
        """The first iteration at which some instance's thought overflows (None: never)."""
        hit = [o for o in self.overflow if o is not None]
        return min(hit) if hit else None

    def truncation_point(self) -> int | None:
        """The first iteration from which every answer equals the final (settled) answer."""
        for j in range(len(self.iters)):
            if all(a >= 100.0 - 1e-9 for a in self.agreement[j:]):
                return self.iters[j]
        return None

    def at(self, values: list, iteration: int) -> float | None:
        return values[iteration - 1] if 1 <= iteration <= len(values) else None

    def summary(self) -> dict[str, Any]:
        last = self.iters[-1]
        return {"settled_share": self.settled_share, "settled_at": self.settled_at,
                "median_settle": self.median_settle(), "truncation_point": self.truncation_point(),
                "accuracy_at_max_iters": self.at(self.accuracy, self.max_iters),
                "agreement_at_max_iters": self.at(self.agreement, self.max_iters),
                "accuracy_at_last": self.accuracy[-1], "last": last,
                "best_accuracy": max(self.accuracy),
                "best_iteration": self.iters[self.accuracy.index(max(self.accuracy))],
                "diverged_at": self.diverged_at,
                "diverged_share": 100.0 * sum(o is not None for o in self.overflow)
                / max(1, len(self.overflow)),
                "change_at_last": self.change[-1], "step_ratio_at_last": last_number(self.ratio),
                "norm_at_max_iters": self.at(self.norm, self.max_iters),
                "norm_at_last": last_number(self.norm),
                "lipschitz_at_last": self.lipschitz_mean[-1] if self.lipschitz_mean else None,
                "settled_positions_at_last": 100.0 - self.moving[-1] if self.moving else None,
                **({f"solve_{k}": v for k, v in self.trace.summary().items()}
                   if self.trace else {})}

    def to_dict(self) -> dict[str, Any]:
        return {"difficulty": self.difficulty, "total": self.total, "max_iters": self.max_iters,
                "tolerance": self.tolerance, "iters": self.iters, "change": finite(self.change),
                "change_max": finite(self.change_max), "change_median": self.change_median,
                "step_ratio": finite(self.ratio),
                "norm": self.norm,
                "accuracy": self.accuracy, "agreement": self.agreement, "settle": self.settle,
                "overflow": self.overflow,
                "lipschitz": {"iters": self.lipschitz_iters, "mean": self.lipschitz_mean,
                              "max": self.lipschitz_max},
                "moving": self.moving, "position_tolerance": self.position_tolerance,
                "trace": self.trace.to_dict() if self.trace else None,
                "summary": self.summary(), **self.extra}


def fingerprint(pred: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """One float64 per instance that differs, with probability 1, between different answers."""
    return pred.reshape(len(pred), -1).double() @ weights


def stability(net, problem, x: torch.Tensor, y: torch.Tensor, iters: int, *,
              max_iters: int, tolerance: float = TOLERANCE, lipschitz_points: int = 10,
              lipschitz_count: int = 8, power_steps: int = 8, seed: int = 0,
              batch_size: int | None = None, difficulty: Any = None,
              position_tolerance: float = POSITION_TOLERANCE,
              on_step: Callable[[int, int], None] | None = None) -> StabilityResult:
    """Run ``net`` for ``iters`` iterations on ``(x, y)`` and measure its stability.

    The Lipschitz estimate is taken on the first ``lipschitz_count`` instances at
    ``lipschitz_points`` iterations spread over the run. Memory is flat in ``iters`` apart
    from a few numbers per instance and iteration.
    """
    check_iterations(net, iters)
    if tolerance <= 0:
        raise DtError(f"--tolerance must be positive, got {tolerance}")
    size = batch_size_for(net, x, batch_size)
    n = len(x)
    change = torch.zeros(n, iters, dtype=torch.float64)
    norm = torch.zeros(n, iters, dtype=torch.float64)
    overflow = torch.zeros(n, iters, dtype=torch.bool)
    step = torch.zeros(n, iters, dtype=torch.float64)  # ‖θ_t − θ_{t−1}‖, for the step ratio
    correct = torch.zeros(n, iters, dtype=torch.bool)
    moving = torch.zeros(n, iters, dtype=torch.float64)
    prints = torch.zeros(n, iters, dtype=torch.float64)
    sampled = set(sample_points(iters, lipschitz_points)) if lipschitz_count > 0 else set()
    lips: dict[int, torch.Tensor] = {}
    gen = torch.Generator().manual_seed(seed)
    weights = None
    parts = batches(n, size)
    net.eval()
    with torch.no_grad():  # not inference_mode: the Lipschitz estimate differentiates thoughts
        for b, s in enumerate(parts):
            xb, yb = x[s], y[s]
            prev = net.start(xb)
            encoded = net.encode_input(xb)
            for i in range(iters):
                if b == 0 and i + 1 in sampled:
                    m = min(lipschitz_count, len(xb))
                    enc_m = net.encode_input(xb[:m])
                    lips[i + 1] = think_lipschitz(net, prev[:m], enc_m, i, steps=power_steps,
                                                  generator=gen).cpu()
                thought = net.think(prev, encoded, i)
                # float64: a growing thought's float32 sum of squares overflows long before it
                diff = per_sample_norm((thought - prev).double())
                size = per_sample_norm(thought.double())
                change[s, i] = (diff / size.clamp_min(1e-12)).cpu()
                step[s, i] = diff.cpu()
                norm[s, i] = size.cpu()
                overflow[s, i] = (~torch.isfinite(thought.flatten(1)).all(1)).cpu()
                moving[s, i] = moving_share(prev, thought, position_tolerance).double().cpu()
                pred = problem.predict(net.answer(thought), xb)
                if weights is None:
                    weights = torch.randn(pred[0].numel(), generator=gen, dtype=torch.float64)
                correct[s, i] = problem.correct(pred, yb).cpu()
                prints[s, i] = fingerprint(pred.cpu(), weights)
                prev = thought
                if on_step is not None:
                    on_step(b * iters + i + 1, len(parts) * iters)
    agree = prints == prints[:, -1:]
    # how much each step shrinks the next: < 1 along the trajectory means it converges there
    # (geometrically), whatever the worst-case Lipschitz constant of the map
    ratio = (step[:, 1:] / step[:, :-1].clamp_min(1e-30)).nanmedian(0).values
    ratios: list[float | None] = [None, *ratio.tolist()]
    first_bad = [int(row.nonzero()[0]) + 1 if row.any() else None for row in overflow]
    lip_iters = sorted(lips)
    return StabilityResult(
        iters=list(range(1, iters + 1)), total=n, max_iters=max_iters, tolerance=tolerance,
        change=finite(change.masked_fill(~change.isfinite(), math.nan).nanmean(0).tolist()),
        change_max=finite(change.amax(0).tolist()),
        change_median=finite(change.nanmedian(0).values.tolist()),
        ratio=finite(ratios), norm=finite(norm.nanmedian(0).values.tolist()),
        accuracy=(100.0 * correct.double().mean(0)).tolist(),
        agreement=(100.0 * agree.double().mean(0)).tolist(),
        settle=settle_iterations(change, tolerance), lipschitz_iters=lip_iters,
        lipschitz_mean=finite([float(lips[i].nanmean()) for i in lip_iters]),
        lipschitz_max=finite([float(lips[i].max()) for i in lip_iters]), overflow=first_bad,
        difficulty=difficulty, moving=(100.0 * moving.mean(0)).tolist(),
        position_tolerance=position_tolerance, trace=SolveTrace.from_correct(correct),
        extra={"lipschitz_count": min(lipschitz_count, n) if lips else 0,
               "power_steps": power_steps, "seed": seed})
