"""``dt zoo``: the pretrained models that ship with dt, and the proof of what they claim."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from dtcli.cli.common import console, err_console, print_json
from dtcli.contracts.errors import DtError


def complete_model(incomplete: str) -> list[str]:
    """Shell completion of a MODEL: zoo names, then folders (run directories)."""
    import glob

    from dtcli import zoo

    try:
        names = [n for n in zoo.index() if n.startswith(incomplete)]
    except DtError:
        names = []
    folders = [p + "/" for p in sorted(glob.glob(glob.escape(incomplete) + "*"))
               if Path(p).is_dir()]
    return names + folders


def complete_zoo_name(incomplete: str) -> list[str]:
    """Shell completion of a zoo name."""
    from dtcli import zoo

    try:
        return [n for n in zoo.index() if n.startswith(incomplete)]
    except DtError:
        return []


zoo_app = typer.Typer(help="Pretrained models: list, show, re-test, add.", no_args_is_help=True)


@zoo_app.command("list")
def list_(json_out: bool = typer.Option(False, "--json")) -> None:
    """The zoo's models. Use a name wherever a MODEL is asked for: `dt solve mazes-dt-recall`."""
    from dtcli import zoo

    models = zoo.index()
    if json_out:
        print_json(models)
        return
    n = len(models)
    table = Table(title=f"model zoo: {n} model{'s' if n != 1 else ''}",
                  caption="`dt zoo show NAME`: a model's card, its summary in full")
    # at a narrow width the problem column goes first (a zoo name starts with its problem)
    cols = [("name", None), ("arch", "arch")] if console.width < 100 else \
        [("name", None), ("problem", "problem"), ("arch", "arch")]
    used = 1  # the table's left border
    for col, key in cols:
        widest = max([len(col), *(len(name if key is None else m[key])
                                  for name, m in models.items())])
        table.add_column(col, no_wrap=True, min_width=widest)  # typed back: never cut them
        used += widest + 3
    table.add_column("params", justify="right", no_wrap=True)
    used += 9 + 3
    # one line a model at any width: the summary is cut to what is left, never wrapped
    table.add_column("summary", no_wrap=True, overflow="ellipsis",
                     max_width=max(8, console.width - used - 3))
    for name, m in models.items():
        cells = [name, *(m[key] for _, key in cols[1:])]
        table.add_row(*cells, f"{m['parameters']:,}", m.get("summary", ""))
    console.print(table)
    if not models:
        console.print("the zoo is empty")


@zoo_app.command("show")
def show(name: str = typer.Argument(..., help="Zoo model name.",
                                       autocompletion=complete_zoo_name),
         json_out: bool = typer.Option(False, "--json"),
         plot: Optional[Path] = typer.Option(None, "--plot", metavar="FILE",
                                             help="Also draw the card's accuracy curves (one "
                                                  "per difficulty) to FILE: .png, .svg or .pdf.")
         ) -> None:
    """A model's card: how it was trained, and its extrapolation table and curves."""
    from dtcli import zoo
    from dtcli.cli.plot import line_plot

    doc = zoo.card(name)
    if plot is not None:
        err_console.print(f"wrote {plot_card(doc, name, plot)}")
    if json_out:
        print_json(doc)
        return
    t, info = doc["train"], doc.get("training", {})
    console.print(f"[bold]{name}[/]: {doc.get('summary', '')}")
    options = " ".join(f"{k}={v}" for k, v in doc.get("problem_options", {}).items())
    console.print(f"  problem {doc['problem']} ({options or 'no options'})   arch {doc['arch']}   "
                  f"parameters {doc['model']['parameters']:,}   effective depth at max_iters "
                  f"{doc['model']['effective_depth']}")
    trained = train_difficulty(doc)
    ran = info.get("epochs", t["epochs"])
    epochs = f"{t['epochs']} epochs" if ran == t["epochs"] else f"{ran} of {t['epochs']} epochs"
    console.print(f"  trained on {t['problem']} difficulty {trained} with max_iters "
                  f"{t['max_iters']}, width {t['width']}, alpha {t['alpha']}, {t['optimizer']} lr "
                  f"{t['lr']}, batch {t['batch_size']}, {epochs}, "
                  + ("all its instances" if t['train_count'] >= 10**9 else
                     f"{t['train_count']:,} instances"))
    if info:
        console.print(f"  command: {info.get('command')}")
        console.print(f"  training time {info.get('seconds', 0) / 60:.1f} min on "
                      f"{hardware_line(info.get('hardware'))}")
        if info.get("note"):
            console.print(f"  note: {info['note']}")
    console.print(f"  sha256 {doc['sha256']}")
    ext = doc.get("extrapolation")
    if ext is None:
        console.print("  (this card has no extrapolation table)")
        return
    show_table(ext, None, verify_name_of(doc["problem"]))
    series = {f"{r['difficulty']}": (r["curve"]["iters"], r["curve"]["accuracy"])
              for r in ext["results"] if r.get("curve")}
    if series:
        console.print(line_plot(series, title=f"accuracy vs iterations (mode {ext['mode']})",
                                xlabel="iteration", ylabel="%", ylim=(0, 100),
                                width=min(console.width, 100)))


