"""``dt solve``: watch a model think about one instance, iteration by iteration."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Group
from rich.live import Live
from rich.text import Text

from dtcli.cli.common import OPTION_HELP, console, print_json
from dtcli.errors import DtError


def status_line(frame, total: int, first_correct: int | None) -> Text:
    """Two lines: the iteration's figures, then the verdict so far."""
    text = Text()
    text.append(f"iteration {frame.iteration:>4}/{total}", style="bold")
    text.append(f"   confidence {frame.mean_confidence:.3f}   Δthought {frame.delta_thought:.4f}"
                f"   changed {100 * frame.changed:5.1f}%\n")
    if frame.correct is not None:
        text.append("correct ✓" if frame.correct else "not yet ✗",
                    style="bold green" if frame.correct else "bold red")
    if frame.verified is not None:
        text.append("   verified ✓" if frame.verified else "   unverified",
                    style="green" if frame.verified else "yellow")
    if first_correct is not None:
        text.append(f"   first correct at iteration {first_correct}", style="cyan")
    return text


def load_instance(problem, text_or_path: str):
    path = Path(text_or_path)
    if path.is_file():
        return problem.parse_instance(path.read_text(encoding="utf-8"))
    return problem.parse_instance(text_or_path)


def solve(
    model: str = typer.Argument(..., help="Run directory of a trained model."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty of a fresh instance."),
    seed: int = typer.Option(0, help="Which fresh instance (seed of the generator)."),
    iters: Optional[int] = typer.Option(None, "--iters", "-i", help="Iterations to think (default 3 x max_iters)."),
    input_: Optional[str] = typer.Option(None, "--input", "--fen",
                                         help="Your own instance, as text or a file: bits for prefix sums, a maze drawn with # . S E, a FEN for chess."),
    fps: float = typer.Option(20.0, help="Frames per second of the live view (0 = as fast as possible)."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    device: str = typer.Option("auto", help="auto | cpu | cuda | mps."),
    json_out: bool = typer.Option(False, "--json", help="Print per-iteration figures as JSON instead."),
) -> None:
    """Solve one instance live: the prediction redrawn after every iteration.

    The status line shows mean confidence, the relative change of the thought, the share of
    outputs that changed, and the iteration at which the answer first became correct.
    """
    from dtcli.cli.common import parse_option_pairs
    from dtcli.engine.device import configure_threads, resolve_device
    from dtcli.engine.solve import solve as engine_solve
    from dtcli.runs import load_model

    configure_threads()
    dev = resolve_device(device)
    loaded = load_model(model, device=dev)
    problem = loaded.problem
    if option:
        problem = type(problem)(**{**problem.option_values, **parse_option_pairs(option)})
    total = iters or (loaded.net.max_depth or 3 * loaded.max_iters)
    if total <= 0:
        raise DtError(f"--iters must be positive, got {total}")
    loaded.net.check_iters(total)
    if input_ is not None:
        x = load_instance(problem, input_)
        y = problem.target_for(x)
    else:
        d = problem.parse_difficulty(difficulty or problem.default_train_difficulty)
        xs, ys = problem.dataset("test", d, 1, seed)
        x, y = xs[0], ys[0]

    frames = engine_solve(loaded.net, problem, x, total, target=y, device=dev)
    first_correct = None
    if json_out:
        out = []
        for f in frames:
            if f.correct and first_correct is None:
                first_correct = f.iteration
            out.append(f.summary())
        print_json({"model": str(loaded.source), "first_correct": first_correct, "frames": out})
        return

    delay = 1.0 / fps if fps > 0 else 0.0
    last = None
    with Live(console=console, auto_refresh=False, transient=False) as live:
        for f in frames:
            if f.correct and first_correct is None:
                first_correct = f.iteration
            view = Group(problem.render(x, f.prediction, y, f.confidence, f.probabilities),
                         status_line(f, total, first_correct))
            live.update(view, refresh=True)
            last = f
            if delay:
                time.sleep(delay)
    if not console.is_terminal:
        console.line()  # a non-terminal Live leaves its last frame without a line end
    if last is not None and last.correct is not None:
        if first_correct is None:
            verdict, style = f"not solved in {total} iterations", "bold red"
        elif last.correct:
            verdict, style = f"solved: first correct at iteration {first_correct}", "bold green"
        else:  # right once, then thought past it
            verdict = (f"correct at iteration {first_correct}, wrong again by iteration "
                       f"{last.iteration} (overthinking)")
            style = "bold yellow"
        console.print(verdict, style=style)


def register(app: typer.Typer) -> None:
    app.command("solve")(solve)
