"""Which instances a model solves within N iterations, one by one.

``python benchmarks/solved_within.py mazes-dt-recall-far -d 201 -n 5 --seed 1000 --iters 10000``

`dt test` reports the share correct *at* each iteration; a long extrapolation asks something
else: was each instance ever correct, and when first (as `dt solve` counts a solve, stopping the
moment it is). This scores every ``--every`` iterations and prints, per instance, the first
iteration it was correct and the share of later checks it stayed correct; ``--json`` for scripts.
The same seed and count draw the same instances as `dt test` and the zoo cards (nested sampling).
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="run directory or zoo name")
    ap.add_argument("-d", "--difficulty", required=True)
    ap.add_argument("-n", "--count", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--iters", type=int, default=10_000)
    ap.add_argument("--every", type=int, default=10, help="score every N iterations")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import torch

    from dtcli.engine.device import batch_to
    from dtcli.engine.model import load_model

    torch.set_num_threads(args.threads)
    loaded = load_model(args.model, device="cpu")
    problem, net = loaded.problem, loaded.net
    difficulty = problem.parse_difficulty(args.difficulty)
    x, y = problem.dataset("test", difficulty, args.count, args.seed)
    x, y = batch_to(x, y, torch.device("cpu"))
    first: list[int | None] = [None] * len(x)
    checks_after = [0] * len(x)
    correct_after = [0] * len(x)
    start = time.perf_counter()
    net.eval()
    with torch.inference_mode():
        for i, thought in net.iterate(x, args.iters):
            if i % args.every and i != args.iters:
                continue
            ok = problem.correct(problem.predict(net.answer(thought), x), y).tolist()
            for k, good in enumerate(ok):
                if good and first[k] is None:
                    first[k] = i
                if first[k] is not None:
                    checks_after[k] += 1
                    correct_after[k] += bool(good)
            if i % 1000 == 0:
                print(f"iteration {i}: {sum(ok)} correct now, {sum(f is not None for f in first)}"
                      f" ever, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    out = {"model": args.model, "difficulty": args.difficulty, "count": len(x), "seed": args.seed,
           "iters": args.iters, "every": args.every,
           "seconds": round(time.perf_counter() - start, 1),
           "solved_within": sum(f is not None for f in first), "first_correct": first,
           "correct_at_last": sum(ok),
           "stayed_correct": [round(c / n, 3) if n else None
                              for c, n in zip(correct_after, checks_after)]}
    if args.json:
        print(json.dumps(out))
    else:
        for k, f in enumerate(first):
            when = f"first correct at {f}, correct at {out['stayed_correct'][k]:.0%} of later checks" \
                if f is not None else f"never correct in {args.iters} iterations"
            print(f"instance {k}: {when}")
        print(f"{out['solved_within']} of {len(x)} solved within {args.iters} iterations "
              f"({out['correct_at_last']} correct at the last; {out['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
