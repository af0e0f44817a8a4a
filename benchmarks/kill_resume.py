"""Kill training runs at random moments, resume them, and check they end as if never killed.

    python benchmarks/kill_resume.py [--runs 20] [--out DIR] [--seed 0]

Each run (a tiny prefix-sums or maze recipe, its own seed, some with a resume state written
at every step) is first trained uninterrupted; then the same run is started, SIGKILLed 1-3
times (at a random moment, or inside a checkpoint write: after the temporary file is written
and before it is moved into place) and resumed with ``dt train --resume`` until it finishes.
Its metrics (wall times aside) and best weights must equal the uninterrupted run's, bit for
bit. Prints one line per run and a summary; exits non-zero when any run differs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

# A dt process that SIGKILLs itself inside its N-th checkpoint write (between writing the
# temporary file and moving it into place), when DT_KILL_IN_WRITE=N is set.
WRAPPER = textwrap.dedent("""
    import os, signal, sys
    target = int(os.environ.get("DT_KILL_IN_WRITE", "0"))
    if target:
        real, seen = os.replace, [0]
        def replace(src, dst, *a, **k):
            if os.path.basename(str(dst)) in ("last.pt", "best.safetensors", "metrics.jsonl"):
                seen[0] += 1
                if seen[0] == target:
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst, *a, **k)
        os.replace = replace
    from dtcli.cli import main
    sys.argv = ["dt", *sys.argv[1:]]
    main()
""")

RECIPES = [
    ["prefix-sums", "--arch", "dt-recall", "--width", "8", "--max-iters", "5", "--epochs", "3",
     "--batch-size", "16", "--train-count", "160", "--train-difficulty", "10",
     "--test-difficulty", "14", "--test-count", "8", "--test-iters", "8", "--alpha", "0.5"],
    ["mazes", "--arch", "dt-recall", "--width", "6", "--max-iters", "4", "--epochs", "3",
     "--batch-size", "12", "--train-count", "120", "--train-difficulty", "5",
     "--test-difficulty", "7", "--test-count", "6", "--test-iters", "6"],
]


def dt(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRAPPER, *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def outcome(run: Path) -> tuple[list[dict], bytes]:
    metrics = [{k: v for k, v in json.loads(line).items() if k != "seconds"}
               for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    return metrics, (run / "best.safetensors").read_bytes()


def one_run(index: int, root: Path, rng: random.Random, env: dict[str, str]) -> tuple[bool, str]:
    recipe = list(RECIPES[index % len(RECIPES)]) + ["--seed", str(index)]
    if index % 3:
        recipe += ["--checkpoint-every", "0"]  # a resume state at every step
    full, run = root / f"full-{index}", root / f"run-{index}"
    began = time.perf_counter()
    proc = dt(["train", *recipe, "--out", str(full)], env)
    if proc.wait() != 0:
        return False, f"the uninterrupted run failed: {proc.stderr.read()[-300:]}"
    length = time.perf_counter() - began
    kills, how = rng.randint(1, 3), []
    args = ["train", *recipe, "--out", str(run)]
    for _ in range(kills):
        in_write = rng.random() < 0.5
        kill_env = dict(env)
        if in_write:
            kill_env["DT_KILL_IN_WRITE"] = str(rng.randint(1, 12))
        proc = dt(args, kill_env)
        if not in_write:
            time.sleep(rng.uniform(0.2, length))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        proc.wait()
        how.append(("write" if in_write else "time") + ("" if proc.returncode else "(ended)"))
        if (run / "config.json").exists():
            args = ["train", "--resume", str(run)]
    proc = dt(["train", "--resume", str(run)] if (run / "config.json").exists() else args, env)
    if proc.wait() != 0:
        return False, f"resume failed after kills {how}: {proc.stderr.read()[-300:]}"
    same = outcome(run) == outcome(full)
    return same, f"killed {kills}x ({', '.join(how)}): {'identical' if same else 'DIFFERENT'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="dt-kill-"))
    env = {**os.environ, "DT_THREADS": "1", "DT_HOME": str(root / "home")}
    rng = random.Random(args.seed)
    good = 0
    for i in range(args.runs):
        ok, text = one_run(i, root, rng, env)
        good += ok
        print(f"run {i + 1:>2}: {text}", flush=True)
    print(f"{good} of {args.runs} runs ended identical to their uninterrupted twin ({root})")
    return 0 if good == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
