"""Speed of this machine on one problem and architecture: data, training steps, inference."""

from __future__ import annotations

import random
import resource
import statistics
import time
from typing import Any, Callable

import torch

from dtcli import factory
from dtcli.config import TrainConfig
from dtcli.engine.device import (
    batch_to,
    configure_backends,
    configure_threads,
    inference_batch_size,
    prepare,
    resolve_device,
)
from dtcli.engine.optim import build_optimizer
from dtcli.engine.progressive import draw_nk
from dtcli.engine.step import training_step


def _timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _timed_pair(first: Callable[[], Any], second: Callable[[], Any] | None,
                repeats: int) -> tuple[list[float], list[float]]:
    """Time ``first`` and ``second`` interleaved ABBA, ``repeats`` rounds of four runs (so
    both see the same machine load, and neither always runs first or second after the
    other): ``repeats`` x 2 times each (``repeats`` of ``first`` alone without ``second``)."""
    a, b = [], []
    for _ in range(repeats):
        if second is None:
            a += _timed(first, 1)
            continue
        a += _timed(first, 1)
        b += _timed(second, 2)
        a += _timed(first, 1)
    return a, b


def reference_batch_size(problem, arch: str) -> int:
    """The reference's test batch size: the paper preset's (its hyper-parameters)."""
    paper = problem.preset("paper", arch) if "paper" in problem.presets else {}
    return int(paper.get("eval_batch_size", TrainConfig.eval_batch_size))


