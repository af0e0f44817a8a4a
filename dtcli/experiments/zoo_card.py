"""Measuring what a zoo card claims: a loaded model's accuracy at the card's iterations (and
its curve) on fresh instances, and the figures that answer one claim. `dt zoo add` writes what
this measures into the card; `dt zoo test` measures again and compares (:func:`dtcli.zoo.agrees`)."""

from __future__ import annotations

from typing import Any


def measure(loaded, difficulty: Any, iters: list[int], count: int, seed: int, mode: str = "fixed",
            *, curve: int = 0, verified: bool = False, on_batch=None,
            on_step=None) -> dict[str, Any]:
    """Accuracy of a loaded model at ``iters`` on ``count`` fresh test instances and, with
    ``curve``, at every iteration up to ``curve`` in the same pass (scoring an iteration costs
    little next to computing it, so the curve comes with the table for free).

    ``verified`` adds the problem's stronger (or, for chess, weaker: a legal move) check at
    ``iters``. When the problem splits its test set into groups (chess: rating bands), each
    group's figures at ``iters`` come too, as ``bands``. Iterations beyond a feed-forward net's
    depth are left out: it cannot think longer.
    """
    from dtcli.engine.extrapolate import extrapolate

    limit = loaded.net.max_depth
    iters = [i for i in iters if limit is None or i <= limit]
    curve = min(curve, limit) if limit is not None else curve
    wanted = sorted(set(iters) | set(range(1, curve + 1)))
    problem = loaded.problem
    x, y = problem.dataset("test", difficulty, count, seed)
    groups = problem.groups("test", difficulty, count, seed) if iters else None
    res = extrapolate(loaded.net, problem, x, y, wanted, modes=(mode,), verify=verified,
                      on_batch=on_batch, on_step=on_step, difficulty=difficulty, groups=groups)
    count = res.total  # a finite source (puzzles of a rating range) may hold fewer

    def at(values: list[float], its: list[int]) -> list[float]:
        acc = dict(zip(res.iters, values))
        return [round(acc[i], 2) for i in its]

    metrics = {mode: "accuracy"} | ({"verified": "verified"} if verified else {})
    out: dict[str, Any] = {"difficulty": difficulty, "count": count, "iters": iters,
                           "accuracy": at(res.accuracy(mode), iters)}
    if verified:
        out["verified"] = at(res.accuracy("verified"), iters)
    if res.groups and iters:
        out["bands"] = [
            {"label": label, "count": total,
             **{key: at(res.group_accuracy(m)[label], iters) for m, key in metrics.items()}}
            for label, total in zip(res.groups["labels"], res.groups["totals"])]
    if curve:
        out["curve"] = {"count": count, "iters": list(range(1, curve + 1)),
                        "accuracy": at(res.accuracy(mode), list(range(1, curve + 1)))}
    return out


def pick(measured: dict[str, Any], claim: dict[str, Any]) -> dict[str, Any]:
    """From one :func:`measure` result, the figures that answer one card claim
    (:func:`dtcli.zoo.claims`): its band's (or the whole set's) count and accuracies."""
    source = measured
    if claim.get("band") is not None:
        source = next((b for b in measured.get("bands", []) if b["label"] == claim["band"]),
                      {"count": 0})
    key = "verified" if claim.get("metric") == "verified" else "accuracy"
    if source["count"] == 0 or key not in source:
        return {"count": 0, "accuracy": [0.0 for _ in claim["iters"]]}
    values = dict(zip(measured["iters"], source[key]))
    return {"count": source["count"], "accuracy": [values[i] for i in claim["iters"]]}
