"""``dt analyze``: look inside a thinking network (filter reuse, linear probes, CKA, feature
pictures, stability, error correction). The work is in ``dtcli.analysis``; this module parses,
loads, and shows (tables and plots in analyze_views.py)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer

from dtcli.cli.common import OPTION_HELP, console, err_console, print_json
from dtcli.contracts.errors import DtError

analyze_app = typer.Typer(
    help="Look inside a thinking network: filter reuse, linear probes, CKA, feature pictures, "
         "stability of the recurrent map, error correction.", no_args_is_help=True)

_MODEL = "A run directory or a zoo name (`dt zoo list`)."
_PLOT = "Also write a figure: FILE.png, .svg or .pdf."
_JSON = "Print the result as JSON."
_DEVICE = "auto | cpu | cuda | mps."

# the options every analysis takes, declared once (Typer reads them as parameter defaults)
MODEL = typer.Argument(..., help=_MODEL)
OPTIONS = typer.Option(None, "-o", "--option", help=OPTION_HELP)
BATCH = typer.Option(None, "--batch-size", "-b")
DEVICE = typer.Option("auto", help=_DEVICE)
THREADS = typer.Option(None, help="Torch threads.")
JSON = typer.Option(False, "--json", help=_JSON)
PLOT = typer.Option(None, "--plot", help=_PLOT)


def _setup(device: str, threads: int | None, plot: Path | None):
    """Threads, the device, and a --plot path checked before any work."""
    from dtcli.engine.device import configure_threads, resolve_device

    if plot is not None:
        from dtcli.analysis.figures import check_path

        check_path(plot)
    configure_threads(threads)
    return resolve_device(device)


def _load(ref: str, dev, option: list[str] | None, flag: str | None = None):
    """A model with the command's problem options applied; ``flag`` names the option that gave
    the model, so that a bad reference says which."""
    from dtcli.cli.common import parse_option_pairs
    from dtcli.engine.model import load_model

    try:
        loaded = load_model(ref, device=dev)
    except DtError as exc:
        if flag is None:
            raise
        raise DtError(f"{flag}: {exc}") from None
    if option:
        from dtcli.plugins import get_registry

        problem = loaded.problem
        loaded.problem = get_registry().reopen(problem, parse_option_pairs(option))
    return loaded


def _difficulty(problem, given: str | None, default: str | None = None):
    return problem.parse_difficulty(given or default or problem.default_test_difficulty)


@contextmanager
def _bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on stderr, advanced by ``callback(done, total)``."""
    from dtcli.cli.progress import make_progress

    progress = make_progress(err_console)
    task = progress.add_task(description, total=None, status="")
    with progress:
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _emit(doc: dict[str, Any], json_out: bool, view: Any, plot: Path | None,
          draw: Callable[[Path], Path] | None) -> None:
    if plot is not None and draw is not None:
        written = draw(plot)
        doc["figure"] = str(written)
    if json_out:
        print_json(doc)
        return
    console.print(view)
    if plot is not None:
        console.print(f"figure: {plot}")


# -- reuse ------------------------------------------------------------------------------------


