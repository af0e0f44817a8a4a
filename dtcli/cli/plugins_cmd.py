"""``dt plugins``: what is loaded, from where, and what failed."""

from __future__ import annotations

import typer
from rich.table import Table

from dtcli.cli.common import console, print_json


def plugins(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List plugins: name, version, source, hooks implemented and load status.

    Third-party plugins come from the entry-point group `dtcli`; set DTCLI_PLUGINS to a
    comma-separated list of names to load only those (empty: none).
    """
    from dtcli.plugins import get_registry

    reg = get_registry()
    if json_out:
        print_json([p.as_dict() for p in reg.plugins])
        return
    table = Table(title="dt plugins")
    for col in ("name", "version", "source", "hooks", "status"):
        table.add_column(col)
    for p in reg.plugins:
        status = "[green]loaded[/]" if p.status == "loaded" else f"[red]failed[/]: {p.error}"
        table.add_row(p.name, p.version, p.source, ", ".join(p.hooks) or "-", status)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("plugins")(plugins)
