"""``dt study seeds``: the success rate of a recipe over seeds, per architecture."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich import box
from rich.table import Table

from dtcli.cli.common import OPTION_HELP, complete_problem, console, err_console, parse_option_pairs
from dtcli.cli.plot import line_plot
from dtcli.cli.setting_options import with_settings
from dtcli.cli.study_progress import SeedProgress, run_and_show
from dtcli.contracts.errors import DtError

#: the training settings a seeds study takes (the recipe every seed trains with)
SEED_SETTINGS = ("epochs", "width", "max_iters", "alpha", "nk_sampling", "lr", "batch_size",
                 "warmup_epochs", "train_count", "test_count", "test_iters", "train_difficulty",
                 "stop_at", "stop_patience", "device", "threads")


def seeds(
    problem: str = typer.Argument(..., help="Problem, e.g. prefix-sums or mazes.", autocompletion=complete_problem),
    arch: str = typer.Option(..., "--arch", "-a", help="Arms, comma-separated: architectures (dt-recall,dt-l), or LABEL=ARCH for an architecture trained another way (dt-recall-pi=dt-recall)."),
    arm_option: Optional[list[str]] = typer.Option(None, "--arm-option", help="ARM:NAME=VALUE (repeatable): an architecture option (dt-l:conv_norm=operator) or a training setting (dt-recall-pi:init_thought=mix) of one arm."),
    seeds_: str = typer.Option("5", "--seeds", "-s", help="A count (5 = 0..4) or a list of seeds (2,5,9; `4,` is seed 4 alone)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="quick or paper (default: quick on CPU)."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    test_difficulty: Optional[list[str]] = typer.Option(None, "--test-difficulty", help="Where the runs are tested (repeatable); success is judged on the first (default: the recipe's test difficulties)."),
    success_at: float = typer.Option(99.0, "--success-at", help="A run succeeds when its test accuracy reaches this (%)..."),
    max_iter: Optional[int] = typer.Option(None, "--max-iter", help="...at some iteration up to this (default: all it was tested on)."),
    min_train_acc: float = typer.Option(99.0, "--min-train-acc", help="The authors' filter, reported beside: runs whose final training accuracy reached this (%)."),
    dynamics: int = typer.Option(0, "--dynamics", help="Also measure each finished run's thinking on this many test instances: settled share, solve trace, Lipschitz estimate, AA score (0: not)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Study directory (default studies/<problem>-seeds); re-running resumes it."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also write each arm's test accuracy against iterations (mean ± s.e. over seeds) to FILE.png, .svg or .pdf."),
    json_out: bool = typer.Option(False, "--json"),
    settings: dict = None,
) -> None:
    """Train N seeds of one recipe per architecture and report how often it succeeds: the
    success rate, the distribution of peak accuracy, mean ± s.e., the authors' filter's
    effect, and every run's curve. Writes results.json and results.csv; resumable."""
    from dtcli.experiments.seeds import SeedPlan, run_seed_study
    from dtcli.experiments.stats import parse_seeds

    overrides = dict(settings or {})
    if test_difficulty:
        overrides["test_difficulties"] = list(test_difficulty)
    if max_iter is not None and max_iter < 1:
        raise DtError(f"--max-iter must be at least 1, got {max_iter}")
    archs, arms = [], {}
    for entry in (a.strip() for a in arch.split(",") if a.strip()):
        label, sep, name = entry.partition("=")
        archs.append(label.strip())
        if sep:
            arms[label.strip()] = name.strip()
    arm_options: dict[str, dict[str, str]] = {}
    for text in arm_option or []:
        label, sep, pair = text.partition(":")
        if not sep or "=" not in pair:
            raise DtError(f"--arm-option expects ARM:NAME=VALUE, got {text!r} "
                          "(example: --arm-option dt-l:conv_norm=operator)")
        arm_options.setdefault(label.strip(), {}).update(parse_option_pairs([pair]))
    plan = SeedPlan(problem=problem, archs=archs, seeds=parse_seeds(seeds_), arms=arms,
                    arm_options=arm_options,
                    out=out or Path("studies") / f"{problem}-seeds", preset=preset,
                    problem_options=parse_option_pairs(option), overrides=overrides,
                    success_at=success_at, max_iter=max_iter, min_train_acc=min_train_acc,
                    dynamics_count=dynamics)
    if plot is not None:
        from dtcli.cli.curve_figures import check_figure_path

        check_figure_path(plot)
    doc = run_and_show(SeedProgress(err_console if json_out else console), run_seed_study, plan,
                       json_out, show)
    if plot is not None and doc["runs"]:
        written = seeds_figure(doc, plot)
        (err_console if json_out else console).print(f"figure written to {written}",
                                                     soft_wrap=True)  # a path, whole