@analyze_app.command("reuse")
def reuse(
    model: str = MODEL,
    count: int = typer.Option(1000, "--count", "-n", help="Test instances."),
    iters: Optional[int] = typer.Option(None, "--iters", "-i", help="Iterations (default: the trained max_iters)."),
    threshold: float = typer.Option(0.2, help="A filter is reused if its least active iteration keeps this fraction of its peak."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty of the test data."),
    control_seed: int = typer.Option(0, "--control-seed", help="Seed of the untrained twin's initialisation."),
    seed: int = typer.Option(0, help="Seed of the test data."),
    option: Optional[list[str]] = OPTIONS,
    batch_size: Optional[int] = BATCH,
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    json_out: bool = JSON,
    plot: Optional[Path] = PLOT,
) -> None:
    """Filter reuse: each filter's positive activations per iteration over its peak, for every
    layer of the recurrent block; the share that stays >= 20% of peak, against an untrained twin.
    """
    from dtcli.analysis.common import trained_iterations, load_data, model_name
    from dtcli.analysis.reuse import reuse as run
    from dtcli.cli.analyze_views import reuse_view

    dev = _setup(device, threads, plot)
    loaded = _load(model, dev, option)
    d = _difficulty(loaded.problem, difficulty)
    x, _ = load_data(loaded.problem, d, count, seed, dev)
    with _bar("filter reuse") as cb:
        res = run(loaded, x, iters or trained_iterations(loaded), threshold=threshold,
                  control_seed=control_seed, batch_size=batch_size, on_batch=cb)
    name = model_name(loaded)

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import reuse_figure

        return reuse_figure(res, path)

    _emit({"model": name, "difficulty": d, **res.to_dict()}, json_out,
          reuse_view(res, name, console), plot, draw)


# -- probes -----------------------------------------------------------------------------------


@analyze_app.command("probes")
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
    option: Optional[list[str]] = OPTIONS,
    batch_size: Optional[int] = BATCH,
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    json_out: bool = JSON,
    plot: Optional[Path] = PLOT,
) -> None:
    """Linear probes: a classifier on the pooled features after each iteration / block; train
    and test accuracy per depth, the model and its twin side by side (images models)."""
    from dtcli.analysis.common import (trained_iterations, load_data, require_images,
                                       require_same_inputs)
    from dtcli.analysis.probes import probes as run
    from dtcli.cli.analyze_views import probes_view

    dev = _setup(device, threads, plot)
    models = [_load(model, dev, option)]
    require_images(models[0].problem, "linear probes")
    if twin is not None:
        models.append(_load(twin, dev, option, "--twin"))
        require_same_inputs(models[0], models[1], "probes")
    wanted = [iters, twin_iters]
    problem = models[0].problem
    d = _difficulty(problem, None)
    train = load_data(problem, d, train_count, seed, dev, split="train")
    test = load_data(problem, d, count, seed, dev)
    results = []
    with _bar("linear probes") as cb:
        for m, n in zip(models, wanted):
            results.append(run(m, train, test, n or trained_iterations(m), pool=pool, ridge=ridge,
                               batch_size=batch_size, on_iteration=cb))

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import probes_figure

        return probes_figure(results, path)

    _emit({"models": [r.to_dict() for r in results]}, json_out, probes_view(results, console),
          plot, draw)


# -- cka --------------------------------------------------------------------------------------


@analyze_app.command("cka")
def cka(
    model_a: str = typer.Argument(..., help=_MODEL),
    model_b: Optional[str] = typer.Argument(None, help="The second model (default: MODEL_A itself: CKA between its own iterations)."),
    count: int = typer.Option(500, "--count", "-n", help="Test instances."),
    iters_a: Optional[int] = typer.Option(None, "--iters-a", help="Iterations of MODEL_A (default: its max_iters)."),
    iters_b: Optional[int] = typer.Option(None, "--iters-b", help="Iterations of MODEL_B (default: its max_iters)."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty of the test data."),
    seed: int = typer.Option(0, help="Seed of the test data."),
    option: Optional[list[str]] = OPTIONS,
    batch_size: Optional[int] = BATCH,
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    json_out: bool = JSON,
    plot: Optional[Path] = PLOT,
) -> None:
    """Linear CKA between every iteration / block of MODEL_A and of MODEL_B, as a matrix and
    a heat map; says whether the same-effective-depth entry is the highest in its row."""
    from dtcli.analysis.cka import cka as run
    from dtcli.analysis.common import trained_iterations, load_data, require_same_inputs
    from dtcli.cli.analyze_views import cka_view

    dev = _setup(device, threads, plot)
    a = _load(model_a, dev, option)
    b = a if model_b is None or model_b == model_a else _load(model_b, dev, option, "MODEL_B")
    require_same_inputs(a, b, "cka")
    d = _difficulty(a.problem, difficulty)
    x, _ = load_data(a.problem, d, count, seed, dev)
    n_a = iters_a or trained_iterations(a)
    n_b = iters_b or (n_a if b is a else trained_iterations(b))
    with _bar("CKA") as cb:
        res = run(a, b, x, n_a, n_b, batch_size=batch_size, on_iteration=cb)

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import cka_figure

        return cka_figure(res, path)

    _emit({"difficulty": d, **res.to_dict()}, json_out, cka_view(res, console), plot, draw)


# -- visualize --------------------------------------------------------------------------------


@analyze_app.command("visualize")
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
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    json_out: bool = JSON,
    plot: Optional[Path] = typer.Option(None, "--plot", help=_PLOT + " Both models side by side."),
) -> None:
    """Activation maximisation: images that excite one filter at one iteration (random-roll
    jitter, total variation, a batch-norm prior); a PNG grid, iterations down, filters across."""
    from dtcli.analysis.common import check_iterations, trained_iterations, require_images
    from dtcli.analysis.figures import visualize_figure
    from dtcli.analysis.visualize import Settings, visualize as run
    from dtcli.cli.analyze_views import visualize_view
    from dtcli.engine.extrapolate import parse_iters

    dev = _setup(device, threads, plot)
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
            res = run(m, wanted, chosen, settings, on_step=cb)
            results.append(res)
            files.append(str(visualize_figure([res], Path(out) / f"{res.model}.png")))

    def draw(path: Path) -> Path:
        return visualize_figure(results, path)

    _emit({"models": [r.to_dict() for r in results], "images": files}, json_out,
          visualize_view(results, files, console), plot, draw)


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


