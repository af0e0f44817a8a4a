"""``dt runs show RUN``: one run in full: what it is, its state, the settings that differ from
dt's defaults, its labels, and its curves (accuracy per epoch, accuracy per test iteration) as
terminal plots, or as a paper figure with ``--plot``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from dtcli.cli.common import console, print_json
from dtcli.contracts.errors import DtError


def complete_run(incomplete: str) -> list[str]:
    """Shell completion of a RUN: names under runs/, then folders."""
    import glob

    from dtcli import runs

    names = sorted(p.parent.name for p in runs.RUNS_ROOT.glob(f"{glob.escape(incomplete)}*/{runs.CONFIG}"))
    folders = [p + "/" for p in sorted(glob.glob(glob.escape(incomplete) + "*"))
               if Path(p).is_dir() and p not in names]
    return names + folders


def show_command(
    run: Path = typer.Argument(..., help="The run (its directory, or its name under runs/).", autocompletion=complete_run),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also write the training curves as a figure (.png, .svg or .pdf)."),
    json_out: bool = typer.Option(False, "--json", help="Print everything the run records as JSON (its row, settings, labels, every epoch, every test curve)."),
) -> None:
    """One run in full: `dt runs show runs/prefix-sums-dt-recall-...`. Its state and epochs,
    best validation, labels, command, the settings that differ from dt's defaults, and the
    curves: accuracy per epoch and accuracy per test iteration."""
    from dtcli import runs
    run_dir = find_run(run)
    if plot is not None:
        from dtcli.cli.curve_figures import check_figure_path

        check_figure_path(plot)
    row = runs.summarize(run_dir)
    if row["status"] == "damaged" and "problem" not in row:
        raise DtError(row["error"])
    doc = runs.read_run_config(run_dir)
    history = runs.read_metrics(run_dir) if row["status"] != "damaged" else []
    ext = (runs.read_extrapolation(run_dir) or {}) if row["status"] != "damaged" else {}
    if json_out:
        print_json({"row": row, "config": doc, "metrics": history, "extrapolation": ext})
    else:
        describe(run_dir, row, doc, history)
        show_curves(row, history, ext)
    if plot is not None:
        written = training_figure(row, history, plot)
        typer.echo(f"figure written to {written}", err=json_out)


def find_run(run: Path) -> Path:
    """A run directory from what the user typed: a path, or a run's name under runs/."""
    from dtcli import runs

    for candidate in (Path(run), runs.RUNS_ROOT / run):
        if (candidate / runs.CONFIG).is_file():
            return candidate
    raise DtError(f"no run {str(run)!r}: give its directory or its name under {runs.RUNS_ROOT}/ "
                  "(`dt runs` lists them)")


def changed_settings(train: dict[str, Any]) -> dict[str, Any]:
    """The run's settings whose value is not dt's own default (problem and arch aside)."""
    from dtcli.cli.setting_options import setting_defaults

    defaults = setting_defaults()
    return {k: v for k, v in train.items()
            if k in defaults and k not in ("problem", "arch") and v != defaults[k]}


class _Indented:
    """Prints each line indented by two, wrapped at the terminal's width under its indent."""

    def print(self, text: str, *, style: str | None = None, markup: bool = True,
              soft_wrap: bool = False) -> None:
        from rich.padding import Padding
        from rich.text import Text

        body = Text.from_markup(text.strip()) if markup else Text(text.strip())
        if style:
            body.stylize(style)
        if soft_wrap:  # a path or a command: whole on one line, so it can be copied
            console.print(Text("  ") + body, soft_wrap=True)
        else:
            console.print(Padding(body, (0, 0, 0, 2), expand=False))


