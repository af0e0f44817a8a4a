"""The TensorBoard tracker: per-step loss, per-epoch loss, accuracy, learning rate and
validation, and the final extrapolation curves (one scalar per test iteration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dtcli.api import DtError, Listener

#: where the event files go, inside the run directory
LOG_DIR = "tensorboard"


def tensorboard_tracker(run_dir: Path, config: Any) -> Listener:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise DtError("--tensorboard needs the tensorboard package: "
                      "pip install 'dt-thinking[tensorboard]' (or pip install tensorboard)") from None
    return TensorBoardTracker(SummaryWriter(str(Path(run_dir) / LOG_DIR)), config)


class TensorBoardTracker(Listener):
    def __init__(self, writer: Any, config: Any) -> None:
        self.writer = writer
        self.config = config
        self.steps = 1

    def on_start(self, info: dict[str, Any]) -> None:
        self.steps = info["steps_per_epoch"]
        settings = "\n".join(f"    {k}: {v}" for k, v in self.config.to_dict().items())
        self.writer.add_text("config", settings, global_step=0)

    def on_batch(self, epoch: int, step: int, steps: int, loss: float) -> None:
        self.writer.add_scalar("train/batch_loss", loss, (epoch - 1) * steps + step)

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        step = record["step"]
        for key, tag in (("train_loss", "train/loss"), ("train_acc", "train/accuracy"),
                         ("lr", "train/lr"), ("val_acc", "val/accuracy")):
            if record.get(key) is not None:
                self.writer.add_scalar(tag, record[key], step)
        test = record.get("test")
        if test:
            self.writer.add_scalar(f"test/{test['difficulty']}/best_accuracy", test["best_acc"], step)
        self.writer.flush()

    def on_extrapolation(self, difficulty: Any, result: Any) -> None:
        for mode in result.modes:
            for it, acc in zip(result.iters, result.accuracy(mode)):
                self.writer.add_scalar(f"extrapolation/{difficulty}/{mode}", acc, it)
        self.writer.flush()

    def on_exception(self, exc: BaseException) -> None:
        self.writer.close()

    def on_end(self, summary: dict[str, Any]) -> None:
        self.writer.close()