def bench(cfg: TrainConfig, *, registry=None, steps: int = 10, data_count: int = 1000,
          infer_iters: int = 100, infer_count: int = 100, infer_batch: int | None = None,
          baseline: str | None = None, baseline_batch: int | None = None,
          infer_rounds: int = 3, solve_count: int = 0, solve_iters: int = 1000,
          solve_patience: int = 10, solve_check: bool = False,
          model: str | None = None,
          progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Time data generation, training steps of ``cfg`` (the step ``dt train`` runs) and
    streaming inference at the test difficulty (what ``dt test`` runs: every iteration
    scored); medians in seconds, throughput, achieved GFLOP/s against this machine's peak and,
    with ``baseline="reference"``, the same work done by the reference's algorithm on the same
    weights and inputs (:mod:`dtcli.engine.baseline`)."""
    from dtcli.contracts.errors import DtError
    from dtcli.engine.baseline import reference_copy, reference_inference, reference_train_step
    from dtcli.engine.extrapolate import extrapolate
    from dtcli.engine.flops import conv_peak_gflops, flops_per_iteration
    from dtcli.plugins import get_registry

    if baseline not in (None, "reference"):
        raise DtError(f"unknown --baseline {baseline!r}; the one baseline is 'reference'")
    threads = configure_threads(cfg.threads)
    device = resolve_device(cfg.device)
    configure_backends(device, tf32=cfg.tf32, cudnn_benchmark=cfg.cudnn_benchmark)
    torch.manual_seed(cfg.seed)
    reg = registry or get_registry()
    problem, net = factory.build_net(reg, cfg)
    ref = reference_copy(net, reg.arch(cfg.arch)).to(device) if baseline else None
    net = prepare(net, device, cfg.compile)
    d_train = problem.parse_difficulty(cfg.train_difficulty or problem.default_train_difficulty)
    d_test = problem.parse_difficulty((cfg.test_difficulties or [problem.default_test_difficulty])[0])

    progress("generating data")
    gen = _timed(lambda: problem.generate(d_train, data_count, seed=12345), 1)[0]
    x, y = problem.generate(d_train, max(cfg.batch_size, 2), seed=1)
    xb, yb = batch_to(x[:cfg.batch_size], y[:cfg.batch_size], device)

    progress("training steps")
    steps_per_epoch = max(1, -(-int(cfg.train_count * (1 - cfg.val_fraction)) // cfg.batch_size))
    step = training_step(net, problem, cfg, device, steps_per_epoch)
    draws = random.Random(cfg.seed)
    nks = [draw_nk(cfg.alpha, cfg.max_iters, draws, cfg.nk_sampling) for _ in range(steps + 1)]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    counter = iter(range(10**9))

    def dt_step() -> None:
        step(xb, yb, nks[next(counter) % len(nks)])
        sync()

    ref_step = None
    if ref is not None:
        ref_opt = build_optimizer(ref.net, cfg)
        ref_counter = iter(range(10**9))

        def ref_step() -> None:
            reference_train_step(ref, problem, ref_opt, xb, yb, alpha=cfg.alpha,
                                 max_iters=cfg.max_iters, nk=nks[next(ref_counter) % len(nks)],
                                 clip=cfg.clip)
            sync()

        ref.train()
    net.train()
    dt_step()  # warm-up
    if ref_step is not None:
        ref_step()
    step_times, ref_step_times = _timed_pair(dt_step, ref_step, steps)

    progress("inference")
    xt, yt = problem.generate(d_test, infer_count, seed=2)
    xt, yt = batch_to(xt, yt, device)
    iters = min(infer_iters, net.max_depth or infer_iters)
    net.eval()
    ref_batch = baseline_batch or reference_batch_size(problem, cfg.arch)
    # compared with the reference, dt runs the same batches (the reference's test batch size)
    batch = infer_batch or (ref_batch if ref is not None else inference_batch_size(net, xt, device))

    def infer() -> None:
        extrapolate(net, problem, xt, yt, iters, batch_size=batch, device=device, amp=cfg.amp)
        sync()

    def ref_infer() -> None:
        for lo in range(0, len(xt), ref_batch):
            reference_inference(ref, problem, xt[lo:lo + ref_batch], yt[lo:lo + ref_batch], iters)
        sync()

    if ref is not None:
        ref.eval()
    infer()  # warm-up, as the training steps have
    if ref is not None:
        ref_infer()
    infer_times, ref_infer_times = _timed_pair(infer, ref_infer if ref is not None else None,
                                               infer_rounds)
    infer_s = min(infer_times)
    progress("measuring the peak")
    flops = flops_per_iteration(net, problem, xt[:batch]) / min(batch, len(xt))
    with torch.inference_mode():
        thought = net.start(xt[:1])
    peak = conv_peak_gflops(thought.shape[1], tuple(thought.shape[2:]), device) \
        if thought.dim() >= 3 else None
    achieved = flops * infer_count * iters / infer_s / 1e9
    step_s = statistics.median(step_times)
    result = {
        "problem": cfg.problem, "arch": cfg.arch, "device": str(device), "threads": threads,
        "parameters": net.num_parameters(), "batch_size": cfg.batch_size, "max_iters": cfg.max_iters,
        "alpha": cfg.alpha, "width": cfg.width, "problem_options": dict(problem.option_values),
        "generate": {"difficulty": d_train, "count": data_count, "seconds": round(gen, 4),
                     "per_second": round(data_count / gen, 1)},
        "train_step": {"difficulty": d_train, "median_s": round(step_s, 4),
                       "min_s": round(min(step_times), 4),
                       "samples_per_s": round(cfg.batch_size / step_s, 1)},
        "inference": {"difficulty": d_test, "count": infer_count, "iters": iters, "batch": batch,
                      "seconds": round(infer_s, 3),
                      "median_s": round(statistics.median(infer_times), 3),
                      "runs": len(infer_times),
                      "instance_iters_per_s": round(infer_count * iters / infer_s, 1),
                      "gflop_per_instance_iteration": round(flops / 1e9, 4),
                      "gflops": round(achieved, 2),
                      "peak_gflops": None if peak is None else round(peak, 2),
                      "share_of_peak": None if not peak else round(achieved / peak, 3)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if ref is not None:
        ref_step_s = statistics.median(ref_step_times)
        ref_infer_s = min(ref_infer_times)
        ref_infer_med = statistics.median(ref_infer_times)
        result["baseline"] = {
            "name": "reference", "train_step_s": round(ref_step_s, 4),
            "train_ratio": round(ref_step_s / step_s, 3), "inference_s": round(ref_infer_s, 3),
            "inference_median_s": round(ref_infer_med, 3), "inference_batch": ref_batch,
            "inference_ratio": round(ref_infer_s / infer_s, 3),
            "inference_ratio_median": round(ref_infer_med / statistics.median(infer_times), 3),
            "timing": "interleaved ABBA, min and median"}
    if solve_count:
        progress(f"solving {solve_count} instances")
        solver, solver_problem = net, problem
        if model is not None:  # a trained model solves (an untrained recipe solves nothing)
            from dtcli.engine.model import load_model

            loaded = load_model(model, device=device)
            solver, solver_problem = loaded.net, loaded.problem
        result["solve_cost"] = solve_cost(solver, solver_problem, d_test, solve_count,
                                          solve_iters, device=device, batch_size=infer_batch,
                                          patience=solve_patience, check=solve_check)
        result["solve_cost"]["model"] = model or "untrained recipe"
    return result


def solve_cost(net, problem, difficulty: Any, count: int, iters: int, *, seed: int = 0,
               patience: int = 10, device: torch.device | None = None,
               batch_size: int | None = None, check: bool = False) -> dict[str, Any]:
    """What a solved instance costs: ``count`` test instances of ``difficulty`` thought about
    with halting (``dt test --mode halt``) up to ``iters`` iterations; CPU-seconds of this
    process (all its threads) per solved instance, wall seconds, and instance-iterations per
    second (the iterations actually run, halted instances leaving the batch). ``check`` adds
    the problem's label-free answer check to the halting rule (``dt test --halt-on-check``)."""
    from dtcli.engine.halting import extrapolate_halting

    x, y = problem.dataset("test", difficulty, count, seed)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    res = extrapolate_halting(net, problem, x, y, [iters], patience=patience, device=device,
                              batch_size=batch_size, check=check)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    solved = res.correct[-1]
    computed = res.extra["iterations_computed"]
    return {"difficulty": difficulty, "count": count, "iters": iters, "patience": patience,
            "check": check,
            "solved": solved, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
            "cpu_s_per_solved": round(cpu / solved, 2) if solved else None,
            "instance_iters": computed,
            "instance_iters_per_s": round(computed / wall, 1) if wall else None,
            "mean_halt_iteration": round(res.extra["mean_halt_iteration"], 1)}
