"""``dt train``: train a model on a problem, or continue a run with --resume."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dtcli.cli.common import (OPTION_HELP, console, err_console, parse_option_pairs, print_json,
                              stop_on_signals)
from dtcli.errors import DtError

RUNS_ROOT = Path("runs")


def _overrides(**given) -> dict:
    return {k: v for k, v in given.items() if v is not None}


def train(
    problem: Optional[str] = typer.Argument(None, help="Problem to train on (see `dt list problems`)."),
    arch: Optional[str] = typer.Option(None, "--arch", "-a", help="Architecture (see `dt list archs`)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p",
                                         help="Hyper-parameter preset: quick (CPU minutes) or paper (the reference's). Default: quick on CPU, paper on GPU."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    arch_option: Optional[list[str]] = typer.Option(None, "--arch-option", help="Architecture option NAME=VALUE."),
    width: Optional[int] = typer.Option(None, help="Channels of the thought."),
    max_iters: Optional[int] = typer.Option(None, "--max-iters", help="Iterations during training."),
    depth: Optional[int] = typer.Option(None, help="Effective depth (depth-sized architectures)."),
    alpha: Optional[float] = typer.Option(None, help="Weight of the progressive loss (0..1)."),
    nk_sampling: Optional[str] = typer.Option(None, "--nk-sampling", help="reference | uniform-sum (n+k uniform)."),
    epochs: Optional[int] = typer.Option(None, help="Training epochs."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b",
                                             help="Instances per step in all: under torchrun each process takes its share of this global batch."),
    lr: Optional[float] = typer.Option(None, help="Base learning rate."),
    optimizer: Optional[str] = typer.Option(None, help="adam | adamw | sgd."),
    weight_decay: Optional[float] = typer.Option(None, "--weight-decay"),
    warmup_epochs: Optional[float] = typer.Option(None, "--warmup", help="Warm-up length in epochs."),
    lr_decay: Optional[str] = typer.Option(None, "--lr-decay", help="none | step | cosine."),
    clip: Optional[float] = typer.Option(None, help="Gradient-norm clip."),
    throttle: Optional[bool] = typer.Option(None, "--throttle/--no-throttle",
                                            help="Recurrent block at lr/max_iters (the reference's lr_throttle)."),
    train_difficulty: Optional[str] = typer.Option(None, "--train-difficulty"),
    test_difficulty: Optional[list[str]] = typer.Option(None, "--test-difficulty",
                                                        help="Harder difficulty to extrapolate to at the end (repeatable)."),
    train_count: Optional[int] = typer.Option(None, "--train-count", help="Instances generated for training (20% held out for validation)."),
    test_count: Optional[int] = typer.Option(None, "--test-count"),
    test_iters: Optional[int] = typer.Option(None, "--test-iters", help="Iterations of the final extrapolation."),
    test_every: Optional[int] = typer.Option(None, "--test-every", help="Also extrapolate every N epochs."),
    stop_at: Optional[float] = typer.Option(None, "--stop-at",
                                            help="Stop early once validation accuracy is at least this (%) for --stop-patience epochs."),
    stop_patience: Optional[int] = typer.Option(None, "--stop-patience"),
    seed: Optional[int] = typer.Option(None, help="Seed for data, initialisation and batch order."),
    device: Optional[str] = typer.Option(None, help="auto | cpu | cuda | mps."),
    amp: Optional[str] = typer.Option(None, help="Mixed precision: off | bf16 | fp16 (slow on most CPUs)."),
    compile_: Optional[bool] = typer.Option(None, "--compile/--no-compile", help="torch.compile (costly start, GPU only gains)."),
    tf32: Optional[bool] = typer.Option(None, "--tf32/--no-tf32", help="TF32 matmuls and convolutions on CUDA: faster, changes results (default off)."),
    cudnn_benchmark: Optional[bool] = typer.Option(None, "--cudnn-benchmark/--no-cudnn-benchmark", help="cuDNN autotuner on CUDA (default on)."),
    checkpoint_every: Optional[float] = typer.Option(None, "--checkpoint-every", help="Minutes between resume states written mid-epoch (default 10; 0: every step)."),
    threads: Optional[int] = typer.Option(None, help="Torch threads (default: available cores)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run directory (default runs/<problem>-<arch>-<time>)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this directory."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved configuration and model summary, then exit."),
    json_out: bool = typer.Option(False, "--json", help="JSON output (with --dry-run, or a summary at the end)."),
) -> None:
    """Train a model: `dt train prefix-sums --arch dt-recall`.

    Settings come from the preset, then from explicit flags. The run directory gets
    config.json, metrics.jsonl, best.safetensors, last.pt and extrapolation.json.
    """
    from dtcli import runs
    from dtcli.config import TrainConfig, resolve_config

    overrides = _overrides(
        width=width, max_iters=max_iters, depth=depth, alpha=alpha, nk_sampling=nk_sampling,
        epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
        weight_decay=weight_decay, warmup_epochs=warmup_epochs, lr_decay=lr_decay, clip=clip,
        throttle=throttle, train_difficulty=train_difficulty,
        test_difficulties=list(test_difficulty) if test_difficulty else None,
        train_count=train_count, test_count=test_count, test_iters=test_iters,
        test_every=test_every, stop_at=stop_at, stop_patience=stop_patience, seed=seed,
        device=device, amp=amp, compile=compile_, threads=threads, tf32=tf32,
        cudnn_benchmark=cudnn_benchmark, checkpoint_every=checkpoint_every)

    if resume is not None:
        doc = runs.read_run_config(resume)
        cfg = TrainConfig.from_dict(doc["train"])
        allowed = {"epochs", "device", "threads", "amp", "compile", "tf32", "cudnn_benchmark",
                   "checkpoint_every"}
        ignored = sorted(set(overrides) - allowed)
        if ignored or problem or arch or preset or option:
            raise DtError("--resume continues a run with its own settings; only --epochs, --device, "
                          "--threads, --amp, --compile, --tf32, --cudnn-benchmark and "
                          "--checkpoint-every may change")
        for k, v in overrides.items():
            setattr(cfg, k, v)
        run_dir = Path(resume)
    else:
        if not problem or not arch:
            raise DtError("name a problem and an architecture: dt train PROBLEM --arch ARCH "
                          "(`dt list` shows both)")
        cfg = resolve_config(problem, arch, preset, parse_option_pairs(option),
                      parse_option_pairs(arch_option), overrides)
        run_dir = out or runs.new_run_dir(RUNS_ROOT, problem, arch)
        if (run_dir / runs.CONFIG).exists():
            raise DtError(f"{run_dir} already holds a run; use --resume {run_dir} or another --out")

    if dry_run:
        show_dry_run(cfg, run_dir, json_out)
        return
    run_training(cfg, run_dir, resume is not None, json_out)


def show_dry_run(cfg, run_dir: Path, json_out: bool) -> None:
    from dtcli import runs
    from dtcli.plugins import get_registry

    _, net = runs.build_net(get_registry(), cfg)
    summary = runs.model_summary(net, cfg)
    if json_out:
        print_json({"run_dir": str(run_dir), "config": cfg.to_dict(), "model": summary})
        return
    console.print(f"[bold]{cfg.problem}[/] with [bold]{cfg.arch}[/] (preset {cfg.preset})")
    for key, value in cfg.to_dict().items():
        console.print(f"  {key:<18} {value}")
    console.print(f"[bold]parameters[/] {summary['parameters']:,}   "
                  f"[bold]effective depth at max_iters[/] {summary['effective_depth']}   "
                  f"[bold]recurrent[/] {summary['recurrent']}")


def run_training(cfg, run_dir: Path, resume: bool, json_out: bool) -> None:
    from dtcli.cli.progress import RichTrainListener
    from dtcli.engine.distributed import environment
    from dtcli.engine.train import train as engine_train

    import shlex
    import sys

    main = environment().main  # under torchrun only rank 0 prints (the engine writes as rank 0)
    listener = RichTrainListener(err_console if json_out else console)
    # the command line as typed, for the run's record (absent when called in-process)
    typed = sys.argv and Path(sys.argv[0]).name in ("dt", "__main__.py")
    command = "dt " + shlex.join(sys.argv[1:]) if typed else None
    with stop_on_signals() as interrupted:
        result = engine_train(cfg, run_dir, listener=listener, resume=resume,
                              interrupt=interrupted, info={"command": command})
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


def show_summary(cfg, result, summary: dict) -> None:
    out = console
    best = ("-" if summary["best_val_acc"] is None else f"{summary['best_val_acc']:.2f}%")
    colour = "green" if result.status == "finished" else "yellow"
    out.print(f"[bold {colour}]{result.status}[/] in {result.seconds / 60:.1f} min: best validation "
              f"{best} at epoch {summary['best_epoch']}  → {result.run_dir}")
    if result.status != "finished":
        out.print(f"continue with: dt train --resume {result.run_dir}")
    for d, e in summary["extrapolation"].items():
        out.print(f"  difficulty {d}: {e['acc_at_max_iters']:.1f}% at max_iters ({cfg.max_iters}), "
                  f"best {e['best_acc']:.1f}% at iteration {e['best_iter']}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
