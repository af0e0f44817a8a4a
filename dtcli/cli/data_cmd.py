"""``dt data``: generate, look at, and account for cached data sets."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.table import Table

from dtcli.cli.common import OPTION_HELP, complete_problem, console, print_json, problem_with_options
from dtcli.contracts.errors import DtError
from dtcli.contracts.instances import dataset_instance, draw

data_app = typer.Typer(help="Generate, show, import, fetch and inspect problem data.",
                       no_args_is_help=True)


@contextmanager
def counting_bar(description: str, total: int | None) -> Iterator:
    """A Rich progress bar on stderr driven by ``progress(done, total)`` calls (a plain line
    every ~10 s when stderr is not a terminal)."""
    from dtcli.cli.common import err_console
    from dtcli.cli.progress import PlainLines, make_progress

    if not err_console.is_terminal:
        plain = PlainLines(err_console)

        def report(done: int, total: int | None = total) -> None:
            plain.report(f"{description}: {done}/{total or '?'}", done / total if total else 0.0)

        yield report
        return
    bar = make_progress(err_console)
    task = bar.add_task(description, total=total, status="")
    with bar:
        yield lambda done, total=total: bar.update(task, completed=done, total=total)


@data_app.command("generate")
def generate(
    problem: str = typer.Argument(..., help="Problem name.", autocompletion=complete_problem),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty (default: training difficulty)."),
    count: int = typer.Option(1000, "--count", "-n", help="Instances to generate."),
    seed: int = typer.Option(0, help="Generator seed."),
    split: str = typer.Option("train", help="Seed stream: train or test (as training and dt test use them)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write inputs/targets to this .safetensors file."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Generate a data set (deterministic by seed) into the cache, optionally also to a file.

    Problems whose data are files (chess puzzles) generate more of those instead; see the
    problem's help in `dt list problems -v`.
    """
    from dtcli.contracts.datacache import cache_path
    from dtcli.contracts.paths import atomic_write

    p = problem_with_options(problem, option)
    if count <= 0:
        raise DtError(f"--count must be positive, got {count}")
    with counting_bar(f"generating {p.name}", count) as progress:
        summary = p.generate_files(count, seed, out, progress)
    if summary is not None:
        if json_out:
            print_json(summary)
        else:
            for key, value in summary.items():
                console.print(f"{key:>12}: {value}")
        return
    d = p.parse_difficulty(difficulty or p.default_train_difficulty)
    if split not in ("train", "test"):
        raise DtError(f"--split must be train or test, got {split!r}")
    t0 = time.perf_counter()
    x, y = p.dataset(split, d, count, seed)
    seconds = time.perf_counter() - t0
    info = {"problem": p.name, "difficulty": d, "count": len(x), "seed": seed, "split": split,
            "inputs": list(x.shape), "targets": list(y.shape), "seconds": round(seconds, 3),
            "cache": str(cache_path(p.name, p.data_fields(split, d, count, seed)))}
    if out is not None:
        from safetensors.torch import save_file

        tensors = {"inputs": x.contiguous(), "targets": y.contiguous()}
        atomic_write(out, lambda tmp: save_file(tensors, str(tmp)))
        info["out"] = str(out)
    if json_out:
        print_json(info)
        return
    console.print(f"{info['count']} × {p.describe_difficulty(d)} in {seconds:.2f}s  "
                  f"inputs {tuple(x.shape)}  targets {tuple(y.shape)}")
    console.print(f"cached at {info['cache']}" + (f"; written to {out}" if out else ""))


