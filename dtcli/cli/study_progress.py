"""Progress of a study in the terminal: a bar over its runs and one over the current run's
epoch (a :class:`~dtcli.experiments.runner.StudyListener`)."""

from __future__ import annotations


class StudyProgress:
    """A bar over the study's runs and one over the current run's epoch."""

    def __init__(self, out_console) -> None:
        from dtcli.cli.progress import make_progress

        self.console = out_console
        self.progress = make_progress(out_console)
        self.overall = None
        self.current = None

    def headline(self, plan) -> str:
        """The study's first line, naming what it trains."""
        return (f"[bold]depth study[/] {plan.problem} / family {plan.family} "
                f"({', '.join(plan.members)}), depths {', '.join(map(str, plan.depths))}, "
                f"seeds {', '.join(map(str, plan.seeds))}")

    def run_status(self, spec) -> str:
        return f"{spec.key} ({spec.iterations} it.)"

    # StudyListener ------------------------------------------------------------------------
    def on_study_start(self, plan, specs) -> None:
        self.console.print(f"{self.headline(plan)}: {len(specs)} runs → {plan.out}")
        self.progress.start()
        self.overall = self.progress.add_task("study", total=len(specs), status="")

    def on_run_start(self, index, total, spec, state) -> None:
        verb = {"done": "done", "resume": "resuming", "new": "training"}[state]
        self.progress.update(self.overall, completed=index - 1,
                             status=f"{verb} {self.run_status(spec)}")

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


class SeedProgress(StudyProgress):
    def headline(self, plan) -> str:
        return (f"[bold]seeds study[/] {plan.problem}: {', '.join(plan.archs)} × seeds "
                f"{', '.join(map(str, plan.seeds))}")

    def run_status(self, spec) -> str:
        return spec.key

    def on_run_end(self, index, total, spec, record) -> None:
        self.clear_current()
        self.progress.update(self.overall, completed=index)
        mark = "[green]success[/]" if record["success"] else "[red]failure[/]"
        train = record["final_train_acc"]
        self.progress.console.print(
            f"  {spec.key:<20} peak {record['peak']:5.1f}% at {record['peak_iter']}   {mark}"
            f"   train {'-' if train is None else f'{train:.1f}%'}")


class SweepProgress(StudyProgress):
    def headline(self, plan) -> str:
        grid = "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in plan.grid.items())
        return (f"[bold]sweep[/] {plan.problem}: {', '.join(plan.archs)}"
                + (f" × {grid}" if grid else "") + f" × seeds {', '.join(map(str, plan.seeds))}")

    def run_status(self, spec) -> str:
        return spec.key

    def on_run_end(self, index, total, spec, record) -> None:
        self.clear_current()
        self.progress.update(self.overall, completed=index)
        val, train = record["best_val_acc"], record["final_train_acc"]
        tests = "   ".join(f"{d}: peak {t['peak']:.1f}% at {t['peak_iter']}"
                           for d, t in record["tests"].items())
        self.progress.console.print(
            f"  {spec.key}   train {'-' if train is None else f'{train:.1f}%'}   best val "
            f"{'-' if val is None else f'{val:.1f}%'}   {tests}", markup=False)


def run_and_show(view: StudyProgress, run, plan, json_out: bool, show) -> dict:
    """Run a study with ``view`` as its progress (the bars stop however it ends), then print
    its results document as JSON or through ``show``; the document."""
    from dtcli.cli.common import print_json

    try:
        doc = run(plan, listener=view)
    finally:
        view.stop()
    if json_out:
        print_json(doc)
    else:
        show(doc)
    return doc