def plot_card(doc: dict, name: str, path: Path) -> Path:
    """The schoop plot of a card: a curve per tested difficulty, max_iters marked."""
    from dtcli.cli.curve_figures import PlotSeries, check_figure_path, schoop_plot
    from dtcli.plugins import get_registry

    check_figure_path(path)
    ext = doc.get("extrapolation") or {}
    rows = [r for r in ext.get("results", []) if r.get("curve")]
    if not rows:
        raise DtError(f"zoo model {name!r} has no accuracy curves on its card to plot")
    cls = get_registry().problems.get(doc["problem"])
    problem = cls(**doc.get("problem_options", {})) if cls is not None else None

    def describe(d) -> str:
        return problem.describe_difficulty(problem.parse_difficulty(d)) if problem else str(d)

    t = doc["train"]
    curves = [PlotSeries(f"test {describe(r['difficulty'])}", r["curve"]["iters"],
                    r["curve"]["accuracy"], max_iters=t["max_iters"],
                    train=describe(train_difficulty(doc))) for r in rows]
    counts = sorted({r["curve"]["count"] for r in rows})
    n = f"{counts[0]:,}" if len(counts) == 1 else f"{counts[0]:,}-{counts[-1]:,}"
    return schoop_plot(curves, path, title=f"{name}, mode {ext['mode']}, {n} instances")


def hardware_line(hw) -> str:
    """A run's hardware record as a phrase ("cpu x86_64, 2 cores, 1 thread, torch 2.13.0")."""
    if not isinstance(hw, dict):
        return str(hw or "unknown hardware")
    threads = hw.get("threads")
    parts = [f"{hw.get('device', '?')} {hw.get('name', '')}".strip()]
    if hw.get("cores"):
        parts.append(f"{hw['cores']} cores")
    if threads:
        parts.append(f"{threads} thread{'s' if threads != 1 else ''}")
    if hw.get("processes", 1) > 1:
        parts.append(f"{hw['processes']} processes")
    if hw.get("torch"):
        parts.append(f"torch {hw['torch']}")
    return ", ".join(parts)


def train_difficulty(doc: dict) -> str:
    """The difficulty a card's model was trained on (its problem's default when unset)."""
    if doc["train"].get("train_difficulty") is not None:
        return str(doc["train"]["train_difficulty"])
    from dtcli.plugins import get_registry

    problem = get_registry().problems.get(doc["problem"])
    return str(problem.default_train_difficulty) if problem is not None else "default"


def claim_label(claim: dict, verify_name: str = "verified") -> str:
    """How a card claim reads in a table: its difficulty, and where it applies to a part of
    the set or to another check, which (a rating band, a legal move)."""
    text = str(claim["difficulty"]) + (" (curve)" if claim["kind"] == "curve" else "")
    if claim.get("band") is not None:
        text += f" · {claim['band']}"
    if claim.get("metric") == "verified":
        text += f" · {verify_name}"
    return text


