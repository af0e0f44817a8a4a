"""Solve one instance iteration by iteration, for ``dt solve`` and the TUI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import torch

from dtcli.engine.device import batch_to
from dtcli.engine.resumable import like
from dtcli.engine.settle import moving_share


@dataclass
class SolveFrame:
    """What the net believes after one iteration (CPU tensors, unbatched)."""

    iteration: int
    prediction: torch.Tensor
    confidence: torch.Tensor
    probabilities: torch.Tensor
    mean_confidence: float
    delta_thought: float
    changed: float
    correct: bool | None
    verified: bool | None
    #: iterations in a row the prediction has not changed
    stable: int = 0
    #: share of the thought's positions that still move (engine.settle)
    moving: float = 1.0
    #: the first iteration the answer was correct, so far (a resumed solve's included)
    first_correct: int | None = None
    #: the first iteration the thought overflowed (inf or NaN), so far: from there its answers
    #: and confidences mean nothing
    diverged_at: int | None = None
    #: share of the positions right (Problem.position_correct: the bits, the open maze cells),
    #: when the answer is known and the problem counts positions: how far a long solve got
    position_acc: float | None = None

    def summary(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "mean_confidence": self.mean_confidence,
                "delta_thought": self.delta_thought, "changed": self.changed,
                "moving": self.moving, "diverged_at": self.diverged_at,
                "correct": self.correct, "verified": self.verified,
                "position_acc": self.position_acc}


def solve(net, problem, inputs: torch.Tensor, iters: int, target: torch.Tensor | None = None,
          device: torch.device | None = None,
          halt_patience: int | None = None,
          halt_tolerance: float | None = None, state: Any = None) -> Iterator[SolveFrame]:
    """Yield a :class:`SolveFrame` after each of ``iters`` iterations on one instance.

    ``delta_thought`` is ‖thought_i − thought_{i−1}‖₂ relative to ‖thought_{i−1}‖₂; ``changed``
    is the fraction of output positions whose prediction differs from the previous iteration
    (for iteration 1: from the head applied to the projection, iteration 0). With
    ``halt_patience`` K the solve stops once the prediction has not changed for K iterations
    and, when the problem can verify an answer (a maze path from start to end), is verified;
    with ``halt_tolerance`` (contractive nets) once ``delta_thought`` falls below it.
    Memory does not grow with ``iters``: only the current frame is kept. With ``state``
    (:class:`~dtcli.engine.resumable.ResumeState`) the thought and the position are written
    every few minutes, and a loaded state is continued from (frames after its iteration).
    """
    device = device or next(net.parameters()).device
    net.eval()
    x, y = batch_to(inputs.unsqueeze(0), None if target is None else target.unsqueeze(0), device)
    start_iter, stable, first_correct, diverged_at = 0, 0, None, None
    with torch.inference_mode():
        prev_thought = net.start(x)
        if state is not None and state.loaded is not None:
            saved, pos = state.loaded
            prev_thought = like(saved["thought"], prev_thought)
            start_iter, stable, first_correct = pos["iteration"], pos["stable"], pos["first_correct"]
        prev_pred = problem.predict(net.answer(prev_thought), x)
        mask = problem.position_mask(x)
        if mask is not None and not bool(mask.any()):
            mask = None

        def mean(t: torch.Tensor) -> float:
            t = t.float()
            return float(t.mean() if mask is None else t[mask.expand_as(t)].mean())

        for i, thought in net.iterate(x, iters - start_iter, prev_thought, start_iter):
            if state is not None and state.due():  # the state after iteration i - 1
                state.save({"thought": prev_thought},
                           {"iteration": i - 1, "stable": stable, "first_correct": first_correct})
            logits = net.answer(thought)
            probs = logits.float().softmax(1)
            pred = problem.predict(logits, x)
            conf = problem.position_confidence(logits, x)
            delta = (thought - prev_thought).float().norm() / prev_thought.float().norm().clamp_min(1e-12)
            changed = mean(pred != prev_pred)
            correct = verified = position_acc = None
            if y is not None:
                correct = bool(problem.correct(pred, y)[0])
                counts = problem.position_correct(pred, y, x)
                if counts is not None and float(counts[1]) > 0:
                    position_acc = float(counts[0]) / float(counts[1])
                v = problem.verify(pred, x, y)
                verified = None if v is None else bool(v[0])
            stable = stable + 1 if not bool((pred != prev_pred).any()) else 0
            if correct and first_correct is None:
                first_correct = i
            # overflowed: an inf or NaN in the thought, or a thought so large its norm is
            if diverged_at is None and not (bool(torch.isfinite(delta)) and
                                            bool(torch.isfinite(thought).all())):
                diverged_at = i
            yield SolveFrame(iteration=i, prediction=pred[0].cpu(), confidence=conf[0].float().cpu(),
                             probabilities=probs[0].cpu(),
                             mean_confidence=mean(conf), delta_thought=float(delta),
                             changed=float(changed), correct=correct, verified=verified,
                             stable=stable, moving=float(moving_share(prev_thought, thought)),
                             first_correct=first_correct, diverged_at=diverged_at,
                             position_acc=position_acc)
            if halt_patience is not None and stable >= halt_patience and verified is not False:
                return
            if halt_tolerance is not None and delta < halt_tolerance:
                return
            prev_thought, prev_pred = thought, pred
