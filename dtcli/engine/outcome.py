"""How a training run ends: its result, why it stopped early, and what a divergence says."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dtcli import runs
from dtcli.config import TrainConfig
from dtcli.contracts.errors import DtError
from dtcli.engine.extrapolate import ExtrapolationResult


@dataclass
class TrainResult:
    run_dir: Path
    status: str
    epochs_done: int
    best_val: float | None
    best_epoch: int | None
    history: list[dict[str, Any]]
    extrapolation: dict[str, ExtrapolationResult] = field(default_factory=dict)
    seconds: float = 0.0


class Diverged(DtError):
    """The loss became NaN or infinite."""


class Stopped(Exception):
    """The ranks agreed to stop (``status``: cancelled or interrupted)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def converged(history: list[dict[str, Any]], stop_at: float | None, patience: int) -> bool:
    """Validation accuracy has been at least ``stop_at`` for the last ``patience`` epochs."""
    if stop_at is None or len(history) < patience:
        return False
    return all((r.get("val_acc") or 0.0) >= stop_at for r in history[-patience:])


def divergence_message(cfg: TrainConfig, epoch: int, step: int, loss: float,
                       saved_at: tuple[int, int], best_epoch: int | None) -> str:
    """What diverged, what is kept, and a remedy that fits the settings in force."""
    kept_epoch, kept_step = saved_at
    where = (f"epoch {kept_epoch + 1}, step {kept_step}" if kept_step else
             f"the end of epoch {kept_epoch}" if kept_epoch else "the start")
    kept = f"{runs.LAST} keeps the state of {where}"
    if best_epoch is not None:
        kept += f" and {runs.BEST} the weights of epoch {best_epoch}"
    remedy = (f"lower --lr (now {cfg.lr:g})" + ("" if cfg.clip is not None else " or set --clip 1")
              + (" or lengthen --warmup" if not (cfg.warmup_epochs or cfg.warmup_steps) else ""))
    return (f"training diverged at epoch {epoch}, step {step} (loss {loss}): {kept}; {remedy} "
            "and start a new run")
