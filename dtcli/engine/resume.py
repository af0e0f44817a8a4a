"""The resume state of a run (``last.pt``): where it stands, checked field by field on load.

Written at every epoch end and, with ``--checkpoint-every``, in the middle of an epoch. A
mid-epoch state carries the epoch's batch-order generator, the (n, k) draws' generator and
the epoch's running sums, so a resumed run replays the rest of the epoch exactly, with the
same or a different number of processes (the state holds nothing per rank).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dtcli import factory
from dtcli.contracts.errors import DtError
from dtcli.engine import checkpoint


@dataclass
class Position:
    """Where a run stands: ``epoch`` epochs done, ``step`` steps into the next one."""

    epoch: int = 0
    step: int = 0
    best_val: float | None = None
    best_epoch: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    #: mid-epoch only: generator states and the epoch's sums [loss, correct, seen]
    batch_rng: torch.Tensor | None = None
    nk_rng: tuple | None = None
    tally: list[float] | None = None

    @property
    def best(self) -> tuple[float | None, int | None]:
        return self.best_val, self.best_epoch


def state_dict(position: Position, net: torch.nn.Module, optimizer: Any, scheduler: Any,
               settings: dict[str, Any] | None = None) -> dict:
    """The resume state; ``settings`` (the settings ``--resume`` may not change, as plain JSON
    values) is kept with it, so an edited ``config.json`` is caught when the run resumes."""
    state = {"model": checkpoint.state_dict_of(net), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "epoch": position.epoch, "step": position.step,
             "best_val": position.best_val, "best_epoch": position.best_epoch,
             "history": [dict(r) for r in position.history], "torch_rng": torch.get_rng_state()}
    if settings is not None:
        state["settings"] = settings
    if position.step:
        state.update(batch_rng=position.batch_rng, nk_rng=position.nk_rng, tally=position.tally)
    return state


def save(path: Path, position: Position, net, optimizer, scheduler,
         settings: dict[str, Any] | None = None) -> None:
    checkpoint.save_state(state_dict(position, net, optimizer, scheduler, settings), path)


def _bad(path: Path, what: str) -> DtError:
    return DtError(f"resume state {path} is damaged ({what}); resume from an earlier copy or "
                   "start a new run")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_settings(path: Path, recorded: Any, settings: dict[str, Any]) -> None:
    """The settings a run resumes with are the ones its resume state was written with: an
    edited ``config.json`` (``val_fraction: 0``, ``test_difficulties: []``, another width) would
    otherwise continue a different run under the same name."""
    if not isinstance(recorded, dict):
        return  # a state written before dt kept its settings: nothing to compare with
    config = Path(path).with_name("config.json")
    for key, now in settings.items():
        if key in recorded and recorded[key] != now:
            raise DtError(f"{config}: {key} is {now!r}, but the run was trained with "
                          f"{recorded[key]!r} (recorded in {Path(path).name}); the file was "
                          "edited: restore it, or start a new run with the new settings")


def load(path: Path, net, optimizer, scheduler, steps_per_epoch: int,
         settings: dict[str, Any] | None = None) -> Position:
    """Read ``path`` into ``net``, ``optimizer`` and ``scheduler``; return the position.
    ``settings`` (as :func:`state_dict` takes them) must match the ones recorded in the state;
    the net's tensors must have the net's dtypes and be finite."""
    state = checkpoint.load_state(path)
    if not isinstance(state, dict):
        raise _bad(path, "not a dictionary")
    if settings is not None:
        _check_settings(path, state.get("settings"), settings)
    epoch, step = state.get("epoch"), state.get("step", 0)
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise _bad(path, f"epoch {epoch!r}")
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < max(steps_per_epoch, 1):
        raise _bad(path, f"step {step!r} of {steps_per_epoch} per epoch")
    history = state.get("history")
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise _bad(path, "history is not a list of records")
    best_val, best_epoch = state.get("best_val"), state.get("best_epoch")
    if best_val is not None and not _number(best_val):
        raise _bad(path, f"best_val {best_val!r}")
    if best_epoch is not None and not isinstance(best_epoch, int):
        raise _bad(path, f"best_epoch {best_epoch!r}")
    position = Position(epoch=epoch, step=step, best_val=best_val, best_epoch=best_epoch,
                        history=list(history))
    if step:
        tally = state.get("tally")
        if (not isinstance(tally, (list, tuple)) or len(tally) not in (3, 5)
                or not all(_number(v) for v in tally)):  # 3: states from before position sums
            raise _bad(path, "the epoch's running sums")
        batch_rng = state.get("batch_rng")
        if not isinstance(batch_rng, torch.Tensor) or batch_rng.dtype != torch.uint8:
            raise _bad(path, "the batch-order generator")
        position.batch_rng, position.nk_rng, position.tally = batch_rng, state.get("nk_rng"), list(tally)
    if not isinstance(state.get("model"), dict):
        raise _bad(path, "the network's tensors are missing")
    factory.check_tensors(net, state["model"], path)
    try:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DtError(f"resume state {path} does not match its run's config: {first}") from None
    return position


def as_tuples(value: Any) -> Any:
    """A random.Random state read back from a checkpoint (lists where tuples were)."""
    if isinstance(value, (list, tuple)):
        return tuple(as_tuples(v) for v in value)
    return value
