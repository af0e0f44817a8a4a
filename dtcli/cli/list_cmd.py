"""``dt list``: the registered problems and architectures."""

from __future__ import annotations

from enum import Enum

import typer
from rich.table import Table

from dtcli.cli.common import console, print_json


class What(str, Enum):
    all = "all"
    problems = "problems"
    archs = "archs"


def describe_problems(reg) -> list[dict]:
    out = []
    for name, cls in sorted(reg.problems.items()):
        out.append({
            "name": name, "summary": cls.summary, "kind": cls.kind,
            "difficulty": cls.difficulty_unit, "train_difficulty": cls.default_train_difficulty,
            "test_difficulty": cls.default_test_difficulty, "presets": sorted(cls.presets),
            "plugin": reg.origin.get("problem:" + name),
            "options": [{"name": o.name, "type": o.kind.__name__, "default": o.default,
                         "choices": list(o.choices) if o.choices else None, "help": o.help}
                        for o in cls.options],
        })
    return out


def describe_archs(reg) -> list[dict]:
    return [{"name": name, "summary": a.summary, "recurrent": a.recurrent,
             "kinds": sorted(a.kinds), "dims": sorted(a.spatial_dims),
             "plugin": reg.origin.get("arch:" + name),
             "options": [{"name": o.name, "default": o.default, "help": o.help} for o in a.options]}
            for name, a in sorted(reg.archs.items())]


def list_(
    what: What = typer.Argument(What.all, help="problems, archs, or all"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show options and presets."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """List problems and architectures (with -v: their options and presets)."""
    from dtcli.plugins import get_registry

    reg = get_registry()
    doc = {}
    if what in (What.all, What.problems):
        doc["problems"] = describe_problems(reg)
    if what in (What.all, What.archs):
        doc["archs"] = describe_archs(reg)
    if json_out:
        print_json(doc if what == What.all else doc[what.value])
        return
    if "problems" in doc:
        table = Table(title="problems")
        for col in ("name", "kind", "difficulty (train → test)", "presets", "summary"):
            table.add_column(col)
        for p in doc["problems"]:
            table.add_row(p["name"], p["kind"],
                          f"{p['difficulty']}: {p['train_difficulty']} → {p['test_difficulty']}",
                          ", ".join(p["presets"]), p["summary"])
            if verbose:
                for o in p["options"]:
                    choices = f" [{'|'.join(map(str, o['choices']))}]" if o["choices"] else ""
                    table.add_row("", "", f"  -o {o['name']}={o['default']}{choices}", "", o["help"])
        console.print(table)
    if "archs" in doc:
        table = Table(title="architectures")
        for col in ("name", "recurrent", "problem kinds", "summary"):
            table.add_column(col)
        for a in doc["archs"]:
            table.add_row(a["name"], "yes" if a["recurrent"] else "no", ", ".join(a["kinds"]),
                          a["summary"])
            if verbose:
                for o in a["options"]:
                    table.add_row("", "", f"  --arch-option {o['name']}={o['default']}", o["help"])
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("list")(list_)
