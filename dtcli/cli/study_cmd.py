"""``dt study depth``: recurrent vs feed-forward nets at equal effective depth."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from dtcli.cli.common import OPTION_HELP, console, err_console, parse_option_pairs, print_json
from dtcli.cli.plot import line_plot

study_app = typer.Typer(help="Studies that train many runs and compare them.",
                        no_args_is_help=True)


class StudyProgress:
    """A bar over the study's runs and one over the current run's epoch."""

    def __init__(self, out_console) -> None:
        from dtcli.cli.progress import make_progress

        self.console = out_console
        self.progress = make_progress(out_console)
        self.overall = None
        self.current = None

    # StudyListener ------------------------------------------------------------------------
    def on_study_start(self, plan, specs) -> None:
        self.console.print(
            f"[bold]depth study[/] {plan.problem} / family {plan.family} "
            f"({', '.join(plan.members)}), depths {', '.join(map(str, plan.depths))}, "
            f"seeds {', '.join(map(str, plan.seeds))}: {len(specs)} runs → {plan.out}")
        self.progress.start()
        self.overall = self.progress.add_task("study", total=len(specs), status="")

    def on_run_start(self, index, total, spec, state) -> None:
        verb = {"done": "done", "resume": "resuming", "new": "training"}[state]
        self.progress.update(self.overall, completed=index - 1,
                             status=f"{verb} {spec.key} ({spec.iterations} it.)")

    def engine_listener(self, spec):
        from dtcli.engine.events import Listener

        outer = self

        class RunBar(Listener):
            def on_epoch_start(self, epoch, epochs, steps):
                if outer.current is not None:
                    outer.progress.remove_task(outer.current)
                outer.current = outer.progress.add_task(f"  epoch {epoch}/{epochs}", total=steps,
                                                        status="")

            def on_batch(self, epoch, step, steps, loss):
                outer.progress.update(outer.current, completed=step, status=f"loss {loss:.4f}")

            def on_end(self, summary):
                outer.clear_current()

            def on_exception(self, exc):
                outer.progress.stop()

        return RunBar()

    def on_run_end(self, index, total, spec, record) -> None:
        self.clear_current()
        self.progress.update(self.overall, completed=index)
        self.progress.console.print(
            f"  {spec.key:<28} {record['parameters']:>12,} params   test {record['test_acc']:5.1f}%"
            f"   {record['train_seconds']:.0f}s")

    def clear_current(self) -> None:
        if self.current is not None:
            self.progress.remove_task(self.current)
            self.current = None

    def stop(self) -> None:
        self.progress.stop()


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


@study_app.command("depth")
def depth(
    problem: str = typer.Argument(..., help="Problem, e.g. images or mazes."),
    family: str = typer.Option(..., "--family", "-f",
                               help="Architecture family: mlp, convnet, resnet, resnet-bn, dt, dt-recall."),
    depths: Optional[str] = typer.Option(None, "--depths", "-d",
                                         help="Effective depths, e.g. 7,11,15,19 (default: the family's own)."),
    seeds: str = typer.Option("3", "--seeds", "-s", help="Seeds per (architecture, depth): a count (3 = 0,1,2) or a list."),
    arch: Optional[list[str]] = typer.Option(None, "--arch", "-a", help="Only these members of the family (repeatable)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="quick (CPU minutes) or paper. Default: quick on CPU, paper on GPU."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Study directory (default studies/<problem>-<family>-depth); re-running resumes it."),
    epochs: Optional[int] = typer.Option(None, help="Training epochs of every run."),
    width: Optional[int] = typer.Option(None, help="Width of every net."),
    lr: Optional[float] = typer.Option(None, help="Learning rate."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b"),
    alpha: Optional[float] = typer.Option(None, help="Progressive-loss weight (default 0: a plain loss, as the paper)."),
    train_count: Optional[int] = typer.Option(None, "--train-count"),
    test_count: Optional[int] = typer.Option(None, "--test-count"),
    train_difficulty: Optional[str] = typer.Option(None, "--train-difficulty"),
    test_difficulty: Optional[str] = typer.Option(None, "--test-difficulty", help="Default: the training difficulty."),
    device: Optional[str] = typer.Option(None, help="auto | cpu | cuda | mps."),
    threads: Optional[int] = typer.Option(None, help="Torch threads."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON (progress goes to stderr)."),
) -> None:
    """Train each recurrent and feed-forward member of a family at each effective depth and seed,
    then compare: `dt study depth images --family resnet --depths 7,11,15,19 --seeds 3`.

    Prints mean ± standard error test accuracy and parameter counts, plots accuracy against
    effective depth, and writes results.json, results.csv and runs.csv to the study directory.
    Finished runs are skipped and interrupted ones resumed, so re-running continues a study.
    """
    from dtcli.study import parse_int_list, parse_seeds, plan_study, run_study

    overrides = {k: v for k, v in dict(
        epochs=epochs, width=width, lr=lr, batch_size=batch_size, alpha=alpha,
        train_count=train_count, test_count=test_count, train_difficulty=train_difficulty,
        test_difficulties=[test_difficulty] if test_difficulty else None, device=device,
        threads=threads).items() if v is not None}
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
    if json_out:
        print_json(doc)
        return
    if not doc["summary"]:
        console.print("no finished runs yet")
        return
    console.print(results_table(doc))
    console.print(results_plot(doc, min(console.width, 100)))
    state = "complete" if doc["complete"] else "incomplete (run the same command to continue)"
    console.print(f"study {state}: {plan.out / 'results.json'}, results.csv, runs.csv")


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
