"""Rich progress for long work: a listener for training and a bar for extrapolation."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from dtcli.engine.events import Listener


def make_progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, transient=True)


def fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:5.1f}%"


class RichTrainListener(Listener):
    """A progress bar per epoch, one line per finished epoch, a bar per extrapolation."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = make_progress(console)
        self.task = None

    def on_start(self, info: dict[str, Any]) -> None:
        m = info["model"]
        self.console.print(
            f"[bold]run[/] {info['run_dir']}  [dim]device[/] {info['device']}  "
            f"[dim]parameters[/] {m['parameters']:,}  [dim]effective depth[/] {m['effective_depth']}  "
            f"[dim]train/val[/] {info['train_size']}/{info['val_size']}")
        if info.get("processes", 1) > 1:
            self.console.print(f"{info['processes']} processes, each taking its share of every batch")
        for note in info.get("notes", []):
            self.console.print(f"[yellow]note:[/] {note}")
        if info["start_epoch"] or info.get("start_step"):
            step = f", step {info['start_step']}" if info.get("start_step") else ""
            self.console.print(f"resuming after epoch {info['start_epoch']}{step} of {info['epochs']}")
        self.progress.start()

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.task = self.progress.add_task(f"epoch {epoch}/{epochs}", total=steps, status="")

    def on_batch(self, epoch: int, step: int, steps: int, loss: float) -> None:
        self.progress.update(self.task, completed=step, status=f"loss {loss:.4f}")

    def on_epoch_end(self, r: dict[str, Any]) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        test = ""
        if r.get("test"):
            t = r["test"]
            test = (f"  test@{t['difficulty']}: {fmt_pct(t['acc_at_max_iters'])} → "
                    f"{fmt_pct(t['best_acc'])} at {t['best_iter']}")
        self.console.print(
            f"epoch {r['epoch']:>3}  loss {r['train_loss']:.4f}  train {fmt_pct(r['train_acc'])}  "
            f"val {fmt_pct(r['val_acc'])}  lr {r['lr']:.2e}  {r['seconds']:.1f}s{test}")

    def on_extrapolation_start(self, difficulty: Any, iters: int, count: int) -> None:
        self.task = self.progress.add_task(f"extrapolate {difficulty}", total=count,
                                           status=f"{iters} iterations")

    def on_extrapolation_batch(self, done: int, total: int, partial: Any) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=done)

    def on_extrapolation(self, difficulty: Any, result: Any) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None

    def on_exception(self, exc: BaseException) -> None:
        self.progress.stop()

    def on_end(self, summary: dict[str, Any]) -> None:
        self.progress.stop()


@contextmanager
def extrapolation_bar(console: Console, description: str, total: int) -> Iterator:
    """A bar advanced by an ``on_batch(done, total, partial)`` callback."""
    progress = make_progress(console)
    task = progress.add_task(description, total=total, status="")
    with progress:
        def on_batch(done: int, total: int, partial: Any) -> None:
            best_iter, best_acc = partial.best()
            progress.update(task, completed=done, status=f"best so far {best_acc:.1f}% @ {best_iter}")
        yield on_batch
