"""The depth study: recurrent and feed-forward members of one architecture family, trained at
several effective depths and seeds, compared on test accuracy and parameter count.

A study lives in one directory: ``study.json`` (the plan), ``runs/<arch>-d<depth>-s<seed>/``
(ordinary run directories), ``results.json`` and ``results.csv`` (one row per member and depth:
mean ± standard error over seeds) and ``runs.csv`` (one row per run). Running the same study
again skips finished runs and resumes half-done ones from their last epoch, so an interrupted
study continues where it stopped. This module knows nothing of the CLI: events go to a
:class:`StudyListener`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from dtcli import runs
from dtcli.config import TrainConfig
from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json, atomic_write_text
from dtcli.experiments.recipe import resolve_config
from dtcli.experiments.runner import RecipePlan, StudyListener, run_all
from dtcli.experiments.stats import mean_se, to_csv

PLAN = "study.json"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
RUNS_CSV = "runs.csv"


@dataclass(frozen=True)
class RunSpec:
    """One training run of the study."""

    arch: str
    recurrent: bool
    depth: int
    iterations: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.arch}-d{self.depth}-s{self.seed}"


@dataclass(kw_only=True)
class StudyPlan(RecipePlan):
    """What a depth study trains; ``overrides`` are TrainConfig settings applied to every run."""

    family: str
    members: list[str]
    depths: list[int]
    #: architecture options every member is built with (``--arch-option blocks=3``)
    arch_options: dict[str, Any] = field(default_factory=dict)

    plan_file = PLAN

    # -- what the runner asks of a study (experiments.runner.Study) --

    def specs(self, registry) -> list[RunSpec]:
        return run_specs(self, registry)

    def config(self, spec: RunSpec, registry) -> TrainConfig:
        return run_config(self, spec, registry)

    def record(self, run_dir: Path, spec: RunSpec) -> dict[str, Any]:
        return run_record(run_dir, spec)

    def write(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return write_results(self, records)


# -- planning ----------------------------------------------------------------------------------


def family_members(registry, family: str, only: list[str] | None = None) -> list:
    """The architectures of ``family``, recurrent first; ``only`` restricts them by name."""
    members = [a for a in registry.archs.values() if a.family == family]
    if not members:
        families = sorted({a.family for a in registry.archs.values() if a.family})
        raise DtError(f"no architecture family {family!r}; families: {', '.join(families)}")
    if only:
        unknown = sorted(set(only) - {a.name for a in members})
        if unknown:
            raise DtError(f"{unknown[0]!r} is not in family {family!r} "
                          f"({', '.join(a.name for a in members)})")
        members = [a for a in members if a.name in only]
    return sorted(members, key=lambda a: (not a.recurrent, a.name))


def default_depths(arch, count: int = 4) -> list[int]:
    """An architecture's study depths: its ``default_depths``, else its first ``count`` valid
    effective depths."""
    if arch.default_depths:
        return list(arch.default_depths)
    found = []
    for depth in range(1, 1000):
        try:
            arch.iterations_for(depth, 1)
        except DtError:
            continue
        found.append(depth)
        if len(found) == count:
            break
    return found


def plan_study(problem: str, family: str, *, depths: list[int] | None = None,
               seeds: list[int] | None = None, out: Path, preset: str | None = None,
               problem_options: dict[str, Any] | None = None,
               overrides: dict[str, Any] | None = None, archs: list[str] | None = None,
               arch_options: dict[str, Any] | None = None,
               registry=None) -> StudyPlan:
    """Check the names and the depths (every member must have each depth) and make the plan."""
    from dtcli.plugins import get_registry

    reg = registry or get_registry()
    prob = reg.problem(problem, problem_options or {})
    members = family_members(reg, family, archs)
    for arch in members:
        reason = arch.supports(prob)
        if reason:
            raise DtError(reason)
    depths = sorted(dict.fromkeys(depths or default_depths(members[0])))
    for arch in members:
        for depth in depths:
            # a clear error for a depth the family cannot have
            arch.iterations_for(depth, 1, arch_options)
    unknown = set(overrides or {}) - {f for f in TrainConfig.__dataclass_fields__}
    if unknown:
        raise DtError(f"unknown training setting {sorted(unknown)[0]!r}")
    return StudyPlan(problem=problem, family=family, members=[a.name for a in members],
                     depths=depths, seeds=list(seeds if seeds is not None else range(3)),
                     out=Path(out), preset=preset, problem_options=dict(problem_options or {}),
                     overrides=dict(overrides or {}), arch_options=dict(arch_options or {}))


def run_specs(plan: StudyPlan, registry) -> list[RunSpec]:
    """Every run, depth by depth, then seed, then member (so partial results compare)."""
    specs = []
    for depth in plan.depths:
        for seed in plan.seeds:
            for name in plan.members:
                arch = registry.arch(name)
                specs.append(RunSpec(name, bool(arch.recurrent), depth,
                                     arch.iterations_for(depth, 1, plan.arch_options), seed))
    return specs


def run_config(plan: StudyPlan, spec: RunSpec, registry) -> TrainConfig:
    """The training configuration of one run: resolved as `dt train` resolves it (the preset,
    then the study's overrides, then the run's depth and seed). Unless overridden, the study
    trains with a plain loss (α = 0, as the paper), tests on the training difficulty, and
    scores the test set at the trained depth."""
    given = dict(plan.overrides)
    given.setdefault("alpha", 0.0)
    given.update(depth=spec.depth, seed=spec.seed)
    cfg = resolve_config(plan.problem, spec.arch, plan.preset, plan.problem_options,
                         plan.arch_options, given)
    if "test_difficulties" not in plan.overrides:
        problem = registry.problem(plan.problem, cfg.problem_options)
        cfg.test_difficulties = [str(cfg.train_difficulty or problem.default_train_difficulty)]
    if "test_iters" not in plan.overrides:
        cfg.test_iters = cfg.max_iters
    return cfg


# -- running -----------------------------------------------------------------------------------


def run_record(run_dir: Path, spec: RunSpec) -> dict[str, Any]:
    """What the study keeps of a finished run: test accuracy at the trained iterations."""
    from dtcli.engine.extrapolate import ExtrapolationResult

    doc = runs.read_run_config(run_dir)
    cfg = TrainConfig.from_dict(doc["train"])
    ext = runs.read_extrapolation(run_dir) or {}
    results = ext.get("results") or {}
    if not results:
        raise DtError(f"{run_dir} has no test results; delete it and run the study again")
    difficulty, first = next(iter(results.items()))
    res = ExtrapolationResult.from_dict(first)
    at = min(cfg.max_iters, res.iters[-1])
    history = runs.read_metrics(run_dir)
    vals = [r["val_acc"] for r in history if r.get("val_acc") is not None]
    return {**asdict(spec), "run_dir": str(run_dir), "parameters": doc["model"]["parameters"],
            "effective_depth": doc["model"]["effective_depth"], "difficulty": difficulty,
            "test_acc": res.at(at), "test_count": res.total,
            "best_val_acc": max(vals) if vals else None,
            "final_train_acc": history[-1]["train_acc"] if history else None,
            "epochs": len(history),
            "train_seconds": round(sum(r.get("seconds", 0.0) for r in history), 2)}


def run_study(plan: StudyPlan, *, registry=None, listener: StudyListener | None = None,
              cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Train every run that is not finished yet, then summarise; returns the results document
    (rewritten after every run, so an interrupted study leaves what it has)."""
    return run_all(plan, registry=registry, listener=listener, cancel=cancel)


