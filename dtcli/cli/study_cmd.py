"""``dt study depth``: recurrent vs feed-forward nets at equal effective depth."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from dtcli.cli.common import OPTION_HELP, complete_problem, console, err_console, parse_option_pairs, print_json
from dtcli.cli.plot import line_plot
from dtcli.cli.setting_options import with_settings
from dtcli.cli.study_progress import StudyProgress

study_app = typer.Typer(help="Studies that train many runs and compare them.",
                        no_args_is_help=True)


def fmt_acc(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    se = row["test_acc_se"]
    return f"{row['test_acc_mean']:.1f} ± {se:.1f}" if se is not None else f"{row['test_acc_mean']:.1f}"


def results_table(doc: dict[str, Any]) -> Table:
    study = doc["study"]
    rows = {(r["arch"], r["depth"]): r for r in doc["summary"]}
    table = Table(title=f"{study['problem']}: {study['family']} family, test accuracy % "
                        f"(mean ± standard error over {len(study['seeds'])} seeds)")
    table.add_column("effective depth", justify="right")
    for arch in study["members"]:
        table.add_column(f"{arch} %", justify="right")
        table.add_column(f"{arch} params", justify="right", style="dim")
    for depth in study["depths"]:
        cells = []
        for arch in study["members"]:
            r = rows.get((arch, depth))
            cells += [fmt_acc(r), f"{r['parameters']:,}" if r else "-"]
        iters = {r["iterations"] for (a, d), r in rows.items() if d == depth}
        label = f"{depth}" + (f" ({iters.pop()} it.)" if len(iters) == 1 else "")
        table.add_row(label, *cells)
    return table


def results_plot(doc: dict[str, Any], width: int):
    study = doc["study"]
    series = {}
    for arch in study["members"]:
        rows = sorted((r for r in doc["summary"] if r["arch"] == arch), key=lambda r: r["depth"])
        series[arch] = ([r["depth"] for r in rows], [r["test_acc_mean"] for r in rows])
    values = [v for _, ys in series.values() for v in ys]
    pad = max(1.0, 0.1 * (max(values) - min(values))) if values else 1.0
    ylim = (max(0.0, min(values) - pad), min(100.0, max(values) + pad)) if values else None
    return line_plot(series, title="test accuracy vs effective depth", xlabel="effective depth",
                     ylabel="%", width=width, height=16, ylim=ylim)


#: the training settings a depth study takes, declared with every other setting
STUDY_SETTINGS = ("epochs", "width", "lr", "batch_size", "alpha", "train_count", "test_count",
                  "train_difficulty", "device", "threads")


def depth_figure(doc: dict[str, Any], path: Path) -> Path:
    """Accuracy vs effective depth, one curve per architecture, error bars over seeds."""
    from dtcli.cli.curve_figures import PlotSeries, depth_plot

    curves = []
    for arch in doc["study"]["members"]:
        rows = sorted((r for r in doc["summary"] if r["arch"] == arch), key=lambda r: r["depth"])
        curves.append(PlotSeries(arch, [r["depth"] for r in rows], [r["test_acc_mean"] for r in rows],
                            err=[r.get("test_acc_se") or 0.0 for r in rows]))
    return depth_plot(curves, path, title=f"{doc['study']['problem']}: test accuracy")


@study_app.command("depth")
@with_settings(STUDY_SETTINGS)
def depth(
    problem: str = typer.Argument(..., help="Problem, e.g. images or mazes.", autocompletion=complete_problem),
    family: str = typer.Option(..., "--family", "-f",
                               help="Architecture family: mlp, convnet, resnet, resnet-bn, dt, dt-recall."),
    depths: Optional[str] = typer.Option(None, "--depths", "-d",
                                         help="Effective depths, e.g. 7,11,15,19 (default: the family's own)."),
    seeds: str = typer.Option("3", "--seeds", "-s", help="Seeds per (architecture, depth): a count (3 = 0,1,2) or a list."),
    arch: Optional[list[str]] = typer.Option(None, "--arch", "-a", help="Only these members of the family (repeatable)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="quick (CPU minutes) or paper. Default: quick on CPU, paper on GPU."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Study directory (default studies/<problem>-<family>-depth); re-running resumes it."),
    test_difficulty: Optional[str] = typer.Option(None, "--test-difficulty", help="Default: the training difficulty."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON (progress goes to stderr)."),
    analyze: bool = typer.Option(False, "--analyze", help="Then run linear probes and CKA on each recurrent / feed-forward pair (analysis.json)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write accuracy vs effective depth (mean ± s.e. over seeds) to FILE.png, .svg or .pdf."),
    settings: dict = None,
) -> None:
    """Train each recurrent and feed-forward member of a family at each effective depth and seed,
    then compare: `dt study depth images --family resnet --depths 7,11,15,19 --seeds 3`.

    Prints mean ± standard error test accuracy and parameter counts, plots accuracy against
    effective depth, and writes results.json, results.csv and runs.csv to the study directory.
    Finished runs are skipped and interrupted ones resumed, so re-running continues a study.
    (--alpha defaults to 0 here: a plain loss, as the paper.)
    """
    from dtcli.experiments.depth import plan_study, run_study
    from dtcli.experiments.stats import parse_int_list, parse_seeds

    overrides = dict(settings or {})
    if test_difficulty:
        overrides["test_difficulties"] = [test_difficulty]
    if plot is not None:
        from dtcli.cli.curve_figures import check_figure_path

        check_figure_path(plot)
    plan = plan_study(problem, family,
                      depths=parse_int_list(depths, "--depths") if depths else None,
                      seeds=parse_seeds(seeds),
                      out=out or Path("studies") / f"{problem}-{family}-depth", preset=preset,
                      problem_options=parse_option_pairs(option), overrides=overrides,
                      archs=list(arch) if arch else None)
    view = StudyProgress(err_console if json_out else console)
    try:
        doc = run_study(plan, listener=view)
    except KeyboardInterrupt:
        view.stop()
        err_console.print(f"interrupted: run the same command again to resume ({plan.out})")
        raise
    view.stop()
    analysis = run_analysis(plan, doc, err_console if json_out else console) if analyze else None
    figure = depth_figure(doc, plot) if plot is not None and doc["summary"] else None
    if json_out:
        print_json({**doc, "analysis": analysis} if analysis else doc)
        return
    if not doc["summary"]:
        console.print("no finished runs yet")
        return
    console.print(results_table(doc))
    console.print(results_plot(doc, min(console.width, 100)))
    if figure is not None:
        console.print(f"figure written to {figure}")
    if analysis:
        show_analysis(analysis)
    state = "complete" if doc["complete"] else "incomplete (run the same command to continue)"
    console.print(f"study {state}: {plan.out / 'results.json'}, results.csv, runs.csv"
                  + (", analysis.json" if analysis else ""))


def run_analysis(plan, doc: dict[str, Any], out_console) -> dict[str, Any] | None:
    """`--analyze`: probes and CKA on every recurrent / feed-forward pair, with a bar."""
    from dtcli.cli.progress import make_progress
    from dtcli.experiments.depth_analysis import analyze_study

    if not doc["runs"]:
        return None
    progress = make_progress(out_console)
    task = progress.add_task("analysis (probes, CKA)", total=None, status="")
    with progress:
        def on_pair(index: int, total: int, pair: dict[str, Any]) -> None:
            progress.update(task, completed=index, total=total,
                            status=f"depth {pair['depth']} seed {pair['seed']}")
        return analyze_study(plan, doc, on_pair=on_pair)


def show_analysis(analysis: dict[str, Any]) -> None:
    """Per pair, the probes in the paper's layout; then one CKA line per pair."""
    from dtcli.analysis.probes import ProbeResult
    from dtcli.cli.analyze_views import probes_view

    cka = Table(title="linear CKA, recurrent iteration vs feed-forward block of the same "
                      "effective depth (is it the highest in its row?)")
    for col in ("depth", "seed", "CKA at equal depth, per iteration", "highest in row",
                "mean of the other entries"):
        cka.add_column(col, justify="right")
    for pair in analysis["pairs"]:
        results = [ProbeResult.from_dict(p) for p in pair["probes"]]
        console.print(probes_view(results, console, plot=False))
        same = pair["cka"]["same_depth"]
        matrix = pair["cka"]["matrix"]
        cells = {(s["iteration_a"] - 1, s["iteration_b"] - 1) for s in same}
        others = [v for r, row in enumerate(matrix) for c, v in enumerate(row) if (r, c) not in cells]
        cka.add_row(str(pair["depth"]), str(pair["seed"]),
                    " ".join(f"{s['cka']:.3f}" for s in same),
                    f"{sum(s['highest_in_row'] for s in same)}/{len(same)}",
                    f"{sum(others) / len(others):.3f}" if others else "-")
    console.print(cka)


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
