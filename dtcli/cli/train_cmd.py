"""``dt train``: train a model on a problem, or continue a run with --resume."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dtcli.cli.common import (
    OPTION_HELP,
    complete_arch,
    complete_problem,
    console,
    err_console,
    parse_option_pairs,
    print_json,
    stop_on_signals,
)
from dtcli.cli.setting_options import with_settings
from dtcli.contracts.errors import DtError


def _flagged() -> list[str]:
    from dtcli.config import rules

    return [name for name, (_, rule) in rules().items() if rule.flag is not None]


@with_settings(_flagged())
def train(
    problem: Optional[str] = typer.Argument(None, help="Problem to train on (see `dt list problems`).", autocompletion=complete_problem),
    arch: Optional[str] = typer.Option(None, "--arch", "-a", help="Architecture (see `dt list archs`).", autocompletion=complete_arch),
    preset: Optional[str] = typer.Option(None, "--preset", "-p",
                                         help="Hyper-parameter preset: quick (CPU minutes) or paper (the reference's). Default: quick on CPU, paper on GPU."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    arch_option: Optional[list[str]] = typer.Option(None, "--arch-option", help="Architecture option NAME=VALUE."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run directory (default runs/<problem>-<arch>-<time>)."),
    name: Optional[str] = typer.Option(None, "--name", help="Name the run: it goes to runs/NAME (instead of --out)."),
    tag: Optional[list[str]] = typer.Option(None, "--tag", help="Tag the run (repeatable); `dt runs --tag T` lists the runs tagged T."),
    note: Optional[str] = typer.Option(None, "--note", help="A note kept with the run, shown by `dt runs show`."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this directory."),
    config: Optional[Path] = typer.Option(None, "--config", help="Settings from a TOML file (keys: the settings below with underscores, and problem, arch, preset, [problem_options]); flags still win."),
    save_config: Optional[Path] = typer.Option(None, "--save-config", help="Write the fully resolved settings to this TOML file (with --dry-run: and stop)."),
    no_test: bool = typer.Option(False, "--no-test", help="Skip the final extrapolation (same as --test-count 0): a smoke run ends when training does."),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="Log to TensorBoard event files in the run directory (same as --track tensorboard; needs the tensorboard extra)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved configuration, where each value came from (default, preset, file, flag) and the model summary, then exit."),
    json_out: bool = typer.Option(False, "--json", help="JSON output (with --dry-run, or a summary at the end)."),
    settings: dict = None,
) -> None:
    """Train a model: `dt train prefix-sums --arch dt-recall`.

    Settings come from the defaults, the preset, a --config file, then explicit flags; every
    one is checked before anything runs (the bounds are shown in brackets; the defaults below
    are dt's own, which a preset overrides: --dry-run shows what a run will use). The run
    directory gets config.json, metrics.jsonl, best.safetensors, last.pt and
    extrapolation.json.
    """
    from dtcli import runs
    from dtcli.config import TrainConfig, read_config_file, resolvable_changes, write_config_file
    from dtcli.experiments.recipe import resolve_config

    overrides = dict(settings or {})
    if no_test:
        overrides["test_count"] = 0
    if tensorboard:
        overrides["trackers"] = sorted({*overrides.get("trackers", []), "tensorboard"})
    file_values = read_config_file(config) if config is not None else {}
    sources: dict[str, str] = {}
    labels = check_labels(name, out, tag, note)
    if resume is not None:
        if problem or arch or preset or option or arch_option or config:
            raise DtError("--resume continues a run with its own problem, architecture and "
                          "settings; give only --resume RUN and the settings it allows")
        if name or labels:
            raise DtError("--resume keeps the run's name and labels; change its tags or note "
                          f"with: dt runs label {resume} --tag T --note TEXT")
        changes = resolvable_changes(overrides)
        if stopped_before_config(resume):
            raise DtError(f"{resume} cannot be resumed: its run was stopped before it wrote "
                          f"{runs.CONFIG}, so nothing was trained yet; run the original dt "
                          f"train command again with --out {resume} (it starts afresh there)")
        doc = runs.read_run_config(resume)
        cfg = TrainConfig.from_dict({**doc["train"], **changes}, f"{resume / runs.CONFIG}: ")
        run_dir = Path(resume)
    else:
        problem = problem or file_values.get("problem")
        arch = arch or file_values.get("arch")
        if not problem or not arch:
            raise DtError("name a problem and an architecture: dt train PROBLEM --arch ARCH "
                          "(`dt list` shows both), or give them in a --config file")
        cfg = resolve_config(problem, arch, preset or file_values.get("preset"),
                             parse_option_pairs(option), parse_option_pairs(arch_option),
                             overrides, file_values=file_values, file_label=f"file {config}",
                             sources=sources)
        run_dir = out or (runs.RUNS_ROOT / name if name else
                          runs.new_run_dir(runs.RUNS_ROOT, problem, arch))
        if (run_dir / runs.CONFIG).exists() and not runs.never_started(run_dir):
            raise DtError(f"{run_dir} already holds a run; use --resume {run_dir} or another --out")

    if save_config is not None:
        write_config_file(save_config, cfg)
        if not json_out:
            console.print(f"settings written to {save_config}")
    if dry_run:
        show_dry_run(cfg, run_dir, json_out, sources)
        return
    run_training(cfg, run_dir, resume is not None, json_out, labels)


def check_labels(name: str | None, out: Path | None, tags: list[str] | None,
                 note: str | None) -> dict | None:
    """The run's labels from --tag/--note (None when neither is given), checked before
    anything runs; --name checked to be one plain directory name."""
    from dtcli import runs

    if name is not None:
        if out is not None:
            raise DtError("--name and --out both say where the run goes: give one "
                          "(--name NAME is --out runs/NAME)")
        if name in (".", "..") or not 0 < len(name) <= 100 or not set(name) <= runs.TAG_CHARS:
            raise DtError(f"--name {name!r}: a run name is 1-100 letters, digits or . _ : + - "
                          "(it names a folder under runs/)")
    if not tags and note is None:
        return None
    return runs.checked_labels(list(tags or []), note)


def stopped_before_config(run_dir: Path) -> bool:
    """A directory a ``dt train`` began and lost before it wrote ``config.json`` (killed while
    it generated data or wrote its first resume state): it holds only what came before."""
    from dtcli import runs

    run_dir = Path(run_dir)
    return (run_dir.is_dir() and not (run_dir / runs.CONFIG).exists()
            and any((run_dir / name).exists() for name in (runs.LOCK, runs.LAST, runs.METRICS)))


def show_dry_run(cfg, run_dir: Path, json_out: bool, sources: dict[str, str]) -> None:
    from dtcli import factory
    from dtcli.plugins import get_registry

    get_registry().check_trackers(cfg.trackers)  # refuse what the real run refuses
    _, net = factory.build_net(get_registry(), cfg)
    summary = factory.model_summary(net, cfg)
    if json_out:
        print_json({"run_dir": str(run_dir), "config": cfg.to_dict(), "sources": sources,
                    "model": summary})
        return
    console.print(f"[bold]{cfg.problem}[/] with [bold]{cfg.arch}[/] (preset {cfg.preset})")
    for key, value in cfg.to_dict().items():
        source = sources.get(key, "the run")
        style = "dim" if source == "default" else ""
        console.print(f"  {key:<18} {value!s:<24} [{style or 'cyan'}]{source}[/]")
    console.print(f"[bold]parameters[/] {summary['parameters']:,}   "
                  f"[bold]effective depth at max_iters[/] {summary['effective_depth']}   "
                  f"[bold]recurrent[/] {summary['recurrent']}")


def run_training(cfg, run_dir: Path, resume: bool, json_out: bool,
                 labels: dict | None = None) -> None:
    import shlex
    import sys

    from dtcli import runs
    from dtcli.cli.progress import RichTrainListener
    from dtcli.contracts.paths import disk_error, make_dir
    from dtcli.engine.distributed import environment
    from dtcli.engine.train import train as engine_train

    main = environment().main  # under torchrun only rank 0 prints (the engine writes as rank 0)
    listener = RichTrainListener(err_console if json_out else console)
    # the command line as typed, for the run's record (absent when called in-process)
    typed = sys.argv and Path(sys.argv[0]).name in ("dt", "__main__.py")
    command = "dt " + shlex.join(sys.argv[1:]) if typed else None
    # a read-only or full disk, a file in the way: one line, now; and whether this process
    # made the directory (of two racing to one --out, only one did)
    created = make_dir(run_dir) if main else False
    try:
        if labels and main:  # removed with the rest if the run never starts
            runs.write_labels(run_dir, labels["tags"], labels["note"])
        with stop_on_signals() as interrupted:
            result = engine_train(cfg, run_dir, listener=listener, resume=resume,
                                  interrupt=interrupted, info={"command": command})
    except BaseException as exc:
        if created:
            remove_unstarted(run_dir)
        error = disk_error(Path(exc.filename or run_dir), exc) \
            if isinstance(exc, OSError) else None
        if error is not None:
            raise error from None
        raise
    if not main:
        if result.status == "interrupted":
            raise typer.Exit(130)
        return
    summary = {"run_dir": str(result.run_dir), "status": result.status,
               "epochs": result.epochs_done, "best_val_acc": result.best_val,
               "best_epoch": result.best_epoch, "seconds": round(result.seconds, 1),
               "extrapolation": {d: {"acc_at_max_iters": r.at(min(cfg.max_iters, r.iters[-1])),
                                     "best_iter": r.best()[0], "best_acc": r.best()[1]}
                                 for d, r in result.extrapolation.items()}}
    if json_out:
        print_json(summary)
    else:
        show_summary(cfg, result, summary)
    if result.status == "interrupted":
        raise typer.Exit(130)


def remove_unstarted(run_dir: Path) -> None:
    """Remove what a run this command created left before its ``config.json`` existed (a
    lock, a first resume state, empty metrics): a failed start leaves no half a run behind.
    A directory holding anything else is kept."""
    from dtcli import runs

    if (run_dir / runs.CONFIG).exists():
        return
    try:
        for path in [*(run_dir / n for n in (runs.LOCK, runs.LAST, runs.METRICS, runs.BEST,
                                             runs.LABELS)),
                     *run_dir.glob(".*.tmp")]:
            path.unlink(missing_ok=True)
        run_dir.rmdir()
    except OSError:
        pass  # not empty, or the disk refuses: keep it


def show_summary(cfg, result, summary: dict) -> None:
    out = console
    colour = "green" if result.status == "finished" else "yellow"
    if summary["best_val_acc"] is None or summary["best_epoch"] is None:
        best = "no epoch validated yet"
    else:
        best = f"best validation {summary['best_val_acc']:.2f}% at epoch {summary['best_epoch']}"
    out.print(f"[bold {colour}]{result.status}[/] in {result.seconds / 60:.1f} min: {best}  "
              f"→ {result.run_dir}")
    if result.status != "finished":
        out.print(f"continue with: dt train --resume {result.run_dir}")
    for d, e in summary["extrapolation"].items():
        out.print(f"  difficulty {d}: {e['acc_at_max_iters']:.1f}% at max_iters ({cfg.max_iters}), "
                  f"best {e['best_acc']:.1f}% at iteration {e['best_iter']}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