def seeds_figure(doc: dict[str, Any], path: Path) -> Path:
    """Each arm's test accuracy against iterations: the mean over its seeds, ± s.e. as a band,
    its success count in the legend."""
    from dtcli.cli.curve_figures import PlotSeries, schoop_plot
    from dtcli.experiments.stats import mean_se

    study = doc["study"]
    curves = []
    for row in doc["summary"]:
        rs = [r for r in doc["runs"] if r["arch"] == row["arch"]]
        iters = rs[0]["iters"]
        stats = [mean_se([r["accuracy"][k] for r in rs]) for k in range(len(iters))]
        curves.append(PlotSeries(f"{row['arch']} ({row['successes']}/{row['runs']} succeed)",
                                 iters, [m for m, _ in stats], err=[se or 0.0 for _, se in stats],
                                 max_iters=study["overrides"].get("max_iters"),
                                 test=str(rs[0]["difficulty"])))
    return schoop_plot(curves, path, title=f"{study['problem']}: mean ± s.e. over seeds")


def _mean_se(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "-"
    se = "" if cell["peak_se"] is None else f" ± {cell['peak_se']:.1f}"
    return f"{cell['peak_mean']:.1f}{se}"


def _dynamics_cells(r: dict[str, Any]) -> list[str]:
    f = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
    stayed = r.get("stayed_solved")
    return [f(r.get("aa_mean"), ".4f"), f(r.get("settled_mean"), ".1f"),
            f"{f(r.get('lipschitz_mean'), '.3f')} / {f(r.get('lipschitz_max'), '.3f')}",
            "-" if stayed is None else f"{100 * stayed:.0f}"]


def fit_columns(columns: list[str], rows: list[dict[str, str]], width: int,
                drop_first: list[str]) -> list[str]:
    """``columns`` less those in ``drop_first`` (in that order) until every row fits ``width``
    on one line (a column as wide as its widest header line or cell, two apart)."""
    def need(cols: list[str]) -> int:
        return sum(max([len(line) for line in c.split("\n")] + [len(r[c]) for r in rows]) + 2
                   for c in cols)

    kept = list(columns)
    for col in drop_first:
        if need(kept) <= width:
            break
        if col in kept:
            kept.remove(col)
    return kept


def show(doc: dict[str, Any]) -> None:
    """Two tables (how often the recipe succeeds; how the runs think, when measured), then
    every run's curve."""
    study = doc["study"]
    limit = f" by iteration {study['max_iter']}" if study["max_iter"] else ""
    where = f" on {doc['runs'][0]['difficulty']}" if doc["runs"] else ""
    also = list(doc["summary"][0].get("also", {})) if doc["summary"] else []
    compact = {"box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True}
    rows = []
    for r in doc["summary"]:
        se = "" if r["peak_se"] is None else f" ± {r['peak_se']:.1f}"
        train = r.get("train_mean")
        rows.append({
            "arch": r["arch"], "runs": str(r["runs"]),
            "success": f"{r['successes']}/{r['runs']} ({100 * r['success_rate']:.0f}%)",
            "peak %\nmin/med/max": f"{r['peak_min']:.1f}/{r['peak_median']:.1f}/{r['peak_max']:.1f}",
            "peak %\nmean ± s.e.": f"{r['peak_mean']:.1f}{se}",
            "train %\nmean": "-" if train is None else f"{train:.1f}",
            f"if train\n≥ {study['min_train_acc']:g}%": f"{r['filtered_successes']}/{r['filtered_runs']}",
            **{f"{d}: peak %\nmean ± s.e.": _mean_se(r["also"].get(d)) for d in also}})
    # the least telling columns give way first on a narrow terminal; a value is never cut
    columns = fit_columns(list(rows[0]) if rows else [], rows, console.width,
                          drop_first=["peak %\nmin/med/max", *(f"{d}: peak %\nmean ± s.e." for d in also)])
    table = Table(title=f"{study['problem']}: success = test accuracy{where} ≥ "
                        f"{study['success_at']:g}%{limit}", **compact)
    for col in columns:
        table.add_column(col, justify="left" if col == "arch" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(row[c] for c in columns))
    console.print(table)
    if any("aa_mean" in r for r in doc["summary"]):
        thinking = Table(title="how the runs think (means over runs, on the test difficulty)",
                         **compact)
        thinking.add_column("arch", no_wrap=True)
        for col in ["AA score", "settled %", "Lipschitz\nmean / max", "stayed\nsolved %"]:
            thinking.add_column(col, justify="right")
        for r in doc["summary"]:
            thinking.add_row(r["arch"], *_dynamics_cells(r))
        console.print(thinking)
    series = {f"{r['arch']} s{r['seed']}": (r["iters"], r["accuracy"]) for r in doc["runs"]}
    if series:
        console.print(line_plot(series, title="test accuracy vs iterations, every run",
                                xlabel="iteration", ylabel="%", ylim=(0, 100),
                                width=min(console.width, 100)))
    state = "complete" if doc["complete"] else "incomplete (run the same command to continue)"
    console.print(f"study {state}: {Path(study['out']) / 'results.json'}, results.csv",
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    """`dt study seeds`: a command of the study group (registered after it)."""
    from dtcli.cli.study_cmd import study_app

    study_app.command("seeds")(with_settings(SEED_SETTINGS)(seeds))
