"""Optimizer and learning-rate schedule (warm-up x step/cosine decay), as pure functions of the step."""

from __future__ import annotations

import math
from typing import Callable

import torch

from dtcli.config import TrainConfig


def param_groups(net: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """One group, or more: with the reference's throttle the recurrent parameters at
    lr / max_iters; parameters the net exempts from weight decay (``weight_decay_exempt``,
    e.g. DT-L's constrained weights) in a group without it."""
    from dtcli.contracts.net import IterativeNet

    exempt = {id(p) for p in net.weight_decay_exempt()} if isinstance(net, IterativeNet) else set()
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in net.named_parameters():
        if not p.requires_grad:
            continue
        recur = cfg.throttle and "recur" in name
        groups.setdefault((recur, id(p) in exempt), []).append(p)
    out = []
    for (recur, no_decay), params in sorted(groups.items()):
        group: dict = {"params": params}
        if recur:
            group["lr"] = cfg.lr / cfg.max_iters
        if no_decay:
            group["weight_decay"] = 0.0
        out.append(group)
    return out


def build_optimizer(net: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    groups = param_groups(net, cfg)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, weight_decay=cfg.weight_decay,
                               momentum=cfg.momentum)
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return cls(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


#: the longest warm-up, as a share of the run, before it is shortened to that share
MAX_WARMUP_SHARE = 0.2


def warmup_steps(cfg: TrainConfig, steps_per_epoch: int) -> tuple[float, str | None]:
    """The warm-up in optimizer steps, and a note when it had to be shortened: a warm-up
    longer than a fifth of the run (a quick preset's 100 steps in a 13-step smoke run) would
    leave the whole run at a learning rate near zero."""
    warm = cfg.warmup_steps + cfg.warmup_epochs * steps_per_epoch
    total = cfg.epochs * steps_per_epoch
    if warm > MAX_WARMUP_SHARE * total:
        short = MAX_WARMUP_SHARE * total
        return short, (f"warm-up {warm:g} → {short:g} steps (at most a fifth of this "
                       f"{total}-step run)")
    return warm, None


def lr_factor(cfg: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The multiplier of every group's base lr at optimizer step ``step`` (0-based)."""
    warm, _ = warmup_steps(cfg, steps_per_epoch)
    total = cfg.epochs * steps_per_epoch

    def factor(step: int) -> float:
        epoch = step // steps_per_epoch
        f = 1.0
        if warm > 0 and step + 1 < warm:
            if cfg.warmup_shape == "exp":  # the reference's ExponentialWarmup
                f = 1.0 - math.exp(-(step + 1) / warm)
            else:
                f = (step + 1) / warm
        if cfg.lr_decay == "step":
            f *= cfg.lr_factor ** sum(1 for m in cfg.lr_milestones if epoch >= m)
        elif cfg.lr_decay == "cosine":
            f *= 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
        return f

    return factor


def build_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig,
                    steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR stepped once per optimizer step; its state is just the step count."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(cfg, steps_per_epoch))