def describe(run_dir: Path, row: dict[str, Any], doc: dict[str, Any],
             history: list[dict[str, Any]]) -> None:
    """The run's header lines: what, state, result, labels, command, settings."""
    where = "" if str(run_dir) == row["name"] else f"  {run_dir}"
    console.print(f"[bold]{row['name']}[/]{where}", soft_wrap=True)
    out = _Indented()
    colour = {"finished": "green", "running": "cyan", "failed": "red", "damaged": "red"}
    state = row["status"] + (f" ({row['reason']})" if row.get("reason") else "")
    seconds = sum(r.get("seconds") or 0 for r in history)
    out.print(f"[{colour.get(row['status'], 'yellow')}]{state}[/]: {row['epochs']} of "
              f"{row['planned']} epochs, {seconds / 60:.1f} min of training, last written "
              f"{row['when']}")
    if row["status"] == "damaged":
        out.print(f"{row['error']}", style="red", markup=False, soft_wrap=True)
    model = doc["model"]
    t = doc["train"]
    tests = ", ".join(map(str, t.get("test_difficulties") or [])) or "-"
    out.print(f"{row['problem']} · {row['arch']} · {model.get('parameters', 0):,} parameters"
              f" · effective depth {model.get('effective_depth')}")
    out.print(f"trained on {t.get('train_difficulty')} · tested on {tests}")
    if history:
        last = history[-1]
        best = max(history, key=lambda r: (r.get("val_acc") or 0.0, -r["epoch"]))
        position = last.get("train_position_acc")
        out.print(f"best validation {best.get('val_acc') or 0:.1f}% (epoch {best['epoch']})"
                  f" · final train {last['train_acc']:.1f}%"
                  + ("" if position is None else f" ({position:.1f}% of positions)")
                  + f" · loss {last['train_loss']:.4f}")
    peak = row.get("peak")
    if peak:
        out.print(f"test peak {peak['accuracy']:.1f}% at iteration {peak['iteration']} on "
                  f"{peak['difficulty']}")
    if row.get("tags") or row.get("note"):
        out.print(f"tags {', '.join(row.get('tags') or []) or '(none)'}", markup=False)
        if row.get("note"):
            out.print(f"note: {row['note']}", markup=False, soft_wrap=True)
    info = doc.get("info") or {}
    if info.get("command"):
        out.print(f"command  {info['command']}", markup=False, soft_wrap=True)
    if info.get("hardware"):
        hw = info["hardware"]
        out.print(f"hardware {hw if isinstance(hw, str) else ', '.join(f'{k} {v}' for k, v in hw.items())}",
                  markup=False)
    changed = changed_settings(doc["train"])
    if changed:
        out.print("settings not at dt's defaults: " + ", ".join(
            f"{k} {v}" for k, v in changed.items()), markup=False)


def show_curves(row: dict[str, Any], history: list[dict[str, Any]], ext: dict[str, Any]) -> None:
    """Accuracy per epoch, and accuracy per test iteration on every tested difficulty."""
    from dtcli.cli.plot import line_plot

    width = min(console.width, 100)
    if history:
        epochs = [r["epoch"] for r in history]
        series = {"train": (epochs, [r["train_acc"] for r in history])}
        vals = [(r["epoch"], r["val_acc"]) for r in history if r.get("val_acc") is not None]
        if vals:
            series["validation"] = tuple(map(list, zip(*vals)))  # type: ignore[assignment]
        pos = [(r["epoch"], r["train_position_acc"]) for r in history
               if r.get("train_position_acc") is not None]
        if pos:
            series["train, positions"] = tuple(map(list, zip(*pos)))  # type: ignore[assignment]
        console.print(line_plot(series, title="accuracy per epoch", xlabel="epoch",
                                ylabel="%", ylim=(0, 100), width=width, height=14))
    results = (ext or {}).get("results") or {}
    if results:
        curves = {f"{row['problem']} {d}": (r["iters"], r["fixed"]["accuracy"])
                  for d, r in results.items()}
        span = max(r["iters"][-1] for r in results.values())
        console.print(line_plot(curves, title="test accuracy per iteration", xlabel="iteration",
                                ylabel="%", ylim=(0, 100), width=width, height=14,
                                log_x=span >= 200))
    elif not history:
        console.print("  no epoch finished yet: no curves")


def training_figure(row: dict[str, Any], history: list[dict[str, Any]], path: Path) -> Path:
    """The training curves as a paper figure (accuracy per epoch)."""
    from dtcli.cli.curve_figures import PlotSeries, epoch_plot

    if not history:
        raise DtError(f"--plot: {row['name']} has no finished epoch to plot yet")
    epochs = [r["epoch"] for r in history]
    curves = [PlotSeries("train", epochs, [r["train_acc"] for r in history])]
    vals = [(r["epoch"], r["val_acc"]) for r in history if r.get("val_acc") is not None]
    if vals:
        curves.append(PlotSeries("validation", *map(list, zip(*vals))))
    pos = [(r["epoch"], r["train_position_acc"]) for r in history
           if r.get("train_position_acc") is not None]
    if pos:
        curves.append(PlotSeries("train, per position", *map(list, zip(*pos))))
    return epoch_plot(curves, path, title=f"{row['problem']} {row['arch']} (width {row['width']})")
