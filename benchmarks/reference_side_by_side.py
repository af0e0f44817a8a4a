"""Maze inference side by side: the real deep-thinking code, dt's re-written baseline
(``dt bench --baseline reference``) and dt itself, on the same weights and mazes, in one
process, interleaved (rounds of real, baseline, dt, dt, baseline, real), min and median.

    python benchmarks/reference_side_by_side.py --reference ~/src/deep-thinking --width 32 \\
        --size 33 --iters 300 --count 50
    python benchmarks/reference_side_by_side.py ... --profile   # where each one's time goes

The real code is loaded from the user's checkout (``benchmarks/reference_code.py``); its
``test_default`` runs exactly as its ``test_model.py`` calls it (a DataLoader of the same
tensors, ``problem="mazes"``). Every side's per-iteration correct counts are checked equal
before anything is timed. Ratios are real / other (> 1: the other is faster).

Every side also reports its minor page faults: by default the process keeps freed memory, as
dt does (``dtcli.engine.allocator``), so all three run under the same allocator;
``--allocator default`` leaves glibc's settings, under which the real code's large temporaries
are handed back to the system and faulted in again (millions of faults, a quarter of its time).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Callable

import torch
from reference_code import load_reference


def build(args):
    """``(real net, dt's baseline copy, dt's net, problem, x, y)`` on the same weights."""
    from dtcli.engine.baseline import reference_copy
    from dtcli.engine.device import prepare
    from dtcli.factory import create_net
    from dtcli.plugins import get_registry

    ref_code = load_reference(args.reference)
    torch.manual_seed(args.seed)
    real = ref_code.dt_net_2d.dt_net_recall_2d(args.width, in_channels=3).eval()
    reg = get_registry()
    problem, net = create_net("mazes", "dt-recall", width=args.width, max_iters=30,
                              problem_options={"layout": "e2h"}, registry=reg)
    net.load_state_dict(real.state_dict(), strict=True)
    baseline = reference_copy(net, reg.arch("dt-recall")).eval()
    net = prepare(net.eval(), torch.device("cpu"), False)
    x, y = problem.generate(problem.parse_difficulty(str(args.size)), args.count, seed=2)
    return ref_code, real, baseline, net, problem, x.float(), y.long()


def sides(args, ref_code, real, baseline, net, problem, x, y) -> dict[str, Callable[[], list]]:
    """Each side as a function returning its per-iteration correct counts."""
    from dtcli.engine.baseline import reference_inference
    from dtcli.engine.extrapolate import extrapolate

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                         batch_size=args.batch, shuffle=False)

    def run_real() -> list:
        acc = ref_code.testing.test_default(real, loader, list(range(1, args.iters + 1)),
                                            "mazes", "cpu")
        return [round(acc[i] * len(x) / 100) for i in range(1, args.iters + 1)]

    def run_baseline() -> list:
        counts = [0] * args.iters
        for lo in range(0, len(x), args.batch):
            got = reference_inference(baseline, problem, x[lo:lo + args.batch],
                                      y[lo:lo + args.batch], args.iters)
            counts = [a + b for a, b in zip(counts, got)]
        return counts

    def run_dt() -> list:
        res = extrapolate(net, problem, x, y, args.iters, batch_size=args.batch,
                          device=torch.device("cpu"))
        return [int(c) for c in res.correct]

    return {"real": run_real, "baseline": run_baseline, "dt": run_dt}


def timed(fn: Callable[[], object]) -> tuple[float, int]:
    """Seconds and minor page faults of one call."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0,
            resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)


def profile(name: str, fn: Callable[[], object], rows: int) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    print(f"\n== {name}: top operators by self CPU time")
    print(prof.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=36,
        max_shapes_column_width=60))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, help="a checkout of aks2203/deep-thinking")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--size", type=int, default=33, help="maze size (e2h layout)")
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--batch", type=int, default=25, help="the reference's test batch size")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--allocator", choices=("keep", "default"), default="keep",
                    help="keep freed memory in the process, as dt does (default), or glibc's own")
    ap.add_argument("--profile", action="store_true", help="profile one run of each side")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.allocator == "keep":
        from dtcli.engine.allocator import keep_freed_memory

        keep_freed_memory()
    parts = build(args)
    runs = sides(args, *parts)
    counts = {name: fn() for name, fn in runs.items()}  # warm-up, and the same answers
    if not counts["real"] == counts["baseline"]:
        raise SystemExit(f"the baseline's counts differ from the real code's: "
                         f"{counts['baseline'][-5:]} vs {counts['real'][-5:]}")
    if args.profile:
        for name, fn in runs.items():
            profile(name, fn, 14)
        return
    times: dict[str, list[float]] = {name: [] for name in runs}
    faults: dict[str, list[int]] = {name: [] for name in runs}
    order = list(runs)
    for r in range(args.rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            seconds, count = timed(runs[name])
            times[name].append(seconds)
            faults[name].append(count)
    out = {"width": args.width, "size": args.size, "iters": args.iters, "count": args.count,
           "batch": args.batch, "threads": args.threads, "rounds": args.rounds,
           "allocator": args.allocator, "torch": torch.__version__,
           "seconds": {k: {"min": round(min(v), 3), "median": round(statistics.median(v), 3)}
                       for k, v in times.items()},
           "minor_faults_median": {k: int(statistics.median(v)) for k, v in faults.items()},
           "real_over_baseline": {
               "min": round(min(times["real"]) / min(times["baseline"]), 3),
               "median": round(statistics.median(times["real"])
                               / statistics.median(times["baseline"]), 3)},
           "real_over_dt": {
               "min": round(min(times["real"]) / min(times["dt"]), 3),
               "median": round(statistics.median(times["real"]) / statistics.median(times["dt"]), 3)},
           "baseline_over_dt": {
               "min": round(min(times["baseline"]) / min(times["dt"]), 3),
               "median": round(statistics.median(times["baseline"])
                               / statistics.median(times["dt"]), 3)}}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
