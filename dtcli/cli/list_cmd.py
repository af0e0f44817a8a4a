"""``dt list``: the registered problems and architectures."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer
from rich import box
from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from dtcli.cli.common import console, print_json


class What(str, Enum):
    all = "all"
    problems = "problems"
    archs = "archs"
    presets = "presets"


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


def arch_recipes(reg, arch) -> dict[str, dict[str, dict]]:
    """What ``arch`` brings to each problem's presets (``Architecture.preset``), where it
    brings anything: ``{problem: {preset: values}}``."""
    out: dict[str, dict[str, dict]] = {}
    for problem, cls in sorted(reg.problems.items()):
        for preset in cls.presets:
            values = arch.preset(problem, preset)
            if values:
                out.setdefault(problem, {})[preset] = dict(values)
    return out


def describe_archs(reg) -> list[dict]:
    return [{"name": name, "summary": a.summary, "recurrent": a.recurrent,
             "kinds": sorted(a.kinds), "dims": sorted(a.spatial_dims),
             "plugin": reg.origin.get("arch:" + name),
             "options": [{"name": o.name, "default": o.default, "help": o.help} for o in a.options],
             "recipes": arch_recipes(reg, a)}
            for name, a in sorted(reg.archs.items())]


def list_(
    what: What = typer.Argument(What.all, help="problems, archs, presets, or all"),
    problem: Optional[str] = typer.Argument(None, help="With presets: only this problem's."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show options and presets."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """List problems and architectures (with -v: their options and presets); `dt list presets
    [PROBLEM]` shows every preset's values."""
    from dtcli.plugins import get_registry

    reg = get_registry()
    if what == What.presets:
        show_presets(reg, problem, json_out)
        return
    doc = {}
    if what in (What.all, What.problems):
        doc["problems"] = describe_problems(reg)
    if what in (What.all, What.archs):
        doc["archs"] = describe_archs(reg)
    if json_out:
        print_json(doc if what == What.all else doc[what.value])
        return
    if verbose:
        show_blocks(doc)
        return
    if "problems" in doc:
        table = Table(title="problems", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("name", no_wrap=True, style="bold")
        table.add_column("kind", no_wrap=True)
        table.add_column("train → test", no_wrap=True)
        table.add_column("summary", ratio=1)
        for p in doc["problems"]:
            table.add_row(p["name"], p["kind"], difficulties(p), p["summary"])
        console.print(table)
    if "archs" in doc:
        table = Table(title="architectures", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("name", no_wrap=True, style="bold")
        table.add_column("recurrent", no_wrap=True)
        table.add_column("kinds")
        table.add_column("summary", ratio=1)
        for a in doc["archs"]:
            table.add_row(a["name"], "yes" if a["recurrent"] else "no", ", ".join(a["kinds"]),
                          a["summary"])
        console.print(table)
    console.print("[dim]dt list -v: options and presets[/]")


def difficulties(p: dict) -> str:
    return f"{p['difficulty']} {p['train_difficulty']} → {p['test_difficulty']}"


def show_blocks(doc: dict) -> None:
    """One block per problem and architecture: a heading line, the summary, then the options
    as a two-column grid whose help column wraps under itself. Reads at 80 columns."""
    if "problems" in doc:
        console.rule("problems", style="dim")
        for p in doc["problems"]:
            head = Text.assemble((p["name"], "bold cyan"), f"  {p['kind']}  ",
                                 (f"difficulty: {difficulties(p)}", "default"))
            facts = f"presets: {', '.join(p['presets']) or 'none'}   plugin: {p['plugin']}"
            rows = [(f"-o {o['name']}={o['default']}", o["help"] + choices(o))
                    for o in p["options"]]
            block(head, p["summary"], facts, rows)
    if "archs" in doc:
        console.rule("architectures", style="dim")
        for a in doc["archs"]:
            head = Text.assemble((a["name"], "bold cyan"),
                                 f"  {'recurrent' if a['recurrent'] else 'feed-forward'}  ",
                                 f"kinds: {', '.join(a['kinds'])}")
            rows = [(f"--arch-option {o['name']}={o['default']}", o["help"]) for o in a["options"]]
            recipes = "; ".join(f"{problem} ({', '.join(presets)})"
                                for problem, presets in a["recipes"].items())
            facts = f"plugin: {a['plugin']}" + (f"   own recipe for: {recipes}" if recipes else "")
            block(head, a["summary"], facts, rows)


def choices(option: dict) -> str:
    return f" [{' | '.join(map(str, option['choices']))}]" if option["choices"] else ""


def block(head: Text, summary: str, facts: str, rows: list[tuple[str, str]]) -> None:
    console.print(head)
    body = Table.grid(padding=(0, 2))
    body.add_column(no_wrap=True)
    body.add_column(ratio=1)
    for spec, text in rows:
        body.add_row(Text(spec, style="green"), Text(text))  # help is text, not markup
    console.print(Padding(Group(Text(summary), Text(facts, style="dim"),
                                *([body] if rows else [])), (0, 0, 1, 2), expand=False))


def register(app: typer.Typer) -> None:
    app.command("list")(list_)


def show_presets(reg, only: str | None, json_out: bool) -> None:
    """Each problem's presets and the values they set (per architecture where they differ)."""
    from rich.padding import Padding
    from rich.text import Text

    names = [only] if only else sorted(reg.problems)
    doc = {}
    for name in names:
        cls = reg.problem_class(name)
        doc[name] = {preset: dict(values) for preset, values in cls.presets.items()}
    if json_out:
        print_json(doc)
        return
    for name, presets in doc.items():
        console.rule(f"[bold]{name}[/]", align="left")
        if not presets:
            console.print("  no presets")
        for preset, values in presets.items():
            per_arch = values.pop("archs", {})
            console.print(f"  [bold]{preset}[/]")
            items = [f"{k}={_fmt(v)}" for k, v in values.items()]
            console.print(Padding(Text("  ".join(items)), (0, 0, 0, 4)))
            for arch, extra in per_arch.items():
                console.print(Padding(Text(f"with --arch {arch}: " + "  ".join(
                    f"{k}={_fmt(v)}" for k, v in extra.items())), (0, 0, 0, 4)))
            for arch_name, arch in sorted(reg.archs.items()):  # recipes architectures bring
                extra = arch.preset(name, preset)
                if extra:
                    console.print(Padding(Text(f"with --arch {arch_name} (its own recipe): " +
                                               "  ".join(f"{k}={_fmt(v)}" for k, v in extra.items())),
                                          (0, 0, 0, 4)))
    console.print("[dim]dt train PROBLEM --arch ARCH --preset NAME --dry-run shows the resolved "
                  "settings[/]")


def _fmt(value) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)
