"""What makes DT-L learn: one lever at a time on short prefix-sums runs (issue 28).

``nice -n 19 python benchmarks/dtl_levers.py --out studies/dtl-levers [--only NAME,...]``

Every lever is an ordinary ``dt train`` run (its flags below) in ``OUT/<name>``; running the
script again skips finished runs and resumes interrupted ones (``dt train --resume``), so it
can be stopped at any time. After training, ``dt analyze stability`` measures the trained
``think``'s Lipschitz estimate on the training size, and the table ``OUT/levers.md`` (and
``levers.json``) gathers, per lever: final training accuracy, peak accuracy on 128 and 512 bits
(and the iteration), and the Lipschitz estimate. One thread per run: start at most two of these.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

#: the recipe every lever starts from: README's seeds-study recipe (width 32, α 1, lr 2e-3,
#: 30 epochs of 9,000 strings), DT-L with each conv held to its operator norm and the recall
#: conv to 0.99 (a guaranteed contraction close to 1)
BASE = ["--width", "32", "--alpha", "1", "--lr", "0.002", "--epochs", "30",
        "--max-iters", "30", "--train-count", "10000", "--test-difficulty", "128",
        "--test-difficulty", "512", "--test-count", "100", "--test-iters", "500",
        ]
BASE_ARCH = {"conv_norm": "operator", "contraction": "0.99"}

#: name -> (arch options changed from BASE_ARCH, train flags added to BASE)
LEVERS: dict[str, tuple[dict[str, str], list[str]]] = {
    "base": ({}, []),
    "recall-thought-only": ({"recall_norm": "thought"}, []),
    "orthogonal-init": ({"init": "orthogonal"}, []),
    "mix-0.1": ({"mix_init": "0.1"}, []),
    "no-batchnorm": ({"batch_norm": "off"}, []),
    "lr-5e-4": ({}, ["--lr", "0.0005"]),
    "alpha-0.5": ({}, ["--alpha", "0.5"]),
    "spectral": ({"conv_norm": "spectral"}, []),
    "contraction-0.95": ({"contraction": "0.95"}, []),
    "contraction-0.999": ({"contraction": "0.999"}, []),
    "warmup-5": ({}, ["--warmup", "5"]),
    "epochs-150": ({}, ["--epochs", "150"]),
    "seed-1": ({}, ["--seed", "1"]),
}


def dt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dtcli", *args], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"})


def status(run: Path) -> str | None:
    try:
        return json.loads((run / "config.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


def train(name: str, run: Path, threads: int, extra_arch: dict[str, str],
          extra_flags: list[str]) -> bool:
    state = status(run)
    if state == "finished":
        return True
    if state is not None and (run / "last.pt").exists():
        cmd = ["train", "--resume", str(run), "--threads", str(threads)]
    else:
        arch = {**BASE_ARCH, **extra_arch}
        cmd = ["train", "prefix-sums", "--arch", "dt-l", *BASE, *extra_flags,
               "--threads", str(threads), "--out", str(run)]
        for key, value in arch.items():
            cmd += ["--arch-option", f"{key}={value}"]
    print(f"[{name}] dt {' '.join(cmd)}", flush=True)
    done = dt(*cmd)
    if done.returncode != 0:
        print(f"[{name}] failed: {done.stderr.strip()[-400:]}", flush=True)
    return status(run) == "finished"


def measure(run: Path, threads: int) -> dict:
    """The row of one finished run (cached in ``row.json``)."""
    cached = run / "row.json"
    if cached.exists():
        return json.loads(cached.read_text())
    cfg = json.loads((run / "config.json").read_text())
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
               if line.strip()]
    last = metrics[-1] if metrics else {}
    row: dict = {"epochs": len(metrics), "train_acc": last.get("train_acc"),
                 "val_acc": max((m.get("val_acc") or 0) for m in metrics) if metrics else None,
                 "arch_options": cfg["train"]["arch_options"]}
    extrap = json.loads((run / "extrapolation.json").read_text())
    for difficulty, item in extrap["results"].items():
        correct, iters = item["fixed"]["correct"], item["iters"]
        best = max(range(len(correct)), key=lambda i: correct[i])
        row[f"peak_{difficulty}"] = [round(100 * correct[best] / item["total"], 1), iters[best]]
    stab = dt("analyze", "stability", str(run), "-d", "32", "--iters", "300", "-n", "50",
              "--threads", str(threads), "--json")
    if stab.returncode == 0:
        s = json.loads(stab.stdout)
        row["lipschitz"] = s["summary"]["lipschitz_at_last"]
        row["lipschitz_max"] = max(s["lipschitz"]["max"])
        row["settled_share"] = s["summary"]["settled_share"]
    else:
        row["lipschitz_error"] = stab.stderr.strip()[-200:]
    cached.write_text(json.dumps(row, indent=1))
    return row


def table(rows: dict[str, dict]) -> str:
    out = ["| lever | train acc % | 128 bits: peak % (iter) | 512 bits: peak % (iter) | "
           "Lipschitz estimate |", "|---|---|---|---|---|"]
    for name, r in rows.items():
        peak = lambda d: (f"{r[d][0]} ({r[d][1]})" if d in r else "-")  # noqa: E731
        lip = r.get("lipschitz")
        out.append(f"| {name} | {r.get('train_acc')} | {peak('peak_128')} | {peak('peak_512')} "
                   f"| {'-' if lip is None else f'{lip:.3f}'} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="studies/dtl-levers")
    ap.add_argument("--only", default="", help="comma-separated lever names (default: all)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.only.split(",") if n] or list(LEVERS)
    for name in names:
        arch, flags = LEVERS[name]
        run = out / name
        if train(name, run, args.threads, arch, flags):
            print(f"[{name}] {measure(run, args.threads)}", flush=True)
            # every finished lever, also those another process of this script measured
            rows = {n: json.loads((out / n / "row.json").read_text()) for n in LEVERS
                    if (out / n / "row.json").exists()}
            (out / "levers.json").write_text(json.dumps(rows, indent=1))
            (out / "levers.md").write_text(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
