"""One training step, the same for every caller (dt train, dt bench, dt study, the TUI).

:class:`ProgressiveObjective` is the progressive objective of one batch as one ``nn.Module``:
``forward(x, y, nk)`` returns the loss and the logits the step's accuracy is read from, so a
DistributedDataParallel wrapper sees all the work of a step inside its forward.
:class:`TrainStep` adds what follows the forward: backward (with a GradScaler for fp16), the
gradient clip, the optimizer and the learning-rate schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from dtcli.engine.device import autocast
from dtcli.engine.progressive import NoiseDraw, UsedParts, progressive_loss


def reachable_parameters(output: torch.Tensor) -> set[int]:
    """``id`` of every leaf tensor the autograd graph of ``output`` leads to."""
    found: set[int] = set()
    seen: set[Any] = set()
    stack = [output.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        variable = getattr(fn, "variable", None)  # an AccumulateGrad node: a leaf
        if variable is not None:
            found.add(id(variable))
        stack.extend(next_fn for next_fn, _ in fn.next_functions)
    return found


class PartProbe:
    """Which parameters each part of an IterativeNet uses (``start``, ``think`` at iteration
    i, ``answer``), found once per part by running it on one sample and walking its graph."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.cache: dict[Any, frozenset[int]] = {}

    def _probe(self, key: Any, run) -> frozenset[int]:
        if key not in self.cache:
            was_training = self.net.training
            self.net.eval()  # eval: the probe must not move BatchNorm's running statistics
            try:
                with torch.enable_grad(), torch.autocast(self.sample.device.type, enabled=False):
                    self.cache[key] = frozenset(reachable_parameters(run()))
            finally:
                self.net.train(was_training)
        return self.cache[key]

    def skipped(self, used: UsedParts, x: torch.Tensor) -> list[nn.Parameter]:
        """The parameters a step that used ``used`` gave no gradient to."""
        self.sample = x[:1].detach()
        with torch.no_grad():
            thought = self.net.start(self.sample)
        ids: set[int] = set(self._probe("answer", lambda: self.net.answer(thought)))
        if used.start:
            ids |= self._probe("start", lambda: self.net.start(self.sample))
        for i in used.iterations:
            ids |= self._probe(("think", i), lambda i=i: self.net.think(thought, self.sample, i))
        return [p for p in self.params if id(p) not in ids]


class ProgressiveObjective(nn.Module):
    """The progressive loss of one batch as a module: ``forward(x, y, nk, scale)``.

    Returns ``(loss to differentiate, logits, the batch's mean loss)``. ``scale`` multiplies
    the loss to differentiate: a rank of a distributed run holding a share of the global batch
    weighs its mean by that share, so DDP's average of gradients is the gradient of the
    global batch's mean.

    DDP needs every parameter to receive a gradient in every step, or to be told to look for
    the ones that do not (``find_unused_parameters=True``, a walk of the whole autograd graph
    in every step). Some steps skip parameters by design: with α = 1 and n > 0 the projection
    runs without gradients, and a feed-forward net leaves the blocks outside n..n+k unused.
    Which ones depends only on (n, k), which every rank draws alike, so with ``touch_skipped``
    (set for DDP) the objective adds those parameters to the loss with weight zero: DDP sees a
    gradient for all of them, with no graph walk per step (the parts' parameters are probed
    once). :class:`TrainStep` then drops those zero gradients again, so the optimizer sees the
    same missing gradients as in one process (Adam skips a parameter without a gradient but
    would move one with a zero gradient by its momentum and weight decay).
    """

    def __init__(self, net: nn.Module, problem: Any, *, alpha: float, max_iters: int,
                 init_thought: str = "start", settle_weight: float = 0.0) -> None:
        super().__init__()
        self.settle_weight = settle_weight
        self.net = net
        self.problem = problem
        self.alpha = alpha
        self.max_iters = max_iters
        self.init_thought = init_thought
        self.touch_skipped = False
        self.skipped: list[nn.Parameter] = []
        self._probe: PartProbe | None = None

    def forward(self, x: torch.Tensor, y: torch.Tensor, nk: tuple[int, int],
                scale: torch.Tensor | float | None = None, draw: NoiseDraw | None = None):
        out = progressive_loss(self.net, self.problem, x, y, alpha=self.alpha,
                               max_iters=self.max_iters, nk=nk, init_thought=self.init_thought,
                               draw=draw, settle_weight=self.settle_weight)
        loss = out.loss if scale is None else out.loss * scale
        self.skipped = []
        if self.touch_skipped:
            self._probe = self._probe or PartProbe(self.net)
            self.skipped = self._probe.skipped(out.used, x)
            if self.skipped:
                loss = loss + 0.0 * sum(p.sum() for p in self.skipped)
        return loss, out.logits, out.loss.detach()


