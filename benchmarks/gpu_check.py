"""One command that checks dt on a CUDA machine, in under 5 minutes:

    python benchmarks/gpu_check.py [--out DIR]

1. a few training steps of the maze and prefix-sums paper presets on one GPU, fp32 and bf16
   (`dt train` end to end: data on the device, checkpoints, the final extrapolation), with
   the step time of `dt bench`;
2. a 2-GPU DDP run against the 1-GPU run of the same seed and global batch (when there are
   2 GPUs);
3. a distributed `dt test` against one process (2 GPUs with nccl, else 2 CPU processes with
   gloo);
4. an 801x801 maze solved by the zoo's `mazes-dt-recall-w48` (halting, up to 25,000
   iterations) for at most --solve-seconds (default 150): solved, or how far it got and its
   speed; its state is kept, so `dt solve ... --state FILE --resume` continues it.

It prints one PASS/FAIL line per check with its figure, and exits non-zero when any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

RESULTS: list[tuple[str, bool, str]] = []
DEVICE, PRESET = "cuda", "paper"


def dt(args: list[str], *, nproc: int = 0, timeout: int = 240) -> tuple[int, str, float]:
    """Run ``dt ARGS`` (under torchrun with ``nproc`` workers when > 0): (rc, stdout, seconds);
    on failure the output's last lines stand in for stdout."""
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc-per-node={nproc}", "-m", "dtcli"] if nproc
                else [sys.executable, "-m", "dtcli"])
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([*launcher, *args], capture_output=True, text=True, timeout=timeout)
        out = proc.stdout if proc.returncode == 0 else proc.stdout + proc.stderr
        return proc.returncode, out, time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout} s", time.perf_counter() - t0


def check(name: str, ok: bool, figure: str) -> None:
    RESULTS.append((name, ok, figure))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {figure}", flush=True)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output)"


def train_check(out: Path, problem: str, amp: str, extra: list[str]) -> Path | None:
    run = out / f"{problem}-{amp}"
    rc, text, seconds = dt(["train", problem, "--arch", "dt-recall", "--preset", PRESET,
                            "--device", DEVICE, "--amp", amp, "--epochs", "1", "--out", str(run),
                            "--json", *extra])
    if rc != 0:
        check(f"train {problem} {PRESET} preset, {amp}", False, last_line(text))
        return None
    summary = json.loads(text[text.index("{"):])
    check(f"train {problem} {PRESET} preset, {amp}", summary["status"] == "finished",
          f"{seconds:.1f} s wall for 1 epoch + extrapolation, val {summary['best_val_acc']:.1f}%")
    return run


def bench_check(problem: str, amp: str) -> None:
    rc, text, _ = dt(["bench", problem, "--arch", "dt-recall", "--preset", PRESET, "--device",
                      DEVICE, "--amp", amp, "--steps", "5", "--infer-count", "50", "--json"])
    if rc != 0:
        check(f"bench {problem} {PRESET} step, {amp}", False, last_line(text))
        return
    doc = json.loads(text[text.index("{"):])
    s, i = doc["train_step"], doc["inference"]
    check(f"bench {problem} {PRESET} step, {amp}", True,
          f"{s['median_s'] * 1000:.1f} ms per step (batch {doc['batch_size']}), "
          f"{i['instance_iters_per_s']:,.0f} instance-iterations/s inference")