@data_app.command("show")
def show(
    problem: str = typer.Argument(..., help="Problem name.", autocompletion=complete_problem),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d"),
    count: int = typer.Option(3, "--count", "-n", help="Instances to draw."),
    seed: int = typer.Option(0, help="Generator seed."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
) -> None:
    """Draw a few instances with their answers in the terminal."""
    p = problem_with_options(problem, option)
    d = p.parse_difficulty(difficulty or p.default_train_difficulty)
    if count <= 0:
        raise DtError(f"--count must be positive, got {count}")
    x, _ = p.dataset("train", d, count, seed)
    names = p.instance_names("train", d, count, seed) or [f"#{i}" for i in range(len(x))]
    for i in range(len(x)):
        inst = dataset_instance(p, "train", d, count, seed, i)
        console.rule(f"{p.name} {names[i]} ({p.describe_difficulty(d)})")
        console.print(draw(p, inst.inputs, None, inst.target, None, fit=(console.width, 16),
                           extras=inst.extras))


@data_app.command("fetch")
def fetch(
    name: str = typer.Argument(..., help="What to download, e.g. chess or cifar10 (see the problem's help)."),
    dest: Optional[Path] = typer.Option(None, "--dest", help="Directory to download into (default: dt's data directory)."),
) -> None:
    """Download a published data set (needs internet); checksums are verified."""
    from dtcli.contracts.paths import data_dir
    from dtcli.plugins import get_registry

    reg = get_registry()
    owners = [cls for cls in reg.problems.values() if name in cls.fetchable]
    if not owners:
        known = sorted(n for cls in reg.problems.values() for n in cls.fetchable)
        raise DtError(f"nothing called {name!r} to fetch; fetchable: {', '.join(known) or 'none'}")
    problem = owners[0]()
    target = dest or data_dir() / problem.name / "downloads"
    with counting_bar(f"downloading {name}", None) as progress:
        paths = problem.fetch(name, target, progress)
    for path in paths:
        console.print(f"fetched {path}")


@data_app.command("import")
def import_(
    problem: str = typer.Argument(..., help="Problem name.", autocompletion=complete_problem),
    path: Path = typer.Argument(..., help="Directory or file in the problem's published format."),
    name: Optional[str] = typer.Option(None, "--name", help="Name to store it under (default: the directory name)."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Import a data set you already have (e.g. easy-to-hard-data's inputs.npy/solutions.npy)."""
    import re

    from dtcli.contracts.datacache import save_imported

    p = problem_with_options(problem, option)
    if not path.exists():
        raise DtError(f"{path} does not exist")
    name = name or path.resolve().name
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise DtError(f"--name {name!r} may only hold letters, digits, '.', '_' and '-'")
    t0 = time.perf_counter()
    x, y, difficulty = p.import_data(path)
    fields = {"problem": p.name, "difficulty": difficulty, "count": len(x),
              "options": p.option_values, "from": str(path.resolve())}
    stored = save_imported(p.name, name, {"inputs": x, "targets": y}, fields)
    info = {"name": name, "problem": p.name, "difficulty": difficulty, "count": len(x),
            "inputs": list(x.shape), "stored": str(stored), "seconds": round(time.perf_counter() - t0, 2)}
    if json_out:
        print_json(info)
        return
    console.print(f"imported {len(x)} instances ({p.describe_difficulty(difficulty)}) as {name!r} "
                  f"→ {stored}\nuse them with -o source={name}")


@data_app.command("info")
def info(
    problem: Optional[str] = typer.Argument(None, help="Only this problem."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """What is in the data cache, and how big it is."""
    from dtcli.contracts.datacache import list_entries
    from dtcli.contracts.paths import data_dir

    if problem:
        problem_with_options(problem, None)  # a clear error for an unknown name
    entries = list_entries(problem)
    rows = [{"problem": e.problem, "split": e.fields.get("split"),
             "difficulty": e.fields.get("difficulty"), "count": e.fields.get("count"),
             "seed": e.fields.get("seed"), "options": e.fields.get("options"),
             "bytes": e.size_bytes, "path": str(e.path)} for e in entries]
    if json_out:
        print_json({"cache": str(data_dir()), "entries": rows})
        return
    table = Table(title=f"data cache: {data_dir()}")
    for col in ("problem", "split", "difficulty", "count", "seed", "options", "size"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["problem"], str(r["split"]), str(r["difficulty"]), str(r["count"]),
                      str(r["seed"]), str(r["options"] or ""), f"{r['bytes'] / 1e6:.2f} MB")
    console.print(table)
    total = sum(r["bytes"] for r in rows)
    console.print(f"{len(rows)} data sets, {total / 1e6:.1f} MB")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
