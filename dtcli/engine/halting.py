"""Halting extrapolation: stop thinking about an instance once its answer has settled.

An instance halts when its prediction has not changed for ``patience`` iterations; it leaves
the batch (so later iterations cost less) and its answer is frozen. The curve reports, at each
iteration t, the accuracy of every instance's answer at min(t, its halting iteration), and the
result records the share of iteration compute saved against the fixed mode.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from dtcli.contracts.errors import DtError
from dtcli.contracts.problem import Problem
from dtcli.engine.device import autocast, batch_to, inference_batch_size
from dtcli.engine.extrapolate import ExtrapolationResult
from dtcli.engine.resumable import ResumeState, like


def extrapolate_halting(net, problem, inputs: torch.Tensor, targets: torch.Tensor,
                        iters: Sequence[int] | int, *, patience: int = 10,
                        batch_size: int | None = None, device: torch.device | None = None,
                        amp: str = "off",
                        on_batch: Callable[[int, int, ExtrapolationResult], None] | None = None,
                        cancel: Callable[[], bool] | None = None,
                        difficulty: Any = None,
                        on_step: Callable[[float], None] | None = None,
                        tolerance: float | None = None,
                        check: bool = False,
                        state: ResumeState | None = None) -> ExtrapolationResult:
    """Like :func:`~dtcli.engine.extrapolate.extrapolate` in fixed mode, with halting.

    The rule: an instance halts once its prediction has not changed for ``patience``
    iterations or, with ``tolerance`` (for contractive nets such as DT-L, whose thought
    converges), once the relative change of its thought ‖t_i − t_{i−1}‖/‖t_i‖ falls below it.
    With ``check``, an instance also halts as soon as its answer passes the problem's label-free
    :meth:`~dtcli.contracts.problem.Problem.check_answer` (a maze's path): an answer that
    flickers after it is found costs no more iterations.
    With ``state`` (:class:`~dtcli.engine.resumable.ResumeState`) the position is written every
    few minutes and, when the state was loaded, the evaluation continues from it exactly.
    """
    if patience < 1:
        raise DtError(f"--patience must be at least 1, got {patience}")
    if tolerance is not None and not tolerance > 0:
        raise DtError(f"--tol must be positive, got {tolerance}")
    if check:
        require_check(problem)
    wanted = sorted(set(range(1, iters + 1) if isinstance(iters, int) else iters))
    last = wanted[-1]
    net.check_iters(last)
    slot = {it: j for j, it in enumerate(wanted)}
    device = device or next(net.parameters()).device
    if batch_size is None and len(inputs):
        batch_size = inference_batch_size(net, inputs, device)
    counts = torch.zeros(len(wanted), dtype=torch.long, device=device)
    computed = 0  # instance-iterations actually run
    halted_sum = 0  # sum over instances of the iteration their answer was taken from
    done = 0
    resumed = state.loaded if state is not None else None
    if resumed is not None:
        saved, pos = resumed
        counts = saved["counts"].to(device)
        computed, halted_sum, done = pos["computed"], pos["halted_sum"], pos["done"]
        batch_size = pos["batch_size"]  # the batches of the run it continues
    net.eval()
    with torch.inference_mode(), autocast(device, amp):
        for lo in range(0, len(inputs), batch_size):
            if resumed is not None and lo < resumed[1]["lo"]:
                continue  # counted before the state was written
            if cancel is not None and cancel():
                break
            x, y = batch_to(inputs[lo:lo + batch_size], targets[lo:lo + batch_size], device)
            n_batch = len(x)
            frozen = torch.zeros((), dtype=torch.long, device=device)  # correct among halted
            stable = torch.zeros(n_batch, dtype=torch.long, device=device)
            remaining = torch.arange(n_batch, device=device)  # the batch's instances still thinking
            thought, prev = net.start(x), None
            first = 1
            if resumed is not None:  # the batch the state was written in
                saved, pos = resumed
                resumed = None
                remaining = saved["remaining"].to(device)
                x, y = x[remaining], y[remaining]
                thought = like(saved["thought"], thought)
                stable, frozen = saved["stable"].to(device), saved["frozen"].to(device)
                prev = saved["prev"].to(device) if "prev" in saved else None
                first = pos["i"] + 1
            encoded = net.encode_input(x)
            for i in range(first, last + 1):
                if state is not None and (state.due() or (cancel is not None and cancel())):
                    state.save({"counts": counts, "remaining": remaining, "thought": thought,
                                "stable": stable, "frozen": frozen, "prev": prev},
                               {"lo": lo, "i": i - 1, "computed": computed, "done": done,
                                "halted_sum": halted_sum, "batch_size": batch_size})
                    if cancel is not None and cancel():
                        return _result(wanted, done, counts, difficulty, patience, computed,
                                       halted_sum, last, tolerance, check)
                if on_step is not None:
                    on_step((done + n_batch * i / last) / len(inputs))
                before, thought = thought, net.think(thought, encoded, i - 1)
                computed += len(x)
                pred = problem.predict(net.answer(thought), x)
                ok = problem.correct(pred, y)
                if tolerance is not None:
                    halt = relative_change(before, thought) < tolerance
                else:
                    if prev is not None:
                        same = (pred == prev).reshape(len(pred), -1).all(1)
                        stable = torch.where(same, stable + 1, torch.zeros_like(stable))
                    halt = stable >= patience
                if check:
                    halt = halt | problem.check_answer(pred, x).to(halt.device)
                if i in slot:
                    counts[slot[i]] += frozen + ok.sum()
                if i == last or not bool(halt.any()):
                    prev = pred
                    continue
                frozen = frozen + ok[halt].sum()
                halted_sum += i * int(halt.sum())
                keep = ~halt
                if not bool(keep.any()):
                    for later in wanted:  # frozen answers hold for the remaining iterations
                        if later > i:
                            counts[slot[later]] += frozen
                    break
                x, y, thought = x[keep], y[keep], thought[keep]
                prev, stable, remaining = pred[keep], stable[keep], remaining[keep]
                encoded = net.encode_input(x)  # once per shrink, not per iteration
            else:
                halted_sum += last * len(x)
            done += n_batch
            if on_batch is not None:
                on_batch(done, len(inputs), _result(wanted, done, counts, difficulty, patience,
                                                    computed, halted_sum, last, tolerance, check))
    return _result(wanted, done, counts, difficulty, patience, computed, halted_sum, last,
                   tolerance, check)


def require_check(problem) -> None:
    """Refuse halting on a checked answer where the problem has no label-free check."""
    if type(problem).check_answer is Problem.check_answer:
        raise DtError(f"--halt-on-check: {problem.name} cannot check an answer without its label "
                      "(Problem.check_answer); halt with -k or --tol instead")


def relative_change(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Per instance ‖after − before‖ / ‖after‖ (the convergence of a contractive net)."""
    diff = (after - before).float().reshape(len(after), -1).norm(dim=1)
    return diff / after.float().reshape(len(after), -1).norm(dim=1).clamp_min(1e-12)


def _result(wanted, total, counts, difficulty, patience, computed, halted_sum, last,
            tolerance=None, check=False):
    fixed_cost = total * last
    return ExtrapolationResult(
        iters=list(wanted), total=total, correct=[int(v) for v in counts.cpu().tolist()],
        difficulty=difficulty,
        extra={"mode": "halt", "patience": patience, "tolerance": tolerance, "check": check,
               "iterations_computed": computed,
               "iterations_fixed": fixed_cost,
               "compute_saved": 1.0 - computed / fixed_cost if fixed_cost else 0.0,
               "mean_halt_iteration": halted_sum / total if total else 0.0})
