"""Several models side by side (``dt compare``): their accuracy-vs-iterations curves on one
difficulty, read from what a run or a zoo card already measured or measured afresh, and the
reference's make_table summary (peak accuracy and where it is reached, grouped over seeds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dtcli import factory, runs, zoo
from dtcli.config import think_iters
from dtcli.contracts.errors import DtError
from dtcli.engine.model import load_model
from dtcli.experiments.stats import mean_se

#: settings that make two runs "the same setting" apart from their seed
GROUP_KEYS = ("problem", "arch", "width", "max_iters", "alpha", "train_difficulty", "nk_sampling",
              "problem_options")


@dataclass
class ModelCurve:
    """One model's accuracy at each iteration on one difficulty."""

    label: str
    source: str  # "run" or "zoo"
    settings: dict[str, Any]
    iters: list[int]
    accuracy: list[float]
    count: int
    difficulty: Any
    measured: bool  # False: read from extrapolation.json or the card
    train_acc: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def max_iters(self) -> int:
        return self.settings["max_iters"]

    def peak(self) -> tuple[int, float]:
        j = max(range(len(self.accuracy)), key=lambda k: (self.accuracy[k], -k))
        return self.iters[j], self.accuracy[j]

    def at(self, iteration: int) -> float | None:
        return self.accuracy[self.iters.index(iteration)] if iteration in self.iters else None

    def group(self) -> tuple:
        return tuple((k, str(self.settings.get(k))) for k in GROUP_KEYS)


def _model_doc(ref: str) -> tuple[str, dict[str, Any], str]:
    """``(label, document with train settings, source)`` of a run directory or zoo name."""
    if not Path(ref).expanduser().exists() and zoo.is_zoo_name(ref):
        return ref, zoo.card(ref), "zoo"
    run = factory.resolve(ref)[1]
    return run.name, runs.read_run_config(run), "run"


def _recorded(ref: str, source: str, doc: dict, difficulty: Any, wanted: list[int]):
    """A curve already measured at ``difficulty`` covering ``wanted``: ``(iters, acc, count)``."""
    if source == "zoo":
        for row in (doc.get("extrapolation") or {}).get("results", []):
            curve = row.get("curve")
            if curve and str(row["difficulty"]) == str(difficulty) and set(wanted) <= set(curve["iters"]):
                return curve["iters"], curve["accuracy"], curve.get("count", row.get("count"))
        return None
    ext = runs.read_extrapolation(Path(ref))
    res = ((ext or {}).get("results") or {}).get(str(difficulty))
    if res and set(wanted) <= set(res["iters"]) and "fixed" in res:
        return res["iters"], res["fixed"]["accuracy"], res["total"]
    return None


def collect(refs: list[str], difficulty: str | None, wanted: list[int] | None, *, count: int,
            seed: int, device: Any = "cpu",
            measure: Callable[..., Any] | None = None,
            on_progress: Callable[[float], None] | None = None,
            fresh: bool = False) -> list[ModelCurve]:
    """Every model's curve on one difficulty (default: the first model's first test
    difficulty), read when already measured (unless ``fresh``), else measured on ``count``
    fresh instances; ``on_progress(fraction)`` follows the work (inside a measurement too)."""
    progress = on_progress or (lambda fraction: None)
    from dtcli.config import TrainConfig

    if not refs:
        raise DtError("name at least one run directory or zoo model to compare")
    curves: list[ModelCurve] = []
    problem_name = None
    for index, ref in enumerate(refs):
        progress(index / len(refs))
        label, doc, source = _model_doc(ref)
        cfg = TrainConfig.from_dict(doc["train"])
        if problem_name not in (None, cfg.problem):
            raise DtError(f"{ref} is a {cfg.problem} model and {refs[0]} a {problem_name} one; "
                          "compare models of one problem")
        problem_name = cfg.problem
        if difficulty is None:
            difficulty = (cfg.test_difficulties or [None])[0]
            if difficulty is None:
                raise DtError(f"{ref} records no test difficulty: give one with -d")
        depth = (doc.get("model") or {}).get("max_depth")
        iters = wanted or list(range(1, think_iters(cfg.max_iters, depth, cfg.test_iters) + 1))
        found = None if fresh else _recorded(ref, source, doc, difficulty, iters)
        if found is not None:
            all_iters, all_acc, n = found
            acc = dict(zip(all_iters, all_acc))
            curve_iters, curve_acc, measured = iters, [acc[i] for i in iters], False
        elif measure is not None:
            res = measure(ref, difficulty, iters, count, seed, device)
            curve_iters, curve_acc, n, measured = res.iters, res.accuracy(), res.total, True
        else:
            res = _measure(ref, difficulty, iters, count, seed, device,
                           lambda f, i=index: progress((i + f) / len(refs)))
            curve_iters, curve_acc, n, measured = res.iters, res.accuracy(), res.total, True
        from dtcli.plugins import get_registry

        problem = get_registry().problem(cfg.problem, cfg.problem_options)
        train_d = cfg.train_difficulty or problem.default_train_difficulty
        extra = {"train": problem.describe_difficulty(problem.parse_difficulty(train_d)),
                 "test": problem.describe_difficulty(problem.parse_difficulty(str(difficulty)))}
        history = runs.read_metrics(Path(ref)) if source == "run" else []
        train_acc = history[-1].get("train_acc") if history else None
        curves.append(ModelCurve(label=label, source=source, settings=cfg.to_dict(),
                            iters=list(curve_iters), accuracy=list(curve_acc), count=n,
                            difficulty=difficulty, measured=measured, train_acc=train_acc,
                            extra=extra))
    progress(1.0)
    return curves


def _measure(ref: str, difficulty: Any, iters: list[int], count: int, seed: int, device: Any,
             on_step: Callable[[float], None] | None = None):
    from dtcli.engine.extrapolate import extrapolate

    loaded = load_model(ref, device=device)
    d = loaded.problem.parse_difficulty(str(difficulty))
    x, y = loaded.problem.dataset("test", d, count, seed)
    return extrapolate(loaded.net, loaded.problem, x, y, iters, difficulty=d, on_step=on_step)


def apply_filter(curves: list[ModelCurve], min_train_acc: float | None) -> tuple[list[ModelCurve], list[ModelCurve]]:
    """The authors' filter: keep runs whose final training accuracy reached ``min_train_acc``
    (zoo models, which record none, are kept). Returns ``(kept, dropped)``."""
    if min_train_acc is None:
        return curves, []
    kept = [c for c in curves if c.train_acc is None or c.train_acc >= min_train_acc]
    return kept, [c for c in curves if c not in kept]


def summary_rows(curves: list[ModelCurve]) -> list[dict[str, Any]]:
    """The make_table summary: per group of identical settings, mean ± s.e. over its runs of
    the peak accuracy, the iteration of the peak, and the accuracy at max_iters and at the
    last iteration."""
    groups: dict[tuple, list[ModelCurve]] = {}
    for c in curves:
        groups.setdefault(c.group(), []).append(c)
    rows = []
    for key, members in groups.items():
        peaks = [c.peak() for c in members]
        at_max = [c.at(c.max_iters) for c in members]
        row = {"settings": dict(key), "runs": [c.label for c in members], "n": len(members),
               "peak": mean_se([p[1] for p in peaks]),
               "peak_iter": mean_se([float(p[0]) for p in peaks]),
               "last": mean_se([c.accuracy[-1] for c in members]),
               "at_max_iters": mean_se([a for a in at_max if a is not None])
               if all(a is not None for a in at_max) else None,
               "counts": sorted({c.count for c in members})}
        rows.append(row)
    return rows
