"""Shared CLI plumbing: consoles, the one-line error policy, JSON output, common parsing."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import typer
from rich.console import Console
from typer.core import TyperGroup

from dtcli.errors import DtError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DEBUG_ENV = "DT_DEBUG"
DEBUG_META = "dt.debug"


def debug_enabled(ctx: typer.Context | None = None) -> bool:
    """``--debug`` was given, or ``DT_DEBUG=1`` is set."""
    return bool(ctx and ctx.meta.get(DEBUG_META)) or os.environ.get(DEBUG_ENV) == "1"


class DtGroup(TyperGroup):
    """The top-level command group: a :class:`DtError` anywhere below becomes one line on
    stderr and exit code 2 (``--debug`` shows the traceback instead)."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DtError as exc:
            if debug_enabled(ctx):
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None


def print_json(obj: Any) -> None:
    """Machine-readable output: JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def parse_option_pairs(pairs: Iterable[str] | None) -> dict[str, str]:
    from dtcli.options import parse_assignments

    return parse_assignments(pairs or [])


def problem_with_options(name: str, pairs: Iterable[str] | None):
    from dtcli.plugins import get_registry

    return get_registry().problem(name, parse_option_pairs(pairs))


OPTION_HELP = "Problem option NAME=VALUE (repeatable); `dt list problems -v` lists them."


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (``kill``, a scheduler ending a job) like Ctrl-C while the body runs, so a
    run ends "interrupted" with its last epoch resumable instead of dying unmarked."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
