"""``dt analyze``: look inside a thinking network: filter reuse, linear probes, CKA, feature
pictures (the thinking dynamics: stability, path independence, perturb, in
analyze_dynamics_cmd.py). The work is in ``dtcli.analysis``; this module parses,
loads, and shows (tables and plots in analyze_views.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dtcli.cli.analyze_common import (
    _MODEL,
    MODEL,
    RunOptions,
    _bar,
    _difficulty,
    _emit,
    _load,
    _setup,
    analyze_app,
    prepared,
    with_run_options,
)
from dtcli.cli.common import console
from dtcli.contracts.errors import DtError

# -- reuse ------------------------------------------------------------------------------------


@analyze_app.command("reuse")
@with_run_options()
def reuse(
    model: str = MODEL,
    count: int = typer.Option(1000, "--count", "-n", help="Test instances."),
    iters: Optional[int] = typer.Option(None, "--iters", "-i", help="Iterations (default: the trained max_iters)."),
    threshold: float = typer.Option(0.2, help="A filter is reused if its least active iteration keeps this fraction of its peak."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty of the test data."),
    control_seed: int = typer.Option(0, "--control-seed", help="Seed of the untrained twin's initialisation."),
    seed: int = typer.Option(0, help="Seed of the test data."),
    run: RunOptions = None,  # type: ignore[assignment] - given by with_run_options
) -> None:
    """Filter reuse: each filter's positive activations per iteration over its peak, for every
    layer of the recurrent block; the share that stays >= 20% of peak, against an untrained twin.
    """
    from dtcli.analysis.common import model_name, trained_iterations
    from dtcli.analysis.reuse import reuse as analyse
    from dtcli.cli.analyze_views import reuse_view

    loaded, d, x, _ = prepared(model, run, difficulty=difficulty, count=count, seed=seed)
    with _bar("filter reuse") as cb:
        res = analyse(loaded, x, iters or trained_iterations(loaded), threshold=threshold,
                  control_seed=control_seed, batch_size=run.batch_size, on_batch=cb)
    name = model_name(loaded)

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import reuse_figure

        return reuse_figure(res, path)

    _emit({"model": name, "difficulty": d, **res.to_dict()}, run,
          reuse_view(res, name, console), draw)


# -- probes -----------------------------------------------------------------------------------


@analyze_app.command("probes")
@with_run_options()
def probes(
    model: str = typer.Argument(..., help=_MODEL + " An images model."),
    twin: Optional[str] = typer.Option(None, "--twin", "-t", help="Its twin (e.g. the feed-forward net of the same effective depth), probed side by side."),
    iters: Optional[int] = typer.Option(None, "--iters", "-i", help="Iterations of MODEL (default: its max_iters)."),
    twin_iters: Optional[int] = typer.Option(None, "--twin-iters", help="Iterations of the twin (default: its own)."),
    train_count: int = typer.Option(2000, "--train-count", help="Training images for the probes (capped at the data set)."),
    count: int = typer.Option(1000, "--count", "-n", help="Test images."),
    pool: int = typer.Option(1, help="Average-pool each feature map to at most POOL x POOL cells (1: global average)."),
    ridge: float = typer.Option(1e-3, help="Ridge penalty (features are standardised)."),
    seed: int = typer.Option(0, help="Seed of the image subsets."),
    run: RunOptions = None,  # type: ignore[assignment] - given by with_run_options
) -> None:
    """Linear probes: a classifier on the pooled features after each iteration / block; train
    and test accuracy per depth, the model and its twin side by side (images models)."""
    from dtcli.analysis.common import load_data, require_images, require_same_inputs, trained_iterations
    from dtcli.analysis.probes import probes as analyse
    from dtcli.cli.analyze_views import probes_view

    dev = _setup(run)
    models = [_load(model, dev, run.option)]
    require_images(models[0].problem, "linear probes")
    if twin is not None:
        models.append(_load(twin, dev, run.option, "--twin"))
        require_same_inputs(models[0], models[1], "probes")
    wanted = [iters, twin_iters]
    problem = models[0].problem
    d = _difficulty(problem, None)
    train = load_data(problem, d, train_count, seed, dev, split="train")
    test = load_data(problem, d, count, seed, dev)
    results = []
    with _bar("linear probes") as cb:
        for m, n in zip(models, wanted):
            results.append(analyse(m, train, test, n or trained_iterations(m), pool=pool, ridge=ridge,
                               batch_size=run.batch_size, on_iteration=cb))

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import probes_figure

        return probes_figure(results, path)

    _emit({"models": [r.to_dict() for r in results]}, run, probes_view(results, console), draw)


# -- cka --------------------------------------------------------------------------------------


@analyze_app.command("cka")
@with_run_options()
def cka(
    model_a: str = typer.Argument(..., help=_MODEL),
    model_b: Optional[str] = typer.Argument(None, help="The second model (default: MODEL_A itself: CKA between its own iterations)."),
    count: int = typer.Option(500, "--count", "-n", help="Test instances."),
    iters_a: Optional[int] = typer.Option(None, "--iters-a", help="Iterations of MODEL_A (default: its max_iters)."),
    iters_b: Optional[int] = typer.Option(None, "--iters-b", help="Iterations of MODEL_B (default: its max_iters)."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty of the test data."),
    seed: int = typer.Option(0, help="Seed of the test data."),
    run: RunOptions = None,  # type: ignore[assignment] - given by with_run_options
) -> None:
    """Linear CKA between every iteration / block of MODEL_A and of MODEL_B, as a matrix and
    a heat map; says whether the same-effective-depth entry is the highest in its row."""
    from dtcli.analysis.cka import cka as analyse
    from dtcli.analysis.common import load_data, require_same_inputs, trained_iterations
    from dtcli.cli.analyze_views import cka_view

    dev = _setup(run)
    a = _load(model_a, dev, run.option)
    b = a if model_b is None or model_b == model_a else _load(model_b, dev, run.option, "MODEL_B")
    require_same_inputs(a, b, "cka")
    d = _difficulty(a.problem, difficulty)
    x, _ = load_data(a.problem, d, count, seed, dev)
    n_a = iters_a or trained_iterations(a)
    n_b = iters_b or (n_a if b is a else trained_iterations(b))
    with _bar("CKA") as cb:
        res = analyse(a, b, x, n_a, n_b, batch_size=run.batch_size, on_iteration=cb)

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import cka_figure

        return cka_figure(res, path)

    _emit({"difficulty": d, **res.to_dict()}, run, cka_view(res, console), draw)


# -- visualize --------------------------------------------------------------------------------


@analyze_app.command("visualize")
@with_run_options("device", "threads", "json_out", "plot")
def visualize(
    model: str = typer.Argument(..., help=_MODEL + " An images model."),
    filters: str = typer.Option("0:3", "--filters", "-f", help="Filters (channels of the thought): A:B (inclusive) or a list 0,5,9."),
    iters: Optional[str] = typer.Option(None, "--iters", "-i", help="Iterations: A:B, N (=1:N) or a list (default: 1..max_iters)."),
    out: Path = typer.Option(Path("visualize"), "--out", help="Folder for the PNG grids (one per model)."),
    twin: Optional[str] = typer.Option(None, "--twin", "-t", help="Its feed-forward twin, drawn the same way."),
    steps: int = typer.Option(100, help="Optimisation steps (the paper: 1000)."),
    batch: int = typer.Option(8, help="Images optimised per cell, the best kept (the paper: 64)."),
    lr: float = typer.Option(0.05, help="Adam learning rate on the pixels."),
    jitter: int = typer.Option(1, help="Random roll of up to this many pixels per step."),
    tv: float = typer.Option(0.05, help="Weight of the four-direction total variation."),
    bn: float = typer.Option(0.1, help="Weight of the batch-norm-statistics prior (nets with BN)."),
    seed: int = typer.Option(0, help="Seed of the starting noise and the jitter."),
    run: RunOptions = None,  # type: ignore[assignment] - given by with_run_options
) -> None:
    """Activation maximisation: images that excite one filter at one iteration (random-roll
    jitter, total variation, a batch-norm prior); a PNG grid, iterations down, filters across."""
    from dtcli.analysis.common import check_iterations, require_images, trained_iterations
    from dtcli.analysis.figures import visualize_figure
    from dtcli.analysis.visualize import Settings
    from dtcli.analysis.visualize import visualize as analyse
    from dtcli.cli.analyze_views import visualize_view
    from dtcli.engine.extrapolate import parse_iters

    dev = _setup(run)
    models = [_load(model, dev, None)]
    require_images(models[0].problem, "visualize")
    if twin is not None:
        models.append(_load(twin, dev, None, "--twin"))
        require_images(models[1].problem, "visualize --twin")
    wanted = parse_iters(iters) if iters else list(range(1, trained_iterations(models[0]) + 1))
    chosen = parse_indices(filters, "--filters")
    settings = Settings(steps=steps, batch=batch, lr=lr, jitter=jitter, tv=tv, bn=bn, seed=seed)
    for m, flag in zip(models, ("MODEL", "--twin")):
        try:
            check_iterations(m.net, wanted[-1])
        except DtError as exc:
            raise DtError(f"{flag}: {exc}") from None
    results, files = [], []
    with _bar("activation maximisation") as cb:
        for m in models:
            res = analyse(m, wanted, chosen, settings, on_step=cb)
            results.append(res)
            files.append(str(visualize_figure([res], Path(out) / f"{res.model}.png")))

    def draw(path: Path) -> Path:
        return visualize_figure(results, path)

    _emit({"models": [r.to_dict() for r in results], "images": files}, run,
          visualize_view(results, files, console), draw)


def parse_indices(text: str, flag: str) -> list[int]:
    """``A:B`` (inclusive) or ``0,5,9``: distinct whole numbers >= 0, in order."""
    try:
        if ":" in text:
            lo, hi = (int(v) for v in text.split(":"))
            values = list(range(lo, hi + 1))
        else:
            values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise DtError(f"{flag} {text!r} is not a list: use A:B or 0,5,9") from None
    if not values or min(values) < 0:
        raise DtError(f"{flag} {text!r} must name at least one index >= 0")
    return list(dict.fromkeys(values))


def register(app: typer.Typer) -> None:
    from dtcli.cli import analyze_dynamics_cmd  # noqa: F401 - registers its commands

    app.add_typer(analyze_app, name="analyze",
                  short_help="Look inside a net: reuse, probes, CKA, pictures, stability, "
                             "path independence, perturb.")
