"""``dt analyze`` of the thinking dynamics: stability of the recurrent map and how its thought
settles, path independence (the AA score), error correction after a perturbation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from dtcli.cli.analyze_common import (
    MODEL,
    RunOptions,
    _bar,
    _emit,
    analyze_app,
    prepared,
    with_run_options,
)
from dtcli.cli.common import console

# -- stability --------------------------------------------------------------------------------


@analyze_app.command("stability")
@with_run_options()
def stability(
    model: str = MODEL,
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty (default: the problem's test difficulty)."),
    iters: int = typer.Option(300, "--iters", "-i", help="Iterations to run (a feed-forward net: at most its blocks)."),
    count: int = typer.Option(100, "--count", "-n", help="Test instances."),
    tolerance: float = typer.Option(1e-3, help="A thought has settled once its relative change stays below this."),
    position_tolerance: float = typer.Option(1e-4, "--position-tolerance", help="A position of the thought still moves while its largest change over channels is above this share of the thought's largest value."),
    lipschitz_points: int = typer.Option(10, "--lipschitz-points", help="Iterations at which to estimate the Lipschitz constant (0: none)."),
    lipschitz_count: int = typer.Option(8, "--lipschitz-count", help="Instances the Lipschitz estimate uses."),
    power_steps: int = typer.Option(8, "--power-steps", help="Power-iteration steps per estimate."),
    seed: int = typer.Option(0, help="Seed of the test data and the power iteration."),
    run: RunOptions = None,  # type: ignore[assignment] - given by with_run_options
) -> None:
    """Stability of the recurrent map: the thought's change per iteration, a local Lipschitz
    estimate of `think`, whether it settles, and the truncation test (the answer at every
    iteration against the settled one)."""
    from dtcli.analysis.common import check_iterations, model_name
    from dtcli.analysis.stability import stability as analyse
    from dtcli.cli.analyze_views import stability_view

    loaded, d, x, y = prepared(model, run, difficulty=difficulty, count=count, seed=seed)
    check_iterations(loaded.net, iters)
    with _bar(f"stability, {iters} iterations") as cb:
        res = analyse(loaded.net, loaded.problem, x, y, iters, max_iters=loaded.max_iters,
                  tolerance=tolerance, lipschitz_points=lipschitz_points,
                  lipschitz_count=lipschitz_count, power_steps=power_steps, seed=seed,
                  batch_size=run.batch_size, difficulty=d, position_tolerance=position_tolerance,
                  on_step=cb)
    name = model_name(loaded)

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import stability_figure

        return stability_figure(res, path, f"{name}, {loaded.problem.describe_difficulty(d)}")

    _emit({"model": name, **res.to_dict()}, run,
          stability_view(res, name, loaded.problem, console), draw)


# -- path independence ------------------------------------------------------------------------


@analyze_app.command("path-independence")
@with_run_options()
def path_independence(
    models: list[str] = typer.Argument(..., help="Run directories or zoo names (`dt zoo list`); "
                                                 "several are compared in one table and figure."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty (default: each problem's test difficulty)."),
    iters: Optional[int] = typer.Option(None, "--iters", "-i", help="Iterations from each start (default: 10 x the model's max_iters)."),
    starts: int = typer.Option(4, "--starts", "-k", help="Random initial thoughts per instance."),
    count: int = typer.Option(100, "--count", "-n", help="Test instances."),
    seed: int = typer.Option(0, help="Seed of the test data and the random starts."),
    run: RunOptions = None,  # type: ignore[assignment] - given by with_run_options
) -> None:
    """Path independence (Anil et al., 2022): think from K random initial thoughts and from the
    model's own start; the AA score is the cosine similarity of the final thoughts (1: it ends
    in the same place wherever it starts), beside the accuracy from each start and the peak
    accuracy over the iterations. With several models, --plot draws AA against accuracy."""
    from dtcli.analysis.common import model_name
    from dtcli.analysis.path_independence import path_independence as analyse
    from dtcli.cli.analyze_views import path_independence_view
    from dtcli.config import think_iters

    rows = []
    for index, model in enumerate(models):
        loaded, d, x, y = prepared(model, run if index == 0 else replace(run, plot=None),
                                   difficulty=difficulty, count=count, seed=seed)
        total = think_iters(loaded.max_iters, loaded.net.max_depth, iters)
        with _bar(f"path independence of {model}, {starts} starts x {total} iterations") as cb:
            res = analyse(loaded.net, loaded.problem, x, y, total, starts=starts, seed=seed,
                      batch_size=run.batch_size, difficulty=d, on_step=cb)
        rows.append({"model": model_name(loaded),
                     "difficulty": loaded.problem.describe_difficulty(d), **res.to_dict()})

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import path_independence_figure

        return path_independence_figure(rows, path)

    _emit({"models": rows}, run, path_independence_view(rows), draw)


# -- perturb ----------------------------------------------------------------------------------


@analyze_app.command("perturb")
@with_run_options()
def perturb(
    model: str = MODEL,
    at: int = typer.Option(..., "--at", "-k", help="Corrupt the thought after this iteration."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty (default: the problem's test difficulty)."),
    iters: Optional[int] = typer.Option(None, "--iters", "-i", help="Iterations to run (default: AT + 100)."),
    kind: str = typer.Option("noise", "--kind", help="noise (Gaussian), zero (erase) or shuffle (another instance's thought)."),
    scale: float = typer.Option(1.0, "--scale", help="noise: its std relative to the thought's RMS; zero / shuffle: the part replaced (1 = all)."),
    count: int = typer.Option(100, "--count", "-n", help="Test instances."),
    tolerance: float = typer.Option(1.0, help="Recovered: accuracy within this many points of the clean run from then on."),
    seed: int = typer.Option(0, help="Seed of the test data and the noise."),
    run: RunOptions = None,  # type: ignore[assignment] - given by with_run_options
) -> None:
    """Error correction: corrupt the thought after iteration K, then compare accuracy per
    iteration with the clean solve and count the iterations it takes to recover."""
    from dtcli.analysis.common import check_iterations, model_name
    from dtcli.analysis.perturb import perturb as analyse
    from dtcli.cli.analyze_views import perturb_view

    loaded, d, x, y = prepared(model, run, difficulty=difficulty, count=count, seed=seed)
    total = iters or at + 100
    if loaded.net.max_depth is not None and iters is None:
        total = min(total, loaded.net.max_depth)
    check_iterations(loaded.net, total)
    with _bar(f"perturbation at {at}, {total} iterations") as cb:
        res = analyse(loaded.net, loaded.problem, x, y, total, at, kind=kind, scale=scale, seed=seed,
                  tolerance=tolerance, batch_size=run.batch_size, difficulty=d, on_step=cb)
    name = model_name(loaded)

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import perturb_figure

        return perturb_figure(res, path, f"{name}, {loaded.problem.describe_difficulty(d)}")

    _emit({"model": name, **res.to_dict()}, run,
          perturb_view(res, name, loaded.problem, console), draw)