def solve_801_check(out: Path, seconds: float) -> None:
    """Solve one 801x801 maze for at most ``seconds``; then Ctrl-C it (its state is written)
    and report the iterations reached, the speed, and whether it was solved."""
    state = out / "maze-801.state"
    args = [sys.executable, "-m", "dtcli", "solve", "mazes-dt-recall-w48", "-d", "801",
            "--iters", "25000", "--halt", "--device", DEVICE, "--state", str(state),
            "--state-every", "1"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        text, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # dt solve writes its state and says how to go on
        try:
            text, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            text, _ = proc.communicate()
    spent = time.perf_counter() - t0
    done = re.search(r"solved: first correct at iteration (\d+) \((\d+) iterations in [^,]+, "
                     r"([\d.]+) it/s\)", text)
    if done:
        check("801x801 maze (mazes-dt-recall-w48)", True,
              f"solved: first correct at iteration {done.group(1)}, {done.group(2)} iterations "
              f"at {done.group(3)} it/s, {spent:.0f} s in all")
        return
    reached = re.findall(r"iteration\s+(\d+)/25000", text)
    if proc.returncode in (0, 130) and reached:
        it = int(reached[-1])
        rate = it / spent
        check("801x801 maze (mazes-dt-recall-w48)", True,
              f"not solved yet: {it} iterations in {spent:.0f} s ({rate:.1f} it/s; 25,000 would "
              f"take {25000 / max(rate, 1e-9) / 60:.0f} min); state in {state}: continue with "
              f"`dt solve mazes-dt-recall-w48 -d 801 --iters 25000 --state {state} --resume`")
    else:
        check("801x801 maze (mazes-dt-recall-w48)", False, last_line(text))


def weights_difference(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    wa, wb = load_file(a / "best.safetensors"), load_file(b / "best.safetensors")
    return max(float((wa[k] - wb[k]).abs().max()) for k in wa)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where the runs go (default: a temp dir)")
    parser.add_argument("--device", default="cuda",
                        help="cuda (default); cpu runs the same checks as a smoke test of this script")
    parser.add_argument("--preset", default="paper", help="preset to train and bench (default paper)")
    parser.add_argument("--amp", default="off,bf16", help="precisions to try (default off,bf16)")
    parser.add_argument("--solve-seconds", type=float, default=150,
                        help="time given to the 801x801 maze solve (0: skip it)")
    args = parser.parse_args()
    global DEVICE, PRESET
    DEVICE, PRESET = args.device, args.preset
    if DEVICE == "cpu":
        gpus = 0
        check("device", True, f"cpu smoke run, torch {torch.__version__}")
    elif not torch.cuda.is_available():
        check("CUDA available", False, "torch.cuda.is_available() is False: run this on a GPU machine")
        return 1
    else:
        gpus = torch.cuda.device_count()
        check("CUDA available", True, f"{gpus} x {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    out = args.out or Path(tempfile.mkdtemp(prefix="dt-gpu-check-"))
    os.environ.setdefault("DT_HOME", str(out / "dt-home"))
    began = time.perf_counter()

    small = {"mazes": ["--train-count", "1000", "--test-count", "100", "--test-iters", "100"],
             "prefix-sums": ["--train-count", "2000", "--test-count", "100", "--test-iters", "100"]}
    for problem in ("mazes", "prefix-sums"):
        for amp in args.amp.split(","):
            train_check(out, problem, amp, small[problem])
            bench_check(problem, amp)

    ddp_args = ["train", "mazes", "--arch", "dt-recall", "--preset", PRESET, "--device", DEVICE,
                "--epochs", "1", "--train-count", "1000", "--test-count", "50", "--test-iters", "50",
                "--seed", "3", "--json"]
    if gpus >= 2:
        rc1, text1, s1 = dt([*ddp_args, "--out", str(out / "ddp-1")])
        rc2, text2, s2 = dt([*ddp_args, "--out", str(out / "ddp-2")], nproc=2)
        if rc1 == 0 and rc2 == 0:
            diff = weights_difference(out / "ddp-1", out / "ddp-2")
            check("2-GPU DDP train vs 1 GPU", diff < 1e-2,
                  f"max |weight difference| {diff:.2e} (cuDNN is not bitwise deterministic); "
                  f"{s1:.1f} s on 1 GPU, {s2:.1f} s on 2")
        else:
            check("2-GPU DDP train vs 1 GPU", False, last_line(text2 if rc1 == 0 else text1))
    else:
        check("2-GPU DDP train", True, f"skipped: this machine has {gpus} GPU(s)")

    model = out / "mazes-off"
    device, nproc = (DEVICE, 2) if gpus >= 2 else ("cpu", 2)
    test_args = ["test", str(model), "-d", "13", "--iters", "1:60", "--count", "200", "--device",
                 device, "--mode", "fixed", "--mode", "halt", "--json"]
    if (model / "best.safetensors").exists():
        rc1, text1, s1 = dt(test_args)
        rc2, text2, s2 = dt(test_args, nproc=nproc)
        if rc1 == 0 and rc2 == 0:
            a, b = json.loads(text1[text1.index("{"):]), json.loads(text2[text2.index("{"):])
            same = a["fixed"]["correct"] == b["fixed"]["correct"] and a["halt"]["correct"] == b["halt"]["correct"]
            check(f"distributed dt test ({nproc} x {device}) vs 1 process", same,
                  f"{a['fixed']['accuracy'][-1]:.1f}% vs {b['fixed']['accuracy'][-1]:.1f}% at 60; "
                  f"{s1:.1f} s vs {s2:.1f} s")
        else:
            check("distributed dt test", False, last_line(text2 if rc1 == 0 else text1))
    else:
        check("distributed dt test", False, "no model: the fp32 maze training failed")

    if args.solve_seconds > 0:
        solve_801_check(out, args.solve_seconds)

    failed = [name for name, ok, _ in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)} passed, {len(failed)} failed "
          f"in {time.perf_counter() - began:.0f} s (runs in {out})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