@dataclass
class StepResult:
    """What one step leaves for the caller's tallies (all on the device, never synced)."""

    loss: torch.Tensor  # the batch's mean loss (this rank's share of the batch)
    logits: torch.Tensor


class TrainStep:
    """forward + backward (:meth:`backward`), then clip + optimizer + schedule (:meth:`update`).

    ``module`` is the objective itself or its DDP wrapper. The two halves are separate so a
    trainer can check the loss between them; ``__call__`` runs both.
    """

    def __init__(self, objective: ProgressiveObjective, module: nn.Module,
                 optimizer: torch.optim.Optimizer, scheduler: Any, *, scaler: Any = None,
                 clip: float | None = None, device: torch.device, amp: str = "off") -> None:
        self.objective = objective
        self.module = module
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scaler = scaler
        self.clip = clip
        self.device = device
        self.amp = amp

    def backward(self, x: torch.Tensor, y: torch.Tensor, nk: tuple[int, int],
                 scale: torch.Tensor | float | None = None,
                 draw: NoiseDraw | None = None) -> StepResult:
        self.optimizer.zero_grad(set_to_none=True)
        with autocast(self.device, self.amp):
            loss, logits, mean = self.module(x, y, nk, scale, draw)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        for p in self.objective.skipped:  # see ProgressiveObjective: as in one process
            p.grad = None
        return StepResult(loss=mean, logits=logits.detach())

    def update(self) -> None:
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.objective.parameters(), self.clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()

    def __call__(self, x: torch.Tensor, y: torch.Tensor, nk: tuple[int, int],
                 scale: torch.Tensor | float | None = None,
                 draw: NoiseDraw | None = None) -> StepResult:
        result = self.backward(x, y, nk, scale, draw)
        self.update()
        return result


def training_step(net: nn.Module, problem: Any, cfg: Any, device: torch.device,
                  steps_per_epoch: int,
                  wrap: Callable[[ProgressiveObjective], nn.Module] | None = None) -> TrainStep:
    """The step ``dt train`` runs for the settings ``cfg``: the progressive objective (``wrap``
    may put it in a DDP wrapper), its optimizer and schedule, grad scaler and clip. Training,
    ``dt bench`` and the studies all assemble their step here."""
    from dtcli.engine.device import grad_scaler
    from dtcli.engine.optim import build_optimizer, build_scheduler

    if cfg.settle_weight and not getattr(net, "recurrent", False):
        from dtcli.contracts.errors import DtError

        raise DtError(f"--settle-weight needs a recurrent net ({cfg.arch} is feed-forward: it "
                      f"cannot think on past its last block); leave it at 0")
    objective = ProgressiveObjective(net, problem, alpha=cfg.alpha, max_iters=cfg.max_iters,
                                     init_thought=cfg.init_thought,
                                     settle_weight=cfg.settle_weight)
    module = wrap(objective) if wrap is not None else objective
    optimizer = build_optimizer(net, cfg)
    scheduler = build_scheduler(optimizer, cfg, steps_per_epoch)
    return TrainStep(objective, module, optimizer, scheduler, scaler=grad_scaler(device, cfg.amp),
                     clip=cfg.clip, device=device, amp=cfg.amp)
