"""Error correction: corrupt the thought in the middle of a solve and watch the net recover.

The clean and the perturbed solve run side by side from the same start; after iteration K the
perturbed thought is corrupted (noise, zeroing or another instance's thought) and both go on.
Reported per iteration: accuracy of each, the share of instances whose perturbed answer equals
the clean one, and the distance between the two thoughts; and how many iterations the net
needs to get back to the clean accuracy (DT-recall nets do, the deep-thinking papers show).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from dtcli.analysis.common import batch_size_for, batches, check_iterations
from dtcli.analysis.stability import finite, per_sample_norm
from dtcli.contracts.errors import DtError

KINDS = ("noise", "zero", "shuffle")
#: accuracy within this many percentage points of the clean run counts as recovered
TOLERANCE = 1.0


def corrupt(thought: torch.Tensor, kind: str, scale: float,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """``noise``: add Gaussian noise of ``scale`` times each instance's RMS thought value;
    ``zero``: scale the thought by ``1 − scale`` (1: erase it); ``shuffle``: move it ``scale``
    of the way to the next instance's thought (1: swap in another instance's thought)."""
    if kind == "noise":
        rms = per_sample_norm(thought) / thought[0].numel() ** 0.5
        noise = torch.randn(thought.shape, generator=generator, dtype=thought.dtype)
        return thought + scale * rms.view(-1, *[1] * (thought.dim() - 1)) * noise.to(thought.device)
    if kind == "zero":
        return (1.0 - scale) * thought
    if kind == "shuffle":
        if len(thought) < 2:
            raise DtError("--kind shuffle swaps thoughts between instances: use --count 2 or "
                          "more and a batch of at least 2")
        return (1.0 - scale) * thought + scale * thought.roll(1, 0)
    raise DtError(f"unknown --kind {kind!r}; choose from {', '.join(KINDS)}")


@dataclass
class PerturbResult:
    """Clean vs perturbed accuracy per iteration, and the recovery."""

    iters: list[int]
    at: int
    kind: str
    scale: float
    total: int
    clean: list[float]
    perturbed: list[float]
    agreement: list[float]   # % instances whose perturbed answer equals the clean answer
    distance: list[float | None]  # mean ‖θ_perturbed − θ_clean‖ / ‖θ_clean‖
    recover: list[int | None]  # per instance: iterations after K until its answer is clean for good
    tolerance: float = TOLERANCE
    difficulty: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def recovered_at(self) -> int | None:
        """The first iteration ≥ K from which the perturbed accuracy stays within
        ``tolerance`` points of the clean one (None: not within the run)."""
        for j in range(self.at - 1, len(self.iters)):
            if all(p >= c - self.tolerance for p, c in zip(self.perturbed[j:], self.clean[j:])):
                return self.iters[j]
        return None

    def summary(self) -> dict[str, Any]:
        k = self.at - 1
        rec = self.recovered_at()
        back = sorted(r for r in self.recover if r is not None)
        # thrown off: an answer that differs from the clean one at some iteration from K on
        hurt = [r for r in self.recover if r is None or r > 0]
        healed = sorted(r for r in hurt if r is not None)
        return {"clean_at_k": self.clean[k], "perturbed_at_k": self.perturbed[k],
                "lowest_perturbed": min(self.perturbed[k:]),
                "clean_final": self.clean[-1], "perturbed_final": self.perturbed[-1],
                "recovered_at": rec, "iterations_to_recover": None if rec is None else rec - self.at,
                "accuracy_after_recovery": None if rec is None else self.perturbed[rec - 1],
                "instances_recovered": 100.0 * len(back) / max(1, len(self.recover)),
                "median_instance_recovery": back[len(back) // 2] if back else None,
                "instances_thrown_off": 100.0 * len(hurt) / max(1, len(self.recover)),
                "median_recovery_of_thrown_off": healed[len(healed) // 2] if healed else None,
                "slowest_recovery": healed[-1] if healed else None,
                "final_agreement": self.agreement[-1], "final_distance": self.distance[-1]}

    def to_dict(self) -> dict[str, Any]:
        return {"difficulty": self.difficulty, "total": self.total, "at": self.at,
                "kind": self.kind, "scale": self.scale, "tolerance": self.tolerance,
                "iters": self.iters, "clean": self.clean, "perturbed": self.perturbed,
                "agreement": self.agreement, "distance": self.distance,
                "recover": self.recover, "summary": self.summary(), **self.extra}


def perturb(net, problem, x: torch.Tensor, y: torch.Tensor, iters: int, at: int, *,
            kind: str = "noise", scale: float = 1.0, seed: int = 0,
            tolerance: float = TOLERANCE, batch_size: int | None = None, difficulty: Any = None,
            on_step: Callable[[int, int], None] | None = None) -> PerturbResult:
    """Solve ``(x, y)`` for ``iters`` iterations twice, corrupting the second solve's thought
    after iteration ``at``; see :class:`PerturbResult`."""
    if kind not in KINDS:
        raise DtError(f"unknown --kind {kind!r}; choose from {', '.join(KINDS)}")
    if scale < 0:
        raise DtError(f"--scale must be at least 0, got {scale}")
    if not 1 <= at < iters:
        raise DtError(f"--at {at} must lie in 1..{iters - 1} (before the last of the {iters} "
                      f"iterations); raise --iters to think past the perturbation")
    check_iterations(net, iters)
    size = batch_size_for(net, x, batch_size)
    n = len(x)
    ok_clean = torch.zeros(n, iters, dtype=torch.bool)
    ok_pert = torch.zeros(n, iters, dtype=torch.bool)
    same = torch.zeros(n, iters, dtype=torch.bool)
    dist = torch.zeros(n, iters)
    gen = torch.Generator().manual_seed(seed)
    parts = batches(n, size)
    net.eval()
    with torch.inference_mode():
        for b, s in enumerate(parts):
            xb, yb = x[s], y[s]
            clean = net.start(xb)
            encoded = net.encode_input(xb)
            pert = clean
            for i in range(iters):
                clean = net.think(clean, encoded, i)
                pert = clean if i < at else net.think(pert, encoded, i)
                if i + 1 == at:
                    pert = corrupt(clean, kind, scale, gen)
                p_clean = problem.predict(net.answer(clean), xb)
                p_pert = p_clean if pert is clean else problem.predict(net.answer(pert), xb)
                ok_clean[s, i] = problem.correct(p_clean, yb).cpu()
                ok_pert[s, i] = problem.correct(p_pert, yb).cpu()
                same[s, i] = (p_clean == p_pert).reshape(len(xb), -1).all(1).cpu()
                dist[s, i] = (per_sample_norm((pert - clean).double())
                              / per_sample_norm(clean.double()).clamp_min(1e-12)).cpu()
                if on_step is not None:
                    on_step(b * iters + i + 1, len(parts) * iters)
    # per instance: the first iteration >= at from which the answer equals the clean one
    stays = same[:, at - 1:].flip(1).int().cumprod(1).flip(1).bool()
    recover: list[int | None] = []
    for row in stays:
        idx = torch.nonzero(row).flatten()
        recover.append(int(idx[0]) if len(idx) else None)
    pct = lambda t: (100.0 * t.double().mean(0)).tolist()  # noqa: E731
    return PerturbResult(iters=list(range(1, iters + 1)), at=at, kind=kind, scale=scale, total=n,
                         clean=pct(ok_clean), perturbed=pct(ok_pert), agreement=pct(same),
                         distance=finite(dist.masked_fill(~dist.isfinite(), math.nan)
                                         .nanmean(0).tolist()),
                         recover=recover, tolerance=tolerance,
                         difficulty=difficulty, extra={"seed": seed})
