"""Shared CLI plumbing: consoles, the one-line error policy, JSON output, common parsing."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from dtcli.contracts.errors import DtError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DEBUG_ENV = "DT_DEBUG"
DEBUG_META = "dt.debug"


def debug_enabled(ctx: typer.Context | None = None) -> bool:
    """``--debug`` was given, or ``DT_DEBUG=1`` is set."""
    return bool(ctx and ctx.meta.get(DEBUG_META)) or os.environ.get(DEBUG_ENV) == "1"


class DtGroup(TyperGroup):
    """The top-level command group: a :class:`DtError` anywhere below becomes one line on
    stderr and exit code 2 (``--debug`` shows the traceback instead); so does a usage error
    (an unknown option, a missing argument), which click would print on three lines."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        errors = _click_exceptions()
        self.left_process_group = False
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except getattr(errors, "NoArgsIsHelpError", ()) as exc:  # `dt zoo`: its help
            exc.show()
            rv = exc.exit_code
        except errors.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "dt"
            typer.echo(f"error: {exc.format_message()} (see `{where} --help`)", err=True)
            rv = 2
        except errors.Abort:
            typer.echo("interrupted", err=True)
            rv = 130
        except errors.ClickException as exc:
            typer.echo(f"error: {exc.format_message()}", err=True)
            rv = exc.exit_code
        if not standalone_mode:
            return rv
        code = rv if isinstance(rv, int) else 0
        if self.left_process_group:
            exit_now(code)
        sys.exit(code)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DtError as exc:
            if debug_enabled(ctx):
                raise
            if is_main_process():  # under torchrun every rank meets the same error: say it once
                typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        finally:
            if "torch.distributed" in sys.modules:
                from dtcli.engine.distributed import shutdown

                self.left_process_group = shutdown()


def exit_now(code: int) -> NoReturn:
    """End this process with ``code`` after its atexit handlers and a flush of stdout and
    stderr, skipping the interpreter's teardown.

    For a process that took part in a torchrun job: after DDP, torch's C++ static destructors
    abort about one such process in ten at exit ("terminate called without an active
    exception", SIGABRT; measured with torch 2.13 and gloo, none with this exit), and torchrun
    then fails the whole job although its work is done and written.
    """
    import atexit

    atexit._run_exitfuncs()  # noqa: SLF001 - os._exit skips them; nothing else runs them
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing left to flush
            pass
    os._exit(code)


def _click_exceptions() -> Any:
    """click's exception classes (typer < 0.29 vendors click as typer._click)."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - a typer that uses click itself
        from click import exceptions
    if not hasattr(exceptions, "Abort"):
        from typer import Abort

        exceptions.Abort = Abort
    return exceptions


def is_main_process() -> bool:
    """False in the processes torchrun starts with RANK > 0 (they stay silent); a damaged
    torchrun environment counts as the main process, so its error is said."""
    from dtcli.engine.distributed import environment

    try:
        return environment().main
    except DtError:
        return True


def print_json(obj: Any) -> None:
    """Machine-readable output: JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def parse_option_pairs(pairs: Iterable[str] | None) -> dict[str, str]:
    from dtcli.contracts.options import parse_assignments

    return parse_assignments(pairs or [])


def problem_with_options(name: str, pairs: Iterable[str] | None):
    from dtcli.plugins import get_registry

    return get_registry().problem(name, parse_option_pairs(pairs))


OPTION_HELP = "Problem option NAME=VALUE (repeatable); `dt list problems -v` lists them."


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], bool]]:
    """While the body runs, SIGINT (Ctrl-C) and SIGTERM (``kill``, a scheduler, torchrun ending
    its workers) ask the engine to stop after the current step: it writes its resume state
    there and the run ends "interrupted". Yields the callable the engine polls. The same signal
    a second time stops at once (KeyboardInterrupt; the run keeps its last resume state).

    Different signals in a row do not escalate: Ctrl-C under torchrun reaches every worker
    both from the terminal (SIGINT) and from torchrun (SIGTERM), and must still stop cleanly.
    """
    import signal
    import threading

    received: set[int] = set()
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def request(signum: int, frame: Any) -> None:
        if signum in received:
            raise KeyboardInterrupt
        received.add(signum)
        if not received - {signum}:
            sys.stderr.write("\nstopping after this step (the same signal again stops now)\n")

    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(received)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def complete_problem(incomplete: str) -> list[str]:
    """Shell completion of a problem name (the registry's, torch-free)."""
    from dtcli.plugins import get_registry

    return sorted(n for n in get_registry().problems if n.startswith(incomplete))


def complete_arch(incomplete: str) -> list[str]:
    """Shell completion of an architecture name."""
    from dtcli.plugins import get_registry

    return sorted(n for n in get_registry().archs if n.startswith(incomplete))

