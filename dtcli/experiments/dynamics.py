"""How a trained run thinks, measured once when a study records it: the settled share of
positions and the solve trace (``dt analyze stability``), the trained ``think``'s Lipschitz
estimate, and the AA score (``dt analyze path-independence``), on the run's test difficulty.
Written to the run directory as ``dynamics.json`` so a study summarised again reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dtcli.contracts.paths import atomic_write_json

DYNAMICS = "dynamics.json"


def run_dynamics(run_dir: Path, difficulty: Any, iters: int, *, count: int = 20,
                 starts: int = 2, seed: int = 0) -> dict[str, Any] | None:
    """The run's dynamics at ``iters`` iterations on ``count`` instances (None for a
    feed-forward net, whose blocks cannot think on from another thought)."""
    path = Path(run_dir) / DYNAMICS
    want = {"difficulty": str(difficulty), "iters": iters, "count": count, "starts": starts,
            "seed": seed}
    if path.exists():
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("measured") == want:
            return doc["result"]
    from dtcli.analysis.common import load_data
    from dtcli.analysis.path_independence import path_independence
    from dtcli.analysis.stability import stability
    from dtcli.engine.model import load_model

    loaded = load_model(run_dir)
    if not loaded.net.recurrent:
        return None
    problem = loaded.problem
    d = problem.parse_difficulty(difficulty)
    x, y = load_data(problem, d, count, seed, next(loaded.net.parameters()).device)
    stab = stability(loaded.net, problem, x, y, iters, max_iters=loaded.max_iters,
                     lipschitz_points=2, lipschitz_count=min(8, count), seed=seed).summary()
    aa = path_independence(loaded.net, problem, x, y, iters, starts=starts, seed=seed).summary()
    result = {"settled_positions": stab["settled_positions_at_last"],
              "lipschitz": stab["lipschitz_at_last"],
              "stayed_solved": stab["solve_stayed_solved"], "solved": stab["solve_solved"],
              "flickers": stab["solve_flickers"], "aa": aa["aa_mean"],
              "aa_min": aa["aa_min"], "accuracy_random_starts": aa["accuracy_random_mean"]}
    atomic_write_json(path, {"measured": want, "result": result})
    return result
