"""``dt bench``: how fast this machine generates data, trains and thinks, for one recipe."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from dtcli.cli.common import (
    OPTION_HELP,
    complete_arch,
    complete_problem,
    console,
    err_console,
    parse_option_pairs,
    print_json,
)
from dtcli.cli.setting_options import with_settings
from dtcli.contracts.errors import DtError

BENCH_SETTINGS = ("width", "max_iters", "alpha", "batch_size", "train_difficulty", "device",
                  "threads", "amp", "tf32", "cudnn_benchmark")


@with_settings(BENCH_SETTINGS)
def bench(
    problem: str = typer.Argument(..., help="Problem name.", autocompletion=complete_problem),
    arch: str = typer.Option("dt-recall", "--arch", "-a", help="Architecture.", autocompletion=complete_arch),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Default: quick on CPU, paper on GPU."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    test_difficulty: Optional[str] = typer.Option(None, "--test-difficulty", "-d", help="Difficulty of the inference timing."),
    steps: int = typer.Option(10, help="Training steps to time (after one warm-up step)."),
    infer_iters: int = typer.Option(100, "--infer-iters", help="Iterations of the inference timing."),
    infer_count: int = typer.Option(100, "--infer-count", help="Instances of the inference timing."),
    infer_batch: Optional[int] = typer.Option(None, "--infer-batch", help="Instances per inference batch (default: chosen from the instance size)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="'reference': also time the reference's algorithm (deep-thinking) on the same weights and inputs, and print the ratios."),
    baseline_batch: Optional[int] = typer.Option(None, "--baseline-batch", help="The reference's inference batch (default: its test batch size, from the paper preset); dt runs the same batches."),
    solve_count: int = typer.Option(0, "--solve-count", help="Also measure what a solved instance costs: this many test instances solved with halting (0: not)."),
    solve_iters: int = typer.Option(1000, "--solve-iters", help="Most iterations of --solve-count's solves."),
    solve_patience: int = typer.Option(10, "--solve-patience", help="--solve-count's halting rule: an instance stops once its answer is unchanged for K iterations."),
    solve_check: bool = typer.Option(False, "--solve-check", help="--solve-count's halting rule also stops an instance as soon as its answer checks out from the input alone (dt test --halt-on-check; mazes)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="The trained model (run directory or zoo name) whose solves --solve-count measures (default: the untrained recipe)."),
    rounds: int = typer.Option(3, "--rounds", help="Inference timing: rounds of four interleaved runs (dt, reference, reference, dt); min and median are reported."),
    json_out: bool = typer.Option(False, "--json"),
    settings: dict = None,
) -> None:
    """Time data generation, training steps and inference (at the test difficulty) of a recipe.

    The training step is the one `dt train` runs (forward, backward, clip, optimizer, schedule);
    inference scores every iteration, as `dt test`. Achieved GFLOP/s is set against this
    machine's peak (a large convolution of the iteration's shape). Seconds per step x steps
    per epoch x epochs is the training time of a recipe.
    """
    from dtcli.engine.bench import bench as run_bench
    from dtcli.experiments.recipe import resolve_config

    for name, value in (("--steps", steps), ("--infer-iters", infer_iters),
                        ("--infer-count", infer_count), ("--infer-batch", infer_batch),
                        ("--baseline-batch", baseline_batch), ("--rounds", rounds),
                        ("--solve-iters", solve_iters), ("--solve-patience", solve_patience)):
        if value is not None and value <= 0:
            raise DtError(f"{name} must be positive, got {value}")
    overrides = dict(settings or {})
    if test_difficulty:
        overrides["test_difficulties"] = [test_difficulty]
    cfg = resolve_config(problem, arch, preset, parse_option_pairs(option), {}, overrides)
    with err_console.status("benchmarking") as status:
        result = run_bench(cfg, steps=steps, infer_iters=infer_iters, infer_count=infer_count,
                           infer_batch=infer_batch, baseline=baseline,
                           baseline_batch=baseline_batch, infer_rounds=rounds,
                           solve_count=solve_count, solve_iters=solve_iters, model=model,
                           solve_patience=solve_patience, solve_check=solve_check,
                           progress=lambda what: status.update(f"benchmarking: {what}"))
    if json_out:
        print_json(result)
        return
    show(result, cfg)


def show(result: dict, cfg) -> None:
    g, s, i = result["generate"], result["train_step"], result["inference"]
    b = result.get("baseline")
    options = " ".join(f"{k}={v}" for k, v in result["problem_options"].items())
    table = Table(title=f"{cfg.problem} / {cfg.arch} width {result['width']} (preset {cfg.preset}"
                        f"{', ' + options if options else ''}) on {result['device']}, "
                        f"{result['threads']} threads, {result['parameters']:,} parameters")
    table.add_column("what")
    table.add_column("time", justify="right")
    table.add_column("throughput", justify="right")
    if b:
        table.add_column("reference", justify="right")
        table.add_column("ratio", justify="right")
    ref = (lambda seconds, ratio: [f"{seconds:.3f} s", f"{ratio:.2f}x"]) if b else (lambda *_: [])
    table.add_row(f"generate {g['count']} instances (difficulty {g['difficulty']})",
                  f"{g['seconds']:.3f} s", f"{g['per_second']:,.0f} /s", *(["", ""] if b else []))
    table.add_row(f"training step (batch {result['batch_size']}, difficulty {s['difficulty']}, "
                  f"max_iters {result['max_iters']}, alpha {result['alpha']})",
                  f"{s['median_s']:.3f} s", f"{s['samples_per_s']:,.0f} samples/s",
                  *(ref(b["train_step_s"], b["train_ratio"]) if b else []))
    table.add_row(f"inference: {i['count']} instances x {i['iters']} iterations (difficulty "
                  f"{i['difficulty']}, batch {i['batch']}), min of {i['runs']}",
                  f"{i['seconds']:.2f} s",
                  f"{i['instance_iters_per_s']:,.0f} instance-iterations/s",
                  *(ref(b["inference_s"], b["inference_ratio"]) if b else []))
    if b:
        table.add_row("inference, median", f"{i['median_s']:.2f} s", "",
                      *ref(b["inference_median_s"], b["inference_ratio_median"]))
    console.print(table)
    if i["peak_gflops"]:
        console.print(f"inference: {i['gflop_per_instance_iteration'] * 1000:.1f} MFLOP per "
                      f"instance-iteration, {i['gflops']:.1f} GFLOP/s achieved = "
                      f"{100 * i['share_of_peak']:.0f}% of this machine's peak "
                      f"({i['peak_gflops']:.1f} GFLOP/s, one large convolution of the same shape)")
    if b:
        console.print(f"ratio = reference time / dt time (> 1: dt faster), timed interleaved "
                      f"(dt, reference, reference, dt) on the same batches of "
                      f"{b['inference_batch']} (the reference's test batch size); the reference "
                      f"keeps every iteration's output and runs the full unroll in every "
                      f"training step")
    c = result.get("solve_cost")
    if c:
        per = "-" if c["cpu_s_per_solved"] is None else f"{c['cpu_s_per_solved']:.2f}"
        console.print(f"{c['model']}: solved {c['solved']} of {c['count']} instances of difficulty "
                      f"{c['difficulty']} (halting, K={c['patience']}"
                      f"{' or a checked answer' if c.get('check') else ''}, up to {c['iters']} "
                      f"iterations, mean halt at {c['mean_halt_iteration']}): {per} CPU-s per "
                      f"solved instance ({c['cpu_s']:.1f} CPU-s, {c['wall_s']:.1f} s wall), "
                      f"{c['instance_iters_per_s']:,.0f} instance-iterations/s")
    console.print(f"peak memory {result['peak_rss_mb']:.0f} MB")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
