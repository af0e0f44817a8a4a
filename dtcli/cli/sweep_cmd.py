"""``dt sweep``: train a grid of settings × seeds, one table of mean ± s.e. per grid point."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from dtcli.cli.common import OPTION_HELP, complete_problem, console, err_console, parse_option_pairs, print_json
from dtcli.cli.setting_options import with_settings
from dtcli.contracts.errors import DtError


def _sweep_settings() -> list[str]:
    """The settings a sweep takes: those of `dt train` but the seed (--seed is its own axis)."""
    from dtcli.cli.train_cmd import _flagged

    return [n for n in _flagged() if n != "seed"]


def parse_seed_axis(text: str) -> list[int]:
    """``3`` (seed 3), ``0:5`` (seeds 0..4) or ``0,4,7``."""
    from dtcli.experiments.stats import parse_int_list

    text = text.strip()
    if ":" in text:
        lo, _, hi = text.partition(":")
        try:
            seeds = list(range(int(lo), int(hi)))
        except ValueError:
            raise DtError(f"--seed {text!r}: a range is START:END (0:5 is seeds 0 to 4)") from None
        if not seeds:
            raise DtError(f"--seed {text!r}: the range is empty (0:5 is seeds 0 to 4)")
        return seeds
    return parse_int_list(text, "--seed")


def parse_grid(given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """``(fixed settings, grid)`` from the flags: a comma list sweeps a setting, one value
    fixes it; each value checked by its setting's rule."""
    from dtcli.cli.setting_options import convert
    from dtcli.config import rules
    from dtcli.settings import _base, flag_of, parse_text

    declared = rules()
    fixed: dict[str, Any] = {}
    grid: dict[str, list[Any]] = {}
    for name, value in given.items():
        hint, rule = declared[name]
        kind, _ = _base(hint)
        if (typing.get_origin(kind) or kind) in (list, bool) or not isinstance(value, str):
            fixed.update(convert({name: value}))
            continue
        items = [v for v in value.split(",") if v.strip()]
        if not items:
            raise DtError(f"{flag_of(name, rule)} is empty")
        values = list(dict.fromkeys(parse_text(name, v, hint, flag_of(name, rule))
                                    for v in items))
        if len(values) == 1:
            fixed[name] = values[0]
        else:
            grid[name] = values
    return fixed, grid


def sweep(
    problem: str = typer.Argument(..., help="Problem, e.g. prefix-sums or mazes.", autocompletion=complete_problem),
    arch: str = typer.Option(..., "--arch", "-a", help="Architectures, comma-separated (each is swept alike)."),
    arch_option: Optional[list[str]] = typer.Option(None, "--arch-option", help="Architecture option NAME=VALUE (every architecture of the sweep)."),
    seed: str = typer.Option("0", "--seed", help="Seeds: one (3), a range (0:5 is 0 to 4) or a list (0,4,7)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="quick or paper (default: quick on CPU)."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Sweep directory (default studies/<problem>-sweep); re-running the same command resumes it."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the runs the sweep would train (their keys and settings), then stop."),
    json_out: bool = typer.Option(False, "--json", help="Print the results document as JSON."),
    settings: dict = None,
) -> None:
    """Train every combination of the settings given as comma lists, for each seed:
    `dt sweep prefix-sums --arch dt-recall --width 16,32 --seed 0:3 --epochs 5`. Each run is an
    ordinary run directory under OUT/runs/; results.json and results.csv hold every run and
    the mean ± s.e. over seeds per grid point. Resumable: run the same command again."""
    from dtcli.cli.study_progress import SweepProgress, run_and_show
    from dtcli.experiments.sweep import SweepPlan, check_plan, run_sweep

    fixed, grid = parse_grid(dict(settings or {}))
    plan = SweepPlan(problem=problem, archs=[a.strip() for a in arch.split(",") if a.strip()],
                     grid=grid, seeds=parse_seed_axis(seed),
                     arch_options=parse_option_pairs(arch_option),
                     out=out or Path("studies") / f"{problem}-sweep", preset=preset,
                     problem_options=parse_option_pairs(option), overrides=fixed)
    if dry_run:
        check_plan(plan)
        specs = plan.specs()
        if json_out:
            print_json([{"key": s.key, "arch": s.arch, "seed": s.seed, "settings": s.settings}
                        for s in specs])
            return
        console.print(f"{len(specs)} runs → {plan.out}/runs/")
        for s in specs:
            console.print(f"  {s.key}", markup=False)
        return
    run_and_show(SweepProgress(err_console if json_out else console), run_sweep, plan, json_out, show)


def _cell(mean: float | None, se: float | None = None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.1f}" + ("" if se is None else f" ± {se:.1f}")


def show(doc: dict[str, Any]) -> None:
    study = doc["study"]
    names = list(study["grid"])
    difficulties = list(doc["summary"][0]["tests"]) if doc["summary"] else []
    table = Table(title=f"sweep {study['problem']}: mean ± s.e. over seeds "
                        f"{', '.join(map(str, study['seeds']))}")
    for col in ["arch", *names, "runs", "train %", "best val %",
                *(f"peak % on {d}" for d in difficulties)]:
        table.add_column(col, justify="left" if col == "arch" else "right")
    for r in doc["summary"]:
        table.add_row(r["arch"], *(str(r["settings"][n]) for n in names), str(r["runs"]),
                      _cell(r["train_mean"]), _cell(r["val_mean"]),
                      *(_cell(r["tests"][d]["peak_mean"], r["tests"][d]["peak_se"])
                        for d in difficulties))
    console.print(table)
    state = "complete" if doc["complete"] else "incomplete (run the same command to continue)"
    console.print(f"sweep {state}: {Path(study['out']) / 'results.json'}, results.csv")


def register(app: typer.Typer) -> None:
    app.command("sweep", short_help="Train a grid of settings × seeds; mean ± s.e. per point.")(
        with_settings(_sweep_settings(), as_lists=True)(sweep))
