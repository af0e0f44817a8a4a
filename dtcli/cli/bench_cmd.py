"""``dt bench``: how fast this machine generates data, trains and thinks, for one recipe."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from dtcli.cli.common import OPTION_HELP, console, err_console, parse_option_pairs, print_json


def bench(
    problem: str = typer.Argument(..., help="Problem name."),
    arch: str = typer.Option("dt-recall", "--arch", "-a"),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Default: quick on CPU, paper on GPU."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    width: Optional[int] = typer.Option(None),
    max_iters: Optional[int] = typer.Option(None, "--max-iters"),
    alpha: Optional[float] = typer.Option(None),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b"),
    steps: int = typer.Option(10, help="Training steps to time (after one warm-up step)."),
    infer_iters: int = typer.Option(100, "--infer-iters", help="Iterations of the inference timing."),
    infer_count: int = typer.Option(100, "--infer-count", help="Instances of the inference timing."),
    device: Optional[str] = typer.Option(None),
    threads: Optional[int] = typer.Option(None),
    amp: Optional[str] = typer.Option(None),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Time data generation, training steps and inference (at the test difficulty) of a recipe.

    Useful before a long run: seconds per step x steps per epoch x epochs is the training time.
    """
    from dtcli.config import resolve_config
    from dtcli.engine.bench import bench as run_bench

    overrides = {k: v for k, v in dict(width=width, max_iters=max_iters, alpha=alpha,
                                       batch_size=batch_size, device=device, threads=threads,
                                       amp=amp).items() if v is not None}
    cfg = resolve_config(problem, arch, preset, parse_option_pairs(option), {}, overrides)
    with err_console.status("benchmarking") as status:
        result = run_bench(cfg, steps=steps, infer_iters=infer_iters, infer_count=infer_count,
                           progress=lambda what: status.update(f"benchmarking: {what}"))
    if json_out:
        print_json(result)
        return
    g, s, i = result["generate"], result["train_step"], result["inference"]
    table = Table(title=f"{problem} / {arch} (preset {cfg.preset}) on {result['device']}, "
                        f"{result['threads']} threads, {result['parameters']:,} parameters")
    table.add_column("what")
    table.add_column("time", justify="right")
    table.add_column("throughput", justify="right")
    table.add_row(f"generate {g['count']} instances (difficulty {g['difficulty']})",
                  f"{g['seconds']:.3f} s", f"{g['per_second']:,.0f} /s")
    table.add_row(f"training step (batch {result['batch_size']}, max_iters {result['max_iters']}, "
                  f"alpha {result['alpha']})", f"{s['median_s']:.3f} s", f"{s['samples_per_s']:,.0f} samples/s")
    table.add_row(f"inference: {i['count']} instances x {i['iters']} iterations (difficulty {i['difficulty']})",
                  f"{i['seconds']:.2f} s", f"{i['instance_iters_per_s']:,.0f} instance-iterations/s")
    console.print(table)
    console.print(f"peak memory {result['peak_rss_mb']:.0f} MB")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
