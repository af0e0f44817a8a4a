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

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from dtcli import runs
from dtcli.config import TrainConfig, resolve_config
from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json, atomic_write_text

PLAN = "study.json"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
RUNS_CSV = "runs.csv"
RUNS_DIR = "runs"
#: settings that may differ between a stored run and a re-run of its study (the machine)
MACHINE_FIELDS = {"device", "threads", "amp", "compile", "eval_batch_size"}


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


@dataclass
class StudyPlan:
    """What a study trains; ``overrides`` are TrainConfig settings applied to every run."""

    problem: str
    family: str
    members: list[str]
    depths: list[int]
    seeds: list[int]
    out: Path
    preset: str | None = None
    problem_options: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["out"] = str(self.out)
        return doc


class StudyListener:
    """Study events (all no-ops). ``engine_listener`` gives the engine listener of one run."""

    def on_study_start(self, plan: StudyPlan, specs: list[RunSpec]) -> None: ...
    def on_run_start(self, index: int, total: int, spec: RunSpec, state: str) -> None: ...
    def engine_listener(self, spec: RunSpec) -> Any:
        return None
    def on_run_end(self, index: int, total: int, spec: RunSpec, record: dict[str, Any]) -> None: ...


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
    given = getattr(arch, "default_depths", None)
    if given:
        return list(given)
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


def parse_int_list(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in str(text).replace(" ", "").split(",") if v]
    except ValueError:
        raise DtError(f"{what} must be whole numbers separated by commas, got {text!r}") from None
    if not values:
        raise DtError(f"{what} is empty")
    return sorted(dict.fromkeys(values))


def parse_seeds(text: str | int) -> list[int]:
    """``3`` means seeds 0, 1, 2; ``0,4,7`` names them."""
    text = str(text).strip()
    if "," not in text:
        try:
            n = int(text)
        except ValueError:
            raise DtError(f"--seeds is a count (3) or a list (0,1,2), got {text!r}") from None
        if n < 1:
            raise DtError(f"--seeds must be at least 1, got {n}")
        return list(range(n))
    return parse_int_list(text, "--seeds")


