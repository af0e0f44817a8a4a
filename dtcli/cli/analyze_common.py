"""What every ``dt analyze`` command shares: the options declared once, loading the model with
the command's problem options, the data, a progress bar, and printing or plotting the result."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import typer

from dtcli.cli.common import OPTION_HELP, console, err_console, print_json
from dtcli.contracts.errors import DtError

analyze_app = typer.Typer(
    help="Look inside a thinking network: filter reuse, linear probes, CKA, feature pictures, "
         "stability of the recurrent map and how its thought settles, path independence, "
         "error correction.", no_args_is_help=True)

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


def prepared(model: str, *, device: str, threads: int | None, plot: Path | None,
             option: list[str] | None, difficulty: str | None, count: int, seed: int):
    """``(loaded model, difficulty, inputs, targets)`` as most analyses start: threads and
    device set, --plot checked, the model loaded with -o applied, the test data on the device."""
    from dtcli.analysis.common import load_data

    dev = _setup(device, threads, plot)
    loaded = _load(model, dev, option)
    d = _difficulty(loaded.problem, difficulty)
    x, y = load_data(loaded.problem, d, count, seed, dev)
    return loaded, d, x, y

