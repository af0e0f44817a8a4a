"""Evaluation in one process or several: each rank scores its shard of the instances and the
per-iteration counts are summed, so the accuracies are exactly those of one process."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import torch

from dtcli.engine.distributed import DistContext, reduce_counts
from dtcli.engine.extrapolate import ExtrapolationResult, extrapolate
from dtcli.engine.halting import extrapolate_halting


def evaluate(net, problem, inputs: torch.Tensor, targets: torch.Tensor,
             iters: Sequence[int] | int, *, ctx: DistContext | None = None, halt: bool = False,
             groups: tuple[list[str], torch.Tensor] | None = None,
             cancel: Callable[[], bool] | None = None, device: torch.device | None = None,
             **options: Any) -> ExtrapolationResult | None:
    """:func:`extrapolate` (or, with ``halt``, :func:`extrapolate_halting`) over this rank's
    shard, the counts summed over ranks. Returns None when ``cancel`` stopped it on any rank:
    a partial count is never passed off as a result."""
    ctx = ctx or DistContext()
    device = device or next(net.parameters()).device
    lo, hi = ctx.shard_bounds(len(inputs))
    stopped = False

    def watch() -> bool:
        nonlocal stopped
        stopped = stopped or bool(cancel is not None and cancel())
        return stopped

    x, y = inputs[lo:hi], targets[lo:hi]
    began, began_cpu = time.perf_counter(), time.process_time()
    if halt:
        res = extrapolate_halting(net, problem, x, y, iters, device=device, cancel=watch,
                                  **options)
    else:
        if groups is not None:
            groups = (groups[0], groups[1][lo:hi])
        res = extrapolate(net, problem, x, y, iters, device=device, cancel=watch, groups=groups,
                          **options)
    # this rank's wall and CPU time; a resumable evaluation's state counts its earlier processes'
    state = options.get("state")
    spent = state.spent() if state is not None else {
        "wall": time.perf_counter() - began, "cpu": time.process_time() - began_cpu}
    res.extra["seconds"] = round(spent["wall"], 3)
    res.extra["cpu_seconds"] = round(spent["cpu"], 3)
    if not ctx.active:
        return None if stopped else res
    stopped_anywhere, lacks_verify = ctx.agree([stopped, res.verified is None and res.total > 0],
                                               device)
    if stopped_anywhere:
        return None
    return _summed(ctx, res, lacks_verify, device)


def _summed(ctx: DistContext, res: ExtrapolationResult, lacks_verify: bool,
            device: torch.device) -> ExtrapolationResult:
    zeros = [0] * len(res.iters)
    counts: dict[str, Any] = {"total": res.total, "fixed": res.correct}
    if res.max_conf_correct is not None:
        counts["max-conf"] = res.max_conf_correct
    if not lacks_verify:
        counts["verified"] = res.verified if res.verified is not None else zeros
    if res.groups:
        counts["groups"] = {k: v for k, v in res.groups.items() if k != "labels"}
        if lacks_verify:
            counts["groups"].pop("verified", None)
        elif "verified" not in counts["groups"]:
            counts["groups"]["verified"] = [zeros for _ in res.groups["labels"]]
    extra = dict(res.extra)
    if extra.get("mode") == "halt":
        counts["halt"] = [extra["iterations_computed"], extra["iterations_fixed"],
                          round(extra["mean_halt_iteration"] * res.total)]
    keys = list(counts)
    nested = [counts[k] if k != "groups" else [counts[k][g] for g in sorted(counts[k])]
              for k in keys]
    summed = dict(zip(keys, reduce_counts(ctx, nested, device)))
    if "groups" in summed:
        summed["groups"] = dict(zip(sorted(counts["groups"]), summed["groups"]))
    total = summed["total"]
    if "halt" in summed:
        computed, fixed, halted = summed["halt"]
        extra.update(iterations_computed=computed, iterations_fixed=fixed,
                     compute_saved=1.0 - computed / fixed if fixed else 0.0,
                     mean_halt_iteration=halted / total if total else 0.0)
    out = ExtrapolationResult(iters=list(res.iters), total=total, correct=summed["fixed"],
                              max_conf_correct=summed.get("max-conf"),
                              verified=summed.get("verified"), difficulty=res.difficulty,
                              extra=extra)
    if res.groups:
        out.groups = {"labels": list(res.groups["labels"]), **summed["groups"]}
    return out