def plan_study(problem: str, family: str, *, depths: list[int] | None = None,
               seeds: list[int] | None = None, out: Path, preset: str | None = None,
               problem_options: dict[str, Any] | None = None,
               overrides: dict[str, Any] | None = None, archs: list[str] | None = None,
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
            arch.iterations_for(depth, 1)  # a clear error for a depth the family cannot have
    unknown = set(overrides or {}) - {f for f in TrainConfig.__dataclass_fields__}
    if unknown:
        raise DtError(f"unknown training setting {sorted(unknown)[0]!r}")
    return StudyPlan(problem=problem, family=family, members=[a.name for a in members],
                     depths=depths, seeds=list(seeds if seeds is not None else range(3)),
                     out=Path(out), preset=preset, problem_options=dict(problem_options or {}),
                     overrides=dict(overrides or {}))


def run_specs(plan: StudyPlan, registry) -> list[RunSpec]:
    """Every run, depth by depth, then seed, then member (so partial results compare)."""
    specs = []
    for depth in plan.depths:
        for seed in plan.seeds:
            for name in plan.members:
                arch = registry.arch(name)
                specs.append(RunSpec(name, bool(arch.recurrent), depth,
                                     arch.iterations_for(depth, 1), seed))
    return specs


def run_config(plan: StudyPlan, spec: RunSpec, registry) -> TrainConfig:
    """The training configuration of one run: resolved as `dt train` resolves it (the preset,
    then the study's overrides, then the run's depth and seed). Unless overridden, the study
    trains with a plain loss (α = 0, as the paper), tests on the training difficulty, and
    scores the test set at the trained depth."""
    given = dict(plan.overrides)
    given.setdefault("alpha", 0.0)
    given.update(depth=spec.depth, seed=spec.seed)
    cfg = resolve_config(plan.problem, spec.arch, plan.preset, plan.problem_options, {}, given)
    if "test_difficulties" not in plan.overrides:
        problem = registry.problem(plan.problem, cfg.problem_options)
        cfg.test_difficulties = [str(cfg.train_difficulty or problem.default_train_difficulty)]
    if "test_iters" not in plan.overrides:
        cfg.test_iters = cfg.max_iters
    return cfg


# -- running -----------------------------------------------------------------------------------


def run_state(run_dir: Path) -> str:
    """``done`` (finished and scored), ``resume`` (has a last checkpoint) or ``new``."""
    if not (run_dir / runs.CONFIG).exists():
        return "new"
    doc = runs.read_run_config(run_dir)
    if doc.get("status") == "finished" and (run_dir / runs.EXTRAPOLATION).exists():
        return "done"
    return "resume" if (run_dir / runs.LAST).exists() else "new"


def _check_same(stored: dict[str, Any], planned: TrainConfig, run_dir: Path) -> None:
    want = json.loads(json.dumps(planned.to_dict()))
    for key, value in want.items():
        if key in MACHINE_FIELDS:
            continue
        if stored.get(key) != value:
            raise DtError(f"{run_dir} was trained with {key}={stored.get(key)!r}, this study asks "
                          f"for {value!r}; use another --out, or the study's own settings")


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


def train_one(plan: StudyPlan, spec: RunSpec, registry, listener, cancel, state: str) -> str:
    """Train (or resume) one run; return its status."""
    from dtcli.engine.train import train

    run_dir = plan.out / RUNS_DIR / spec.key
    cfg = run_config(plan, spec, registry)
    resume = state == "resume"
    if resume:
        stored = runs.read_run_config(run_dir)["train"]
        _check_same(stored, cfg, run_dir)
        machine = {k: getattr(cfg, k) for k in MACHINE_FIELDS}
        cfg = TrainConfig.from_dict({**stored, **machine})
    elif run_dir.exists():
        for stale in run_dir.iterdir():  # a run killed before its first checkpoint
            if stale.is_file():
                stale.unlink()
    result = train(cfg, run_dir, registry=registry, listener=listener, cancel=cancel,
                   resume=resume, info={"study": str(plan.out), "run": spec.key})
    return result.status


def run_study(plan: StudyPlan, *, registry=None, listener: StudyListener | None = None,
              cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Train every run that is not finished yet, then summarise; returns the results document.

    Results are rewritten after every run, so an interrupted study leaves what it has.
    """
    from dtcli.plugins import get_registry

    reg = registry or get_registry()
    listener = listener or StudyListener()
    specs = run_specs(plan, reg)
    plan.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(plan.out / PLAN, plan.to_dict())
    listener.on_study_start(plan, specs)
    records: list[dict[str, Any]] = []
    for index, spec in enumerate(specs, 1):
        run_dir = plan.out / RUNS_DIR / spec.key
        state = run_state(run_dir)
        if state == "done":
            _check_same(runs.read_run_config(run_dir)["train"], run_config(plan, spec, reg), run_dir)
        listener.on_run_start(index, len(specs), spec, state)
        if state != "done":
            status = train_one(plan, spec, reg, listener.engine_listener(spec), cancel, state)
            if status != "finished":
                break
        record = run_record(run_dir, spec)
        records.append(record)
        write_results(plan, records)
        listener.on_run_end(index, len(specs), spec, record)
    return write_results(plan, records)


# -- results -----------------------------------------------------------------------------------


def mean_se(values: list[float]) -> tuple[float, float | None]:
    """Mean and standard error of the mean (sample standard deviation / √n; None for n = 1)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


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


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([";".join(map(str, r[c])) if isinstance(r[c], list) else
                         ("" if r[c] is None else r[c]) for c in columns])
    return buf.getvalue()


def write_results(plan: StudyPlan, records: list[dict[str, Any]]) -> dict[str, Any]:
    rows = summarize(records, plan.members)
    doc = {"study": plan.to_dict(), "complete": len(records) == len(plan.members) * len(plan.depths) * len(plan.seeds),
           "summary": rows, "runs": records}
    atomic_write_json(plan.out / RESULTS_JSON, doc)
    atomic_write_text(plan.out / RESULTS_CSV, _csv(rows, [
        "arch", "recurrent", "depth", "iterations", "parameters", "runs", "test_acc_mean",
        "test_acc_se", "seeds", "test_acc"]))
    atomic_write_text(plan.out / RUNS_CSV, _csv(records, [
        "arch", "recurrent", "depth", "iterations", "seed", "parameters", "effective_depth",
        "test_acc", "best_val_acc", "final_train_acc", "epochs", "train_seconds", "run_dir"]))
    return doc


# -- analysis (--analyze) ----------------------------------------------------------------------
