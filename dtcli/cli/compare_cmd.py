"""``dt compare``: runs and zoo models side by side, the schoop plot and the make_table summary."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer
from rich.table import Table

from dtcli.cli.common import console, err_console, print_json
from dtcli.contracts.errors import DtError


@contextmanager
def gathering(n: int) -> Iterator[Callable[[float], None]]:
    """Progress over the models' curves: a bar in a terminal; redirected, a timestamped line
    every ~10 s and one when it ends."""
    from dtcli.cli.progress import PlainLines, make_progress

    what = f"gathering {n} curve{'s' if n != 1 else ''}"
    if not err_console.is_terminal:
        plain = PlainLines(err_console)
        yield lambda fraction: plain.report(what, fraction)
        plain.report(what, 1.0, force=True)
        return
    progress = make_progress(err_console)
    task = progress.add_task(what, total=1.0, status="")
    with progress:
        yield lambda fraction: progress.update(task, completed=fraction)


def instance_counts_text(counts: list[int]) -> str:
    """``"100"``, ``"100 and 200"``, ``"50, 100 and 200"``."""
    words = [f"{n:,}" for n in sorted(counts)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def instance_counts(curves) -> str:
    counts = sorted({c.count for c in curves})
    return (f"{instance_counts_text(counts)} instances"
            + (" (mixed: not one test set)" if len(counts) > 1 else ""))


def _pm(value: tuple[float, float | None] | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    mean, se = value
    return f"{mean:.{digits}f}" + ("" if se is None else f" ± {se:.{digits}f}")


def compare(
    models: list[str] = typer.Argument(..., help="Run directories and/or zoo names."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty to compare on (default: the first model's test difficulty)."),
    iters: Optional[str] = typer.Option(None, "--iters", "-i", help="Iterations: A:B, A:B:STEP, N or a list (default: each model's test iterations)."),
    count: int = typer.Option(200, "--count", "-n", help="Instances to measure a model on when its curve is not recorded yet (every model with --fresh)."),
    fresh: bool = typer.Option(False, "--fresh", help="Measure every model on the same --count fresh instances, ignoring the curves runs and cards record (which may be on different numbers of instances)."),
    seed: int = typer.Option(0, help="Seed of freshly measured test data."),
    min_train_acc: Optional[float] = typer.Option(None, "--min-train-acc", help="The authors' filter: drop runs whose final training accuracy is below this (%)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write the schoop plot to FILE.png, .svg or .pdf."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | mps (for measuring)."),
    json_out: bool = typer.Option(False, "--json", help="Print the curves and the summary rows as JSON instead of the table."),
) -> None:
    """Compare models: accuracy vs iterations on one difficulty, drawn together (the schoop
    plot), and a table of the peak accuracy, the iteration it is reached, the accuracy at
    max_iters and at the last iteration, grouped by identical settings (mean ± standard error
    over seeds). Curves a run or card already holds are read, not measured again."""
    from dtcli.cli.plot import line_plot
    from dtcli.engine.device import configure_threads, resolve_device
    from dtcli.engine.extrapolate import parse_iters
    from dtcli.experiments.compare import apply_filter, collect, summary_rows

    if count <= 0:
        raise DtError(f"--count must be positive, got {count}")
    if min_train_acc is not None and not 0 <= min_train_acc <= 100:
        raise DtError(f"--min-train-acc must be a percentage, got {min_train_acc}")
    wanted = parse_iters(iters) if iters else None
    if plot is not None:
        from dtcli.cli import curve_figures as figures

        figures.check_figure_path(plot)  # before any measuring
    configure_threads()
    with gathering(len(models)) as on_progress:
        curves = collect(list(models), difficulty, wanted, count=count, seed=seed,
                         device=resolve_device(device), on_progress=on_progress, fresh=fresh)
    kept, dropped = apply_filter(curves, min_train_acc)
    rows = summary_rows(kept)
    if plot is not None:
        figures.schoop_plot(
            [figures.PlotSeries(c.label, c.iters, c.accuracy, max_iters=c.max_iters,
                           train=c.extra["train"], test=c.extra["test"]) for c in kept],
            plot, title=f"{curves[0].settings['problem']}: {instance_counts(kept)}")
    if json_out:
        print_json({"difficulty": curves[0].difficulty, "dropped": [c.label for c in dropped],
                    "curves": [{"label": c.label, "source": c.source, "iters": c.iters,
                                "accuracy": c.accuracy, "count": c.count,
                                "measured": c.measured, "train_acc": c.train_acc,
                                "peak": c.peak()} for c in curves],
                    "groups": rows})
        return
    d = curves[0].difficulty
    table = Table(title=f"{curves[0].settings['problem']}, difficulty {d}")
    for col in ("model", "instances", "peak %", "at iteration", "at max_iters %", "last %"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for c in kept:
        it, acc = c.peak()
        at_max = c.at(c.max_iters)
        table.add_row(c.label + ("" if c.measured else " (recorded)"), str(c.count),
                      f"{acc:.1f}", str(it),
                      "-" if at_max is None else f"{at_max:.1f} ({c.max_iters})",
                      f"{c.accuracy[-1]:.1f} ({c.iters[-1]})")
    console.print(table)
    grouped = Table(title="grouped by settings (mean ± standard error over seeds)")
    for col in ("arch", "width", "max_iters", "alpha", "runs", "peak %", "peak iteration",
                "at max_iters %", "last %"):
        grouped.add_column(col, justify="left" if col == "arch" else "right")
    for r in rows:
        s = r["settings"]
        grouped.add_row(s["arch"], s["width"], s["max_iters"], s["alpha"], str(r["n"]),
                        _pm(r["peak"]), _pm(r["peak_iter"], 0), _pm(r["at_max_iters"]),
                        _pm(r["last"]))
    console.print(grouped)
    for r in rows:
        if len(r["counts"]) > 1:
            console.print(
                f"[yellow]note:[/] {r['settings']['arch']} (width {r['settings']['width']}) "
                f"averages runs measured on {instance_counts_text(r['counts'])} instances, each "
                "run weighing the same; --fresh measures every model on the same --count "
                "instances", soft_wrap=not console.is_terminal)
    if min_train_acc is not None:
        console.print(f"--min-train-acc {min_train_acc:g}: dropped {len(dropped)} of "
                      f"{len(curves)} runs" + (f" ({', '.join(c.label for c in dropped)})"
                                               if dropped else ""))
    series = {c.label: (c.iters, c.accuracy) for c in kept}
    console.print(line_plot(series, title=f"accuracy vs iterations (difficulty {d})",
                            xlabel="iteration", ylabel="%", ylim=(0, 100),
                            width=min(console.width, 100)))
    if plot is not None:
        console.print(f"schoop plot written to {plot}")


SHORT_HELP = "Compare models: the schoop plot, peak accuracy grouped over seeds."


def register(app: typer.Typer) -> None:
    app.command("compare", short_help=SHORT_HELP)(compare)
