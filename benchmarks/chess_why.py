"""Where a chess model loses to the one-ply rule on a Lichess puzzle file: per case of the rule
(a mate in one exists / a capture exists / neither), the rule's and the model's solve rates at
12 iterations. Usage: python benchmarks/chess_why.py MODEL [CSV] (default: the dev set)."""

from __future__ import annotations

import sys

import numpy as np
import torch


def model_solves(loaded, x, y, iters: int = 12) -> np.ndarray:
    """Per puzzle, whether the model's move after ``iters`` iterations is the solution."""
    from dtcli.engine.device import batch_to

    net, problem, oks = loaded.net, loaded.problem, []
    with torch.inference_mode():
        for lo in range(0, len(x), 250):
            xb, yb = batch_to(x[lo:lo + 250], y[lo:lo + 250], torch.device("cpu"))
            thought, encoded = net.start(xb), net.encode_input(xb)
            for i in range(iters):
                thought = net.think(thought, encoded, i)
            oks.append(problem.correct(problem.predict(net.answer(thought), xb), yb))
    return torch.cat(oks).numpy()


def main(model: str, source: str) -> None:
    from dt_chess.baselines import one_ply_candidates, solve_rate
    from dt_chess.encoding import frame_square, piece_codes, real_board
    from dtcli.engine.model import load_model
    from dtcli.plugins import get_registry

    torch.set_num_threads(1)
    loaded = load_model(model)
    loaded.problem = get_registry().reopen(loaded.problem, {"source": source})
    d = loaded.problem.parse_difficulty("0-3000")
    x, y = loaded.problem.dataset("test", d, 10**6, 0)
    states = loaded.problem.data_record("test", d, 10**6, 0)["state"]
    ok = model_solves(loaded, x, y)
    stats: dict[str, list[float]] = {}
    for i, code in enumerate(piece_codes(x[:, :12])):
        state = int(states[i])
        solution = frozenset(frame_square(int(s), bool(state & 1))
                             for s in np.flatnonzero(y[i].reshape(64).numpy()))
        why, candidates = one_ply_candidates(real_board(code, state))
        row = stats.setdefault(why, [0, 0.0, 0])
        row[0] += 1
        row[1] += solve_rate(candidates, solution)
        row[2] += int(ok[i])
    for why, (n, rule, hits) in stats.items():
        print(f"{why:8s} {int(n):5d} puzzles: one-ply {100 * rule / n:5.1f}%  "
              f"model {100 * hits / n:5.1f}%")
    print(f"all {len(ok)} puzzles: model {100 * ok.mean():.1f}%")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "../shared/lichess_dev.csv")
