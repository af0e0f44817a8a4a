"""A run-level ETA for training: the remaining steps, validation passes and final tests, each
priced at the speed this run has shown so far.

Training time is measured per step; evaluation time per position-iteration (instances x
iterations x output positions) from the validation passes, which run the net the way the final
extrapolation does. Until the first validation has run, evaluation is priced from the training
speed (a forward pass without gradients costs about a third of a training step's work).
"""

from __future__ import annotations

import time
from typing import Any, Callable

#: a training step's forward and backward pass, against a forward pass alone
TRAIN_TO_EVAL = 3.0


class RunClock:
    """Feed it the listener's events; :meth:`left` is the seconds the run still needs."""

    def __init__(self, info: dict[str, Any], clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.epochs = int(info["epochs"])
        self.steps = int(info["steps_per_epoch"])
        self.work = dict(info.get("work") or {})
        self.epoch = int(info["start_epoch"])  # epochs finished
        self.first_step = int(info.get("start_step") or 0)
        self.train_seconds = 0.0  # over finished epochs (or their resumed parts)
        self.train_steps = 0
        self.eval_seconds = 0.0
        self.eval_work = 0.0
        self.epoch_began = self.last_step_at = clock()
        self.step = self.first_step
        #: the run stops early once validation holds ``stop_at``: the ETA is then a bound
        self.may_stop_early = info.get("stop_at") is not None

    def epoch_started(self) -> None:
        self.epoch_began = self.last_step_at = self.clock()

    def stepped(self, step: int) -> None:
        self.step = step
        self.last_step_at = self.clock()

    def epoch_ended(self, record: dict[str, Any]) -> None:
        self.train_seconds += self.last_step_at - self.epoch_began
        self.train_steps += self.step - self.first_step
        if record.get("val_seconds") and self.work.get("val"):
            self.eval_seconds += float(record["val_seconds"])
            self.eval_work += self.work["val"]
        self.epoch = int(record["epoch"])
        self.first_step = self.step = 0
        self.epoch_began = self.last_step_at  # nothing of the next epoch timed yet

    def step_seconds(self) -> float | None:
        seconds = self.train_seconds + (self.last_step_at - self.epoch_began)
        steps = self.train_steps + (self.step - self.first_step)
        return seconds / steps if steps else None

    def eval_rate(self) -> float | None:
        """Seconds per position-iteration of evaluation."""
        if self.eval_work:
            return self.eval_seconds / self.eval_work
        per_step = self.step_seconds()
        if per_step is None or not self.work.get("step"):
            return None
        return per_step / self.work["step"] / TRAIN_TO_EVAL

    def left(self) -> float | None:
        """Seconds to the end of the run (its last epoch and final tests), None before the
        first step has been timed. An early stop (``--stop-at``) ends it sooner."""
        per_step, rate = self.step_seconds(), self.eval_rate()
        if per_step is None or rate is None:
            return None
        epochs_left = max(self.epochs - self.epoch, 0)
        steps_left = max(epochs_left * self.steps - self.step, 0)
        evals_left = epochs_left * self.work.get("val", 0) + self.work.get("tests", 0)
        return steps_left * per_step + evals_left * rate
