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

from dtcli.cli.run_eta import RunClock
from dtcli.engine.events import Listener

#: seconds between progress lines when the output is not a terminal
PLAIN_EVERY = 10.0


def make_progress(console: Console, count_column: Any = None) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                    count_column or MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True)


def make_training_progress(console: Console) -> Progress:
    """An epoch's bar: its steps, the loss, positions right and the run's ETA fit 80 columns
    (the epoch's own elapsed and remaining time would crowd them out)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=14),
                    MofNCompleteColumn(), TextColumn("{task.fields[status]}"), console=console,
                    transient=True)


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

    def due(self, force: bool = False) -> bool:
        """Whether a line is due (``every`` seconds since the last one); starts the wait anew."""
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return False
        self.last = now
        return True

    def say(self, text: str) -> None:
        """One timestamped line, never hard-wrapped (so grep finds it whole)."""
        self.console.print(f"{time.strftime('%H:%M:%S')} {text}", highlight=False, soft_wrap=True)

    def report(self, text: str, fraction: float, force: bool = False) -> None:
        if not self.due(force):
            return
        elapsed = self.last - self.began
        eta = elapsed * (1 - fraction) / fraction if 0 < fraction < 1 else None
        self.say(f"{text}: {100 * fraction:.0f}% after {fmt_time(elapsed)}"
                 + ("" if eta is None else f", about {fmt_time(eta)} left"))


class RichTrainListener(Listener):
    """A progress bar per epoch (one line every ~10 s when not a terminal), one line per
    finished epoch, a bar per extrapolation."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress = make_progress(console)
        self.training = make_training_progress(console)
        self.plain = PlainLines(console)
        self.task = None
        self.what = ""
        self.count = 1
        self.clock: RunClock | None = None
        self.noun = "positions"

    def on_start(self, info: dict[str, Any]) -> None:
        self.clock = RunClock(info)
        self.noun = info.get("position_noun") or self.noun
        m = info["model"]
        remarks = "".join(f"  [dim]{r}[/]" for r in info.get("remarks", []))
        self.console.print(
            f"[bold]run[/] {info['run_dir']}  [dim]device[/] {info['device']}  "
            f"[dim]parameters[/] {m['parameters']:,}  [dim]effective depth[/] {m['effective_depth']}  "
            f"[dim]train/val[/] {info['train_size']}/{info['val_size']}{remarks}",
            soft_wrap=not self.live)
        if info.get("processes", 1) > 1:
            self.console.print(f"{info['processes']} processes, each taking its share of every batch")
        for note in info.get("notes", []):
            self.console.print(f"[yellow]note:[/] {note}", soft_wrap=not self.live)
        if info["start_epoch"] or info.get("start_step"):
            done, steps = info["start_epoch"], info.get("start_step")
            where = (f"after epoch {done} and {steps} step{'s' if steps != 1 else ''} of epoch "
                     f"{done + 1}" if steps else f"after epoch {done}")
            self.console.print(f"resuming {where} ({info['epochs']} epochs in all)")
        if self.live:
            self.training.start()

    def run_left(self) -> str:
        left = self.clock.left() if self.clock else None
        if left is None:
            return ""
        if self.clock.may_stop_early:
            return f"run: at most {fmt_time(left)} left (it stops once validation holds)"
        return f"run: about {fmt_time(left)} left"

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.what = f"epoch {epoch}/{epochs}"
        self.plain.restart()
        if self.clock:
            self.clock.epoch_started()
        if self.live:
            self.task = self.training.add_task(self.what, total=steps, status="")

    def on_progress(self, stats: dict[str, Any]) -> None:
        if self.clock:
            self.clock.stepped(stats["step"])
        step, steps = stats["step"], stats["steps"]
        left = self.clock.left() if self.clock else None
        parts = [f"loss {stats['loss']:.4f}"]
        if stats.get("position_acc") is not None:
            parts.append(f"{stats['position_acc']:.1f}% of {self.noun}")
        if left is not None:
            bound = "≤ " if self.clock.may_stop_early else ""
            parts.append(f"run {bound}{fmt_time(left)} left")
        if self.live:
            self.training.update(self.task, completed=step, status=" · ".join(parts))
        elif self.plain.due():
            self.plain.say(f"{self.what} step {step}/{steps}, " + ", ".join(parts))

    def on_epoch_end(self, r: dict[str, Any]) -> None:
        if self.task is not None:
            self.training.remove_task(self.task)
            self.task = None
        if self.clock:
            self.clock.epoch_ended(r)
        share = "" if r.get("train_position_acc") is None else \
            f" ({r['train_position_acc']:.1f}% {self.noun})"
        # in a terminal the bar shows the run's ETA; a log has no bar
        left = f"  {self.run_left()}" if not self.live and self.run_left() \
            and r["epoch"] < self.clock.epochs else ""
        test = ""
        if r.get("test"):
            t = r["test"]
            test = (f"  test@{t['difficulty']}: {fmt_pct(t['acc_at_max_iters'])} → "
                    f"{fmt_pct(t['best_acc'])} at {t['best_iter']}")
        self.console.print(
            f"epoch {r['epoch']:>3}  loss {r['train_loss']:.4f}  train {fmt_pct(r['train_acc'])}"
            f"{share}  val {fmt_pct(r['val_acc'])}  lr {r['lr']:.1e}  {r['seconds']:.1f}s{test}"
            f"{left}", soft_wrap=not self.live)

    def on_extrapolation_start(self, difficulty: Any, iters: int, count: int) -> None:
        self.what = f"extrapolating to {difficulty} ({count} instances, {iters} iterations)"
        self.count = count
        self.plain.restart()
        if self.live:
            self.training.stop()  # one live display at a time
            self.progress.start()
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
        self.training.stop()
        self.progress.stop()

    def on_end(self, summary: dict[str, Any]) -> None:
        self.training.stop()
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
