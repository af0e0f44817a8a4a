"""Progress for long work: a listener for training and a bar for extrapolation.

In a terminal: Rich bars that move every step (training) and every iteration inside a batch
(extrapolation), with an ETA. Output redirected to a file: a plain line every ~10 seconds.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dtcli.engine.events import Listener

#: seconds between progress lines when the output is not a terminal
PLAIN_EVERY = 10.0


def make_progress(console: Console, count_column: Any = None) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                    count_column or MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True)


def fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:5.1f}%"


def fmt_time(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class PlainLines:
    """Progress as a line every ``every`` seconds (for logs and redirected output)."""

    def __init__(self, console: Console, every: float = PLAIN_EVERY) -> None:
        self.console = console
        self.every = every
        self.began = self.last = time.monotonic()

    def restart(self) -> None:
        self.began = self.last = time.monotonic()

    def report(self, text: str, fraction: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.began
        eta = elapsed * (1 - fraction) / fraction if 0 < fraction < 1 else None
        self.console.print(f"{time.strftime('%H:%M:%S')} {text}: {100 * fraction:.0f}% after "
                           f"{fmt_time(elapsed)}"
                           + ("" if eta is None else f", about {fmt_time(eta)} left"),
                           highlight=False, soft_wrap=True)


class RichTrainListener(Listener):
    """A progress bar per epoch (one line every ~10 s when not a terminal), one line per
    finished epoch, a bar per extrapolation."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress = make_progress(console)
        self.plain = PlainLines(console)
        self.task = None
        self.what = ""
        self.count = 1

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
            done, steps = info["start_epoch"], info.get("start_step")
            where = (f"after epoch {done} and {steps} step{'s' if steps != 1 else ''} of epoch "
                     f"{done + 1}" if steps else f"after epoch {done}")
            self.console.print(f"resuming {where} ({info['epochs']} epochs in all)")
        if self.live:
            self.progress.start()

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.what = f"epoch {epoch}/{epochs}"
        self.plain.restart()
        if self.live:
            self.task = self.progress.add_task(self.what, total=steps, status="")

    def on_batch(self, epoch: int, step: int, steps: int, loss: float) -> None:
        if self.live:
            self.progress.update(self.task, completed=step, status=f"loss {loss:.4f}")
        else:
            self.plain.report(f"{self.what} step {step}/{steps}, loss {loss:.4f}", step / steps)

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
        self.what = f"extrapolating to {difficulty} ({count} instances, {iters} iterations)"
        self.count = count
        self.plain.restart()
        if self.live:
            self.task = self.progress.add_task(f"extrapolate {difficulty}", total=count,
                                               status=f"{iters} iterations")
        else:
            self.console.print(self.what)

    def on_extrapolation_progress(self, fraction: float) -> None:
        if self.live and self.task is not None:
            self.progress.update(self.task, completed=round(fraction * self.count, 1))
        elif not self.live:
            self.plain.report(self.what, fraction)

    def on_extrapolation(self, difficulty: Any, result: Any) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None

    def on_exception(self, exc: BaseException) -> None:
        self.progress.stop()

    def on_end(self, summary: dict[str, Any]) -> None:
        self.progress.stop()


class ExtrapolationBar:
    """``on_batch(done, total, partial)`` for the best-so-far figure and ``step(fraction)``
    for movement inside a batch; a plain line every ~10 s when not in a terminal."""

    def __init__(self, console: Console, description: str, total: int) -> None:
        self.console = console
        self.description = description
        self.total = total
        self.live = console.is_terminal
        self.best = ""
        self.plain = PlainLines(console)
        self.progress = make_progress(console, TaskProgressColumn())
        self.task = self.progress.add_task(description, total=total, status="")

    def __call__(self, done: int, total: int, partial: Any) -> None:
        best_iter, best_acc = partial.best()
        self.best = f"best so far {best_acc:.1f}% @ {best_iter}"
        if self.live:
            self.progress.update(self.task, completed=done,
                                 status=f"{done}/{total} · {self.best}")

    def step(self, fraction: float) -> None:
        if self.live:
            self.progress.update(self.task, completed=fraction * self.total)
        else:
            self.plain.report(f"{self.description}{' · ' + self.best if self.best else ''}",
                              fraction)


@contextmanager
def extrapolation_bar(console: Console, description: str, total: int) -> Iterator[ExtrapolationBar]:
    """A bar (or plain lines) for one extrapolation pass; pass the yielded object as
    ``on_batch`` and its ``step`` as ``on_step``."""
    bar = ExtrapolationBar(console, description, total)
    if bar.live:
        with bar.progress:
            yield bar
    else:
        # a line when it starts and one when it ends, so that even a short pass leaves a trace
        bar.plain.report(description, 0.0, force=True)
        yield bar
        bar.plain.report(f"{description}{' · ' + bar.best if bar.best else ''}", 1.0, force=True)
