"""``dt runs``: the run directories under a folder, one row each (``dt runs list``, the
default), one run in full (``dt runs show``), and a run's tags and note (``dt runs label``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from typer.core import TyperGroup

from dtcli.cli.common import console, print_json
from dtcli.contracts.errors import DtError
from dtcli.runs import RUNS_ROOT

SORT_KEYS = ("when", "name", "problem", "arch", "status", "best_val", "peak")


def _sort_key(key: str):
    def value(row: dict):
        v = row.get(key)
        if key == "peak":
            v = (v or {}).get("accuracy")
        return (v is None, v if v is not None else 0)

    return value


def runs_command(
    folder: Path = typer.Argument(RUNS_ROOT, help="Where to look (run directories below it, studies included)."),
    problem: Optional[str] = typer.Option(None, "--problem", help="Only runs of this problem."),
    status: Optional[str] = typer.Option(None, "--status", help="Only runs in this state: running, finished, cancelled, interrupted, failed (or damaged)."),
    tag: Optional[list[str]] = typer.Option(None, "--tag", help="Only runs with this tag (repeatable: with every one)."),
    sort: str = typer.Option("when", "--sort", help=f"Order by: {', '.join(SORT_KEYS)} (prefix - for descending)."),
    json_out: bool = typer.Option(False, "--json", help="Print the runs as JSON (one object a run) instead of the table."),
) -> None:
    """List training runs: settings, state, epochs, best validation and the peak of their
    extrapolation curves (`dt runs` is `dt runs list`). `dt runs show RUN` shows one in full,
    `dt compare RUN...` sets chosen ones side by side."""
    from dtcli import runs

    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise DtError(f"--sort {sort!r}: choose one of {', '.join(SORT_KEYS)}")
    if not folder.is_dir():
        raise DtError(f"no folder {folder}; runs are in runs/ unless you trained with --out")
    rows = [runs.summarize(d) for d in runs.find_runs(folder)]
    rows = [r for r in rows if (problem is None or r.get("problem") == problem)
            and (status is None or r["status"] == status)
            and set(tag or []) <= set(r.get("tags") or [])]
    rows.sort(key=_sort_key(key), reverse=sort.startswith("-"))
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print(f"no runs under {folder}" + (" match" if problem or status or tag else ""))
        return
    from rich import box

    # the run name is typed back: never cut; columns of less value go first when narrow
    name_width = max(len(r.get("name", r["run"])) for r in rows)
    room = console.width - name_width
    wide = room >= 85
    keep = {"problem arch": room >= 66, "w·it·α": room >= 50}
    table = Table(title=f"{len(rows)} run{'s' if len(rows) != 1 else ''} under {folder}",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    columns = [c for c in ("run", "problem arch", "w·it·α", "state", "val %", "peak % @it (d)")
               if keep.get(c, True)]
    for col in columns + (["when"] if wide else []):
        table.add_column(col, no_wrap=col != "state", overflow="fold",
                         min_width=name_width if col == "run" else None,
                         justify="right" if "%" in col else "left")
    colour = {"finished": "green", "running": "cyan", "failed": "red", "damaged": "red"}
    for r in rows:
        if "name" not in r:  # its config.json is damaged: nothing but the path to show
            cells = {"run": r["run"], "state": f"[red]{r['damaged']}[/]"}
            table.add_row(*(cells.get(c, "") for c in columns), *([""] if wide else []))
            continue
        peak = r["peak"]
        state = (f"[red]{r['damaged']}[/]" if r["status"] == "damaged" else
                 f"[{colour.get(r['status'], 'yellow')}]{r['status']}[/] {r['epochs']}/{r['planned']}")
        tags = f"\n[dim]{', '.join(r['tags'])}[/]" if r.get("tags") else ""
        cells = {"run": r["name"] + tags, "problem arch": f"{r['problem']} {r['arch']}",
                 "w·it·α": f"{r['width']}·{r['max_iters']}·{r['alpha']:g}", "state": state,
                 "val %": "-" if r["best_val"] is None else f"{r['best_val']:.1f}",
                 "peak % @it (d)": "-" if peak is None else
                 f"{peak['accuracy']:.1f} @{peak['iteration']} ({peak['difficulty']})"}
        table.add_row(*(cells[c] for c in columns), *([r["when"][5:]] if wide else []))
    console.print(table)
    for r in rows:  # what exactly is damaged, one line a run
        if r["status"] == "damaged":
            console.print(r["error"], style="red", soft_wrap=True, markup=False)


def _complete_run(incomplete: str) -> list[str]:
    from dtcli.cli.runs_show import complete_run

    return complete_run(incomplete)


def label_command(
    run: Path = typer.Argument(..., help="The run (its directory, or its name under runs/).", autocompletion=_complete_run),
    tag: Optional[list[str]] = typer.Option(None, "--tag", help="Add this tag (repeatable)."),
    untag: Optional[list[str]] = typer.Option(None, "--untag", help="Remove this tag (repeatable)."),
    note: Optional[str] = typer.Option(None, "--note", help="Set the run's note ('' removes it)."),
    json_out: bool = typer.Option(False, "--json", help="Print the run's labels as JSON."),
) -> None:
    """Tag a run or set its note: `dt runs label RUN --tag baseline --note "lr 2e-3"`.
    Labels live in the run's labels.json; `dt runs --tag T` lists the runs tagged T."""
    from dtcli import runs
    from dtcli.cli.runs_show import find_run

    run_dir = find_run(run)
    for t in [*(tag or []), *(untag or [])]:
        runs.check_tag(t)
    labels = runs.read_labels(run_dir)
    tags = [t for t in [*labels["tags"], *(tag or [])] if t not in set(untag or [])]
    new_note = labels["note"] if note is None else (note or None)
    if tag or untag or note is not None:
        runs.write_labels(run_dir, tags, new_note)
    labels = runs.read_labels(run_dir)
    if json_out:
        print_json({"run": str(run_dir), **labels})
        return
    console.print(f"{run_dir}: tags {', '.join(labels['tags']) or '(none)'}"
                  + (f"; note: {labels['note']}" if labels["note"] else ""),
                  markup=False, soft_wrap=True)


class RunsGroup(TyperGroup):
    """``dt runs [FOLDER] [options]`` is ``dt runs list ...``: the listing stays the
    default, and ``show`` and ``label`` sit beside it."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["list", *args]
        return super().parse_args(ctx, args)


SHORT_HELP = "Your training runs: list them, show one, tag them."
HELP = """Your training runs: `dt runs [FOLDER]` lists them (the same as `dt runs list`),
`dt runs show RUN` shows one (settings, state, curves), `dt runs label RUN --tag T --note TEXT`
labels it. `dt runs list --help` lists the listing's filters (--problem, --status, --tag,
--sort, --json)."""


def register(app: typer.Typer) -> None:
    from dtcli.cli.runs_show import show_command

    runs_app = typer.Typer(cls=RunsGroup, help=HELP, short_help=SHORT_HELP)
    runs_app.command("list")(runs_command)
    runs_app.command("show")(show_command)
    runs_app.command("label")(label_command)
    app.add_typer(runs_app, name="runs")
