"""Speed of this machine on one problem and architecture: data, training steps, inference."""

from __future__ import annotations

import random
import resource
import statistics
import time
from typing import Any, Callable

import torch

from dtcli import runs
from dtcli.config import TrainConfig
from dtcli.engine.device import (autocast, batch_to, configure_backends, configure_threads,
                                 grad_scaler, prepare, resolve_device)
from dtcli.engine.optim import build_optimizer, build_scheduler
from dtcli.engine.progressive import draw_nk
from dtcli.engine.step import ProgressiveObjective, TrainStep


def _timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def training_step(net, problem, cfg: TrainConfig, device: torch.device) -> TrainStep:
    """The step ``dt train`` runs for ``cfg``: objective, clip, scaler, optimizer, schedule."""
    objective = ProgressiveObjective(net, problem, alpha=cfg.alpha, max_iters=cfg.max_iters)
    optimizer = build_optimizer(net, cfg)
    steps_per_epoch = max(1, -(-int(cfg.train_count * (1 - cfg.val_fraction)) // cfg.batch_size))
    scheduler = build_scheduler(optimizer, cfg, steps_per_epoch)
    return TrainStep(objective, objective, optimizer, scheduler, scaler=grad_scaler(device, cfg.amp),
                     clip=cfg.clip, device=device, amp=cfg.amp)


def bench(cfg: TrainConfig, *, registry=None, steps: int = 10, data_count: int = 1000,
          infer_iters: int = 100, infer_count: int = 100,
          progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Time data generation, training steps of ``cfg`` and streaming inference at the test
    difficulty; medians in seconds, plus throughput and peak memory."""
    from dtcli.plugins import get_registry

    threads = configure_threads(cfg.threads)
    device = resolve_device(cfg.device)
    configure_backends(device, tf32=cfg.tf32, cudnn_benchmark=cfg.cudnn_benchmark)
    torch.manual_seed(cfg.seed)
    problem, net = runs.build_net(registry or get_registry(), cfg)
    net = prepare(net, device, cfg.compile)
    d_train = problem.parse_difficulty(cfg.train_difficulty or problem.default_train_difficulty)
    d_test = problem.parse_difficulty((cfg.test_difficulties or [problem.default_test_difficulty])[0])

    progress("generating data")
    gen = _timed(lambda: problem.generate(d_train, data_count, seed=12345), 1)[0]
    x, y = problem.generate(d_train, max(cfg.batch_size, 2), seed=1)
    xb, yb = batch_to(x[:cfg.batch_size], y[:cfg.batch_size], device)

    progress("training steps")
    step = training_step(net, problem, cfg, device)
    rng = random.Random(cfg.seed)

    def one_step() -> None:
        step(xb, yb, draw_nk(cfg.alpha, cfg.max_iters, rng, cfg.nk_sampling))
        if device.type == "cuda":
            torch.cuda.synchronize()

    net.train()
    one_step()  # warm-up
    step_times = _timed(one_step, steps)

    progress("inference")
    xt, _ = problem.generate(d_test, infer_count, seed=2)
    xt, _ = batch_to(xt, None, device)
    iters = min(infer_iters, net.max_depth or infer_iters)
    net.eval()

    def infer() -> None:
        with torch.inference_mode(), autocast(device, cfg.amp):
            for _, thought in net.iterate(xt, iters):
                problem.predict(net.answer(thought), xt)
        if device.type == "cuda":
            torch.cuda.synchronize()

    infer_s = _timed(infer, 1)[0]
    step_s = statistics.median(step_times)
    return {
        "problem": cfg.problem, "arch": cfg.arch, "device": str(device), "threads": threads,
        "parameters": net.num_parameters(), "batch_size": cfg.batch_size, "max_iters": cfg.max_iters,
        "alpha": cfg.alpha,
        "generate": {"difficulty": d_train, "count": data_count, "seconds": round(gen, 4),
                     "per_second": round(data_count / gen, 1)},
        "train_step": {"median_s": round(step_s, 4), "min_s": round(min(step_times), 4),
                       "samples_per_s": round(cfg.batch_size / step_s, 1)},
        "inference": {"difficulty": d_test, "count": infer_count, "iters": iters,
                      "seconds": round(infer_s, 3),
                      "instance_iters_per_s": round(infer_count * iters / infer_s, 1)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