def show_table(ext: dict, measured: list[dict] | None, verify_name: str = "verified") -> bool:
    """The card's claims (and measured figures beside them); True when every one agrees
    with its card figure given both counts (:func:`dtcli.zoo.agrees`)."""
    from dtcli.zoo import agrees, allowed_range, claims

    title = f"extrapolation: seed {ext['seed']}, mode {ext['mode']}"
    table = Table(title=title)
    table.add_column("difficulty")
    # figures are never cut, not even in an 80-column log file; only the label may wrap
    figures = ["count", "iteration", "card %"]
    if measured is not None:
        figures += ["measured %", "Δ", "allowed"]
    for name in figures:
        table.add_column(name, justify="right", no_wrap=True)
    ok = True
    rows = claims(ext)
    for k, row in enumerate(rows):
        for j, it in enumerate(row["iters"]):
            cells = [claim_label(row, verify_name), str(row["count"]), str(it),
                     f"{row['accuracy'][j]:.1f}"]
            if measured is not None:
                m = measured[k]
                got = m["accuracy"][j]
                delta = got - row["accuracy"][j]
                good = m["count"] > 0 and agrees(row["accuracy"][j], row["count"], got,
                                                  m["count"])
                lo, hi = allowed_range(row["accuracy"][j], row["count"], max(m["count"], 1))
                ok &= good
                cells += [f"{got:.1f}" if m["count"] else "none",
                          f"[{'green' if good else 'red'}]{delta:+.1f}[/]", f"{lo:.1f}–{hi:.1f}"]
            table.add_row(*cells)
    console.print(table)
    return ok


def verify_name_of(problem_name: str) -> str:
    """What a problem calls its second check (``verified``, chess: ``legal move``)."""
    from dtcli.plugins import get_registry

    cls = get_registry().problems.get(problem_name)
    return getattr(cls, "verify_name", "verified") if cls is not None else "verified"


@zoo_app.command("test")
def test(name: str = typer.Argument(..., help="Zoo model name.",
                                       autocompletion=complete_zoo_name),
         count: Optional[int] = typer.Option(None, "--count", "-n", help="Instances per row (default: the card's)."),
         seed: Optional[int] = typer.Option(None, help="Data seed (default: a fresh one, card seed + 1)."),
         device: str = typer.Option("auto"),
         json_out: bool = typer.Option(False, "--json")) -> None:
    """Re-measure every figure on a card on fresh data, side by side: its table rows and its
    curves (at the table's iterations and at their best). A figure passes when it is within 3
    standard errors of the card's, given both counts (a two-sample binomial test: wide for 50
    mazes, narrow for 1,000); the 'allowed' column shows the range it accepts."""
    from dtcli import zoo
    from dtcli.cli.progress import extrapolation_bar
    from dtcli.engine.device import configure_threads, resolve_device
    from dtcli.engine.model import load_model
    from dtcli.experiments import zoo_card

    configure_threads()
    doc = zoo.card(name)
    ext = doc.get("extrapolation")
    if ext is None:
        raise DtError(f"zoo model {name!r} has no extrapolation table on its card to re-measure")
    seed = ext["seed"] + 1 if seed is None else seed
    if count is not None and count <= 0:
        raise DtError(f"--count must be positive, got {count}")
    loaded = load_model(name, device=resolve_device(device))
    claims = zoo.claims(ext)
    measured: list[dict | None] = [None] * len(claims)
    for k, row in enumerate(ext["results"]):  # one pass per card row answers all its claims
        mine = [j for j, c in enumerate(claims) if c["row"] == k]
        if not mine:
            continue
        iters = sorted({i for j in mine for i in claims[j]["iters"]})
        n = count or claims[mine[0]]["count"]
        verified = any(claims[j]["metric"] == "verified" for j in mine)
        label = f"{name}: {loaded.problem.describe_difficulty(row['difficulty'])}, {n} instances"
        with extrapolation_bar(err_console, label, n) as on_batch:
            got = zoo_card.measure(loaded, row["difficulty"], iters, n, seed, ext["mode"],
                                    verified=verified, on_batch=on_batch, on_step=on_batch.step)
        for j in mine:
            measured[j] = zoo_card.pick(got, claims[j])
    if json_out:
        print_json({"name": name, "seed": seed, "card": claims, "measured": measured})
        return
    console.print(f"measured on fresh data: seed {seed}")
    ok = show_table(ext, measured, verify_name_of(doc["problem"]))
    console.print("[bold green]every figure reproduced within its tolerance[/]" if ok else
                  "[bold red]some figures differ by more than their tolerance[/]")
    if not ok:
        raise typer.Exit(1)


