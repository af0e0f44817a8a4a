"""The ``dt`` command line (Typer). Each command group lives in its own module.

Nothing here imports torch at module level: ``dt --help`` and ``dt plugins`` stay fast.
"""

from __future__ import annotations

import typer

from dtcli import __version__
from dtcli.cli.common import DEBUG_META, DtGroup

HELP = """dt: train deep thinking networks on easy problems, then watch them solve harder ones
by thinking longer.

\b
See it in seconds (pretrained models from the zoo, no training):
  dt tui                                 a maze model thinking, step by step
  dt solve mazes-dt-recall -d 21         a 21x21 maze (trained on 9x9)
  dt solve prefix-sums-dt-recall -d 256  256-bit prefix sums (trained on 32)

\b
Then train and extrapolate your own:
  dt train prefix-sums --arch dt-recall  a few minutes on a laptop CPU
  dt test runs/prefix-sums-dt-recall-... -d 512 --iters 1:500
  dt runs                                your runs (`dt compare` them)
"""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dt {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """A fresh Typer app with the built-in commands and every plugin's commands."""
    from dtcli.cli import (
        analyze_cmd,
        bench_cmd,
        compare_cmd,
        data_cmd,
        list_cmd,
        plugins_cmd,
        runs_cmd,
        seeds_cmd,
        solve_cmd,
        study_cmd,
        sweep_cmd,
        test_cmd,
        train_cmd,
        tui_cmd,
        zoo_cmd,
    )
    from dtcli.plugins import get_registry

    app = typer.Typer(cls=DtGroup, help=HELP, no_args_is_help=True, add_completion=True,
                      pretty_exceptions_enable=False, rich_markup_mode=None,
                      context_settings={"max_content_width": 120})

    @app.callback()
    def root(
        ctx: typer.Context,
        debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Print dt's version and exit."),
    ) -> None:
        if debug:
            ctx.meta[DEBUG_META] = True

    for module in (plugins_cmd, list_cmd, data_cmd, train_cmd, test_cmd, solve_cmd, zoo_cmd,
                   tui_cmd, runs_cmd, compare_cmd, study_cmd, seeds_cmd, sweep_cmd, bench_cmd,
                   analyze_cmd):
        module.register(app)
    get_registry().add_commands(app)
    return app


app = build_app()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="dt")