# -- results -----------------------------------------------------------------------------------


def summarize(records: list[dict[str, Any]], members: list[str]) -> list[dict[str, Any]]:
    """One row per (member, depth): mean ± standard error of the test accuracy over seeds."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["arch"], r["depth"]), []).append(r)
    rows = []
    order = {name: i for i, name in enumerate(members)}
    for (arch, depth), rs in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        mean, se = mean_se([r["test_acc"] for r in rs])
        rows.append({"arch": arch, "recurrent": rs[0]["recurrent"], "depth": depth,
                     "iterations": rs[0]["iterations"], "parameters": rs[0]["parameters"],
                     "runs": len(rs), "seeds": [r["seed"] for r in rs],
                     "test_acc_mean": mean, "test_acc_se": se,
                     "test_acc": [r["test_acc"] for r in rs]})
    return rows


def write_results(plan: StudyPlan, records: list[dict[str, Any]]) -> dict[str, Any]:
    rows = summarize(records, plan.members)
    doc = {"study": plan.to_dict(), "complete": len(records) == len(plan.members) * len(plan.depths) * len(plan.seeds),
           "summary": rows, "runs": records}
    atomic_write_json(plan.out / RESULTS_JSON, doc)
    atomic_write_text(plan.out / RESULTS_CSV, to_csv(rows, [
        "arch", "recurrent", "depth", "iterations", "parameters", "runs", "test_acc_mean",
        "test_acc_se", "seeds", "test_acc"]))
    atomic_write_text(plan.out / RUNS_CSV, to_csv(records, [
        "arch", "recurrent", "depth", "iterations", "seed", "parameters", "effective_depth",
        "test_acc", "best_val_acc", "final_train_acc", "epochs", "train_seconds", "run_dir"]))
    return doc