@zoo_app.command("add")
def add(run: Path = typer.Argument(..., help="Run directory to add."),
        name: str = typer.Option(..., "--name", help="Zoo name, e.g. mazes-dt-recall."),
        difficulty: list[str] = typer.Option(..., "--difficulty", "-d",
                                             help="Difficulty for the card's table, D, D@COUNT or "
                                                  "D@COUNT/ITERS (its own iterations, e.g. "
                                                  "201@5/1000,3000: big sizes cost more per "
                                                  "iteration) (repeatable)."),
        iters: str = typer.Option("30,60,100,200,500", "--iters", help="Iterations in the card's table."),
        curve: int = typer.Option(500, "--curve", help="Record the full curve up to this iteration (0: none)."),
        curve_only: list[str] = typer.Option([], "--curve-only",
                                             help="Difficulty shown on the curve only, D or D@COUNT "
                                                  "(repeatable): for sizes too costly to count "
                                                  "many instances; `dt zoo test` still checks "
                                                  "the curve at the table's iterations."),
        count: int = typer.Option(1000, "--count", "-n", help="Instances behind each table row (D@COUNT overrides)."),
        seed: int = typer.Option(1000, help="Test-data seed recorded on the card."),
        mode: str = typer.Option("fixed", help="fixed or max-conf."),
        verified: bool = typer.Option(False, "--verified",
                                      help="Also record the problem's second check at the "
                                           "table's iterations (chess: a legal move)."),
        summary: str = typer.Option("", help="One line for `dt zoo list`."),
        note: str = typer.Option("", help="Anything a reader must know about the training "
                                          "(e.g. stopped early), shown by `dt zoo show`."),
        replace: bool = typer.Option(False, "--replace",
                                     help="Overwrite the card and weights of the zoo model "
                                          "already named --name (refused without it)."),
        option: Optional[list[str]] = typer.Option(
            None, "-o", "--option",
            help="Problem option NAME=VALUE (repeatable) the card is measured with, and that "
                 "everyone who loads the model gets: e.g. source=bundled for a chess run trained "
                 "on a local puzzle file, so the card is re-measured on puzzles every dt ships."),
        device: str = typer.Option("auto")) -> None:
    """(Maintainers) Turn a run into a zoo entry: copy weights, measure the card's table."""
    from dtcli import runs, zoo
    from dtcli.cli.progress import extrapolation_bar
    from dtcli.engine.device import configure_threads, resolve_device
    from dtcli.engine.extrapolate import parse_iters
    from dtcli.engine.model import load_model
    from dtcli.experiments import zoo_card

    configure_threads()
    if not zoo.NAME.match(name):
        raise DtError(f"--name {name!r} may only hold letters, digits, '-' and '_'")
    zoo.check_new_name(name, replace)  # before minutes of measuring, not after
    loaded = load_model(run, device=resolve_device(device))
    if option:
        from dtcli.cli.common import parse_option_pairs
        from dtcli.plugins import get_registry

        loaded.problem = get_registry().reopen(loaded.problem, parse_option_pairs(option))
    table_iters = parse_iters(iters)
    results = []
    if curve_only and not curve:
        raise DtError("--curve-only needs a curve: give --curve N (N > 0)")
    rows = [(spec, table_iters) for spec in difficulty] + [(spec, []) for spec in curve_only]
    for spec, row_iters in rows:
        text, _, rest = spec.partition("@")
        n, _, own = rest.partition("/")
        if own:
            row_iters = parse_iters(own) if row_iters else row_iters
        d = loaded.problem.parse_difficulty(text)
        try:
            n = int(n) if n else count
        except ValueError:
            raise DtError(f"{spec!r}: the count after @ must be a whole number") from None
        label = f"{name}: {loaded.problem.describe_difficulty(d)}"
        with extrapolation_bar(err_console, label, n) as on_batch:
            results.append(zoo_card.measure(loaded, d, row_iters, n, seed, mode, curve=curve,
                                             verified=verified, on_batch=on_batch,
                                             on_step=on_batch.step))
    history = runs.read_metrics(run)
    doc = runs.read_run_config(run)
    training = {"command": doc.get("info", {}).get("command"),
                "hardware": doc.get("info", {}).get("hardware"),
                "seconds": round(sum(r.get("seconds", 0) for r in history), 1),
                "epochs": len(history), "best_val_acc": max((r.get("val_acc") or 0 for r in history), default=None),
                "dt_version": doc.get("dt_version")}
    if note:
        training["note"] = note
    dest = zoo.add(run, name, card_fields={
        "summary": summary, "training": training,
        "extrapolation": {"seed": seed, "count": count, "mode": mode,
                          "results": results}}, replace=replace,
        problem_options=dict(loaded.problem.option_values) if option else None)
    console.print(f"added {name} → {dest} ({dest.stat().st_size / 1e6:.2f} MB)")


def register(app: typer.Typer) -> None:
    app.add_typer(zoo_app, name="zoo")
