"""What every ``dt analyze`` command shares: the options declared once, loading the model with
the command's problem options, the data, a progress bar, and printing or plotting the result."""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

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


@dataclass
class RunOptions:
    """What every analysis takes besides its own settings (declared once, below)."""

    option: list[str] | None = None
    batch_size: int | None = None
    device: str = "auto"
    threads: int | None = None
    json_out: bool = False
    plot: Path | None = None


_COMMON: dict[str, tuple[Any, Any]] = {
    "option": (Optional[list[str]], OPTIONS), "batch_size": (Optional[int], BATCH),
    "device": (str, DEVICE), "threads": (Optional[int], THREADS), "json_out": (bool, JSON),
    "plot": (Optional[Path], PLOT)}


def with_run_options(*names: str) -> Callable:
    """Give an analysis command the options every analysis takes (``names`` of them, default
    all: -o, --batch-size, --device, --threads, --json, --plot); the command receives them as
    one :class:`RunOptions`, ``run``."""
    names = names or tuple(_COMMON)

    def decorate(fn: Callable) -> Callable:
        params = [p for p in inspect.signature(fn).parameters.values() if p.name != "run"]
        extra = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=_COMMON[n][0],
                                   default=_COMMON[n][1]) for n in names]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            run = RunOptions(**{n: kwargs.pop(n) for n in names})
            return fn(**kwargs, run=run)

        command.__signature__ = inspect.Signature(params + extra)  # type: ignore[attr-defined]
        return command

    return decorate


def _setup(run: RunOptions):
    """Threads, the device, and a --plot path checked before any work."""
    from dtcli.engine.device import configure_threads, resolve_device

    if run.plot is not None:
        from dtcli.analysis.figures import check_path

        check_path(run.plot)
    configure_threads(run.threads)
    return resolve_device(run.device)


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
    """A transient progress bar on stderr, advanced by ``callback(done, total)``; with stderr
    redirected, a timestamped line every ~10 s and one when it ends (none before: an input
    refused at once stays one line)."""
    from dtcli.cli.progress import PlainLines, make_progress

    if not err_console.is_terminal:
        plain = PlainLines(err_console)
        last = [0.0]

        def report(done: int, total: int) -> None:
            last[0] = done / total if total else 0.0
            plain.report(description, last[0])

        yield report
        plain.report(description, 1.0, force=True)
        return
    progress = make_progress(err_console)
    task = progress.add_task(description, total=None, status="")
    with progress:
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _emit(doc: dict[str, Any], run: RunOptions, view: Any,
          draw: Callable[[Path], Path] | None) -> None:
    json_out, plot = run.json_out, run.plot
    if plot is not None and draw is not None:
        written = draw(plot)
        doc["figure"] = str(written)
    if json_out:
        print_json(doc)
        return
    console.print(view)
    if plot is not None:
        console.print(f"figure: {plot}")


def prepared(model: str, run: RunOptions, *, difficulty: str | None, count: int, seed: int):
    """``(loaded model, difficulty, inputs, targets)`` as most analyses start: threads and
    device set, --plot checked, the model loaded with -o applied, the test data on the device."""
    from dtcli.analysis.common import load_data

    dev = _setup(run)
    loaded = _load(model, dev, run.option)
    d = _difficulty(loaded.problem, difficulty)
    x, y = load_data(loaded.problem, d, count, seed, dev)
    return loaded, d, x, y