# -- stability --------------------------------------------------------------------------------


@analyze_app.command("stability")
def stability(
    model: str = MODEL,
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty (default: the problem's test difficulty)."),
    iters: int = typer.Option(300, "--iters", "-i", help="Iterations to run (a feed-forward net: at most its blocks)."),
    count: int = typer.Option(100, "--count", "-n", help="Test instances."),
    tolerance: float = typer.Option(1e-3, help="A thought has settled once its relative change stays below this."),
    lipschitz_points: int = typer.Option(10, "--lipschitz-points", help="Iterations at which to estimate the Lipschitz constant (0: none)."),
    lipschitz_count: int = typer.Option(8, "--lipschitz-count", help="Instances the Lipschitz estimate uses."),
    power_steps: int = typer.Option(8, "--power-steps", help="Power-iteration steps per estimate."),
    seed: int = typer.Option(0, help="Seed of the test data and the power iteration."),
    option: Optional[list[str]] = OPTIONS,
    batch_size: Optional[int] = BATCH,
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    json_out: bool = JSON,
    plot: Optional[Path] = PLOT,
) -> None:
    """Stability of the recurrent map: the thought's change per iteration, a local Lipschitz
    estimate of `think`, whether it settles, and the truncation test (the answer at every
    iteration against the settled one)."""
    from dtcli.analysis.common import check_iterations, load_data, model_name
    from dtcli.analysis.stability import stability as run
    from dtcli.cli.analyze_views import stability_view

    dev = _setup(device, threads, plot)
    loaded = _load(model, dev, option)
    check_iterations(loaded.net, iters)
    d = _difficulty(loaded.problem, difficulty)
    x, y = load_data(loaded.problem, d, count, seed, dev)
    with _bar(f"stability, {iters} iterations") as cb:
        res = run(loaded.net, loaded.problem, x, y, iters, max_iters=loaded.max_iters,
                  tolerance=tolerance, lipschitz_points=lipschitz_points,
                  lipschitz_count=lipschitz_count, power_steps=power_steps, seed=seed,
                  batch_size=batch_size, difficulty=d, on_step=cb)
    name = model_name(loaded)

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import stability_figure

        return stability_figure(res, path, f"{name}, {loaded.problem.describe_difficulty(d)}")

    _emit({"model": name, **res.to_dict()}, json_out,
          stability_view(res, name, loaded.problem, console), plot, draw)


# -- perturb ----------------------------------------------------------------------------------


@analyze_app.command("perturb")
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
    option: Optional[list[str]] = OPTIONS,
    batch_size: Optional[int] = BATCH,
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    json_out: bool = JSON,
    plot: Optional[Path] = PLOT,
) -> None:
    """Error correction: corrupt the thought after iteration K, then compare accuracy per
    iteration with the clean solve and count the iterations it takes to recover."""
    from dtcli.analysis.common import check_iterations, load_data, model_name
    from dtcli.analysis.perturb import perturb as run
    from dtcli.cli.analyze_views import perturb_view

    dev = _setup(device, threads, plot)
    loaded = _load(model, dev, option)
    total = iters or at + 100
    if loaded.net.max_depth is not None and iters is None:
        total = min(total, loaded.net.max_depth)
    check_iterations(loaded.net, total)
    d = _difficulty(loaded.problem, difficulty)
    x, y = load_data(loaded.problem, d, count, seed, dev)
    with _bar(f"perturbation at {at}, {total} iterations") as cb:
        res = run(loaded.net, loaded.problem, x, y, total, at, kind=kind, scale=scale, seed=seed,
                  tolerance=tolerance, batch_size=batch_size, difficulty=d, on_step=cb)
    name = model_name(loaded)

    def draw(path: Path) -> Path:
        from dtcli.analysis.figures import perturb_figure

        return perturb_figure(res, path, f"{name}, {loaded.problem.describe_difficulty(d)}")

    _emit({"model": name, **res.to_dict()}, json_out,
          perturb_view(res, name, loaded.problem, console), plot, draw)


def register(app: typer.Typer) -> None:
    app.add_typer(analyze_app, name="analyze",
                  short_help="Look inside a net: reuse, probes, CKA, pictures, stability, perturb.")
