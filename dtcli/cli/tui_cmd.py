"""``dt tui``: the Textual app (Textual and torch are imported only when it runs)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

import typer

from dtcli.contracts.errors import DtError


def _process_age() -> float | None:
    """Seconds since this process started (Linux), for the benchmark's start-up figure."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def check_model_ref(model: Optional[str]) -> str:
    """The model to open, checked without torch: a zoo name or a run directory."""
    from dtcli import factory, zoo

    if model is None:
        if zoo.DEFAULT_MODEL not in zoo.index():
            raise DtError(f"the model zoo has no {zoo.DEFAULT_MODEL!r} yet; open a trained run "
                          f"with `dt tui RUN` (e.g. runs/mazes-dt-recall-...)")
        return zoo.DEFAULT_MODEL
    return str(factory.resolve(model)[1])


def tui(
    model: Optional[str] = typer.Argument(None, help="Run directory or zoo name (default: the zoo's mazes-dt-recall)."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty of the first instance (default: the problem's test difficulty)."),
    seed: int = typer.Option(0, help="Seed of the first instance (n draws the next)."),
    iters: Optional[int] = typer.Option(None, "--iters", "-i", help="Iterations before playback pauses (default 10 x max_iters, at least 100)."),
    paused: bool = typer.Option(False, "--paused", help="Open paused instead of playing."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | mps."),
    threads: int = typer.Option(1, help="Torch threads (kept low so the UI stays responsive)."),
    screenshot_dir: Path = typer.Option(Path("."), "--screenshot-dir", help="Where the screenshot command (ctrl+p, screenshot) saves its SVG."),
    benchmark: Optional[int] = typer.Option(None, "--benchmark", hidden=True,
                                            help="Play N iterations as fast as the terminal paints, then print frames/s."),
) -> None:
    """Watch a model think: the instance redrawn after every iteration, with live curves;
    extrapolation (e) and training (t) screens. Press ? inside for the keys."""
    ref = check_model_ref(model)
    if iters is not None and iters <= 0:
        raise DtError(f"--iters must be positive, got {iters}")
    if benchmark is not None and benchmark <= 0:
        raise DtError(f"--benchmark must be positive, got {benchmark}")
    if threads <= 0:
        raise DtError(f"--threads must be positive, got {threads}")
    from dtcli.tui.app import DtApp

    app = DtApp(ref, difficulty=difficulty, seed=seed, iters=iters, device=device,
                threads=threads, autoplay=not paused, benchmark=benchmark,
                screenshot_dir=screenshot_dir)
    app.run()
    if app.error:
        raise DtError(app.error)
    if benchmark and app.bench_report:
        r = app.bench_report
        age = _process_age()
        started = (f"first frame {age - (time.perf_counter() - r['first_frame_at']):.2f} s "
                   f"after the process started; " if age is not None else "")
        typer.echo(f"benchmark: {r['iterations']} iterations of difficulty {r['difficulty']}, "
                   f"{r['painted']} frames painted in {r['seconds']:.2f} s = {r['fps']:.1f} "
                   f"frames/s; engine {r['engine_its']:.0f} iterations/s; {started}"
                   f"first correct at iteration {r['first_correct']}")


SHORT_HELP = "Watch a model think, live: the instance, its answer and curves per iteration."


def register(app: typer.Typer) -> None:
    app.command("tui", short_help=SHORT_HELP)(tui)
