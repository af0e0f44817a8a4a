"""The seeds study: how often a recipe succeeds. N seeds of one training recipe per
architecture, each extrapolated to a harder difficulty; reported as the success rate (runs
that reach a chosen accuracy at any iteration up to T), the distribution of peak accuracy,
mean ± standard error, and what the authors' filter (final training accuracy >= 99%) changes.

A study lives in one directory: ``seeds.json`` (the plan), ``runs/<arch>-s<seed>/`` (ordinary
run directories), ``results.json`` and ``results.csv``. Running it again skips finished runs
and resumes half-done ones. No CLI here: events go to a :class:`~dtcli.study.StudyListener`.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from dtcli import runs
from dtcli.config import TrainConfig, resolve_config
from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json, atomic_write_text
from dtcli.study import MACHINE_FIELDS, StudyListener, _check_same, _csv, mean_se, run_state

PLAN = "seeds.json"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"


@dataclass(frozen=True)
class SeedRun:
    arch: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.arch}-s{self.seed}"


@dataclass
class SeedPlan:
    """What a seeds study trains and how it judges success."""

    problem: str
    archs: list[str]
    seeds: list[int]
    out: Path
    preset: str | None = None
    problem_options: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    #: a run succeeds when its accuracy reaches this (%) at some iteration <= max_iter
    success_at: float = 99.0
    max_iter: int | None = None
    min_train_acc: float = 99.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "out": str(self.out)}

    def config(self, arch: str, seed: int) -> TrainConfig:
        return resolve_config(self.problem, arch, self.preset, self.problem_options, {},
                              {**self.overrides, "seed": seed})

    def specs(self) -> list[SeedRun]:
        """Seed by seed, every architecture at each seed: a study stopped early (they take
        hours) still compares the architectures on the same seeds."""
        return [SeedRun(a, s) for s in self.seeds for a in self.archs]


def check_plan(plan: SeedPlan) -> None:
    """Every run's settings resolve (one clear error before any training)."""
    if not plan.archs or not plan.seeds:
        raise DtError("a seeds study needs at least one --arch and one seed")
    for arch in plan.archs:
        plan.config(arch, plan.seeds[0])
    if not 0 <= plan.success_at <= 100:
        raise DtError(f"--success-at must be a percentage, got {plan.success_at}")


def run_record(plan: SeedPlan, run_dir: Path, spec: SeedRun) -> dict[str, Any]:
    """A finished run's curve on its test difficulty, its peak, success and training accuracy."""
    ext = runs.read_extrapolation(run_dir) or {}
    results = ext.get("results") or {}
    if not results:
        raise DtError(f"{run_dir} has no test results; delete it and run the study again")
    difficulty, res = next(iter(results.items()))
    iters, acc = res["iters"], res["fixed"]["accuracy"]
    limit = plan.max_iter or iters[-1]
    window = [(i, a) for i, a in zip(iters, acc) if i <= limit]
    peak_iter, peak = max(window, key=lambda p: (p[1], -p[0])) if window else (None, 0.0)
    history = runs.read_metrics(run_dir)
    return {**asdict(spec), "run_dir": str(run_dir), "difficulty": difficulty,
            "iters": iters, "accuracy": acc, "peak": peak, "peak_iter": peak_iter,
            "success": peak >= plan.success_at,
            "final_train_acc": history[-1]["train_acc"] if history else None,
            "best_val_acc": max((r.get("val_acc") or 0.0 for r in history), default=None),
            "epochs": len(history)}


def summarize(plan: SeedPlan, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per architecture: success rate, peak distribution, mean ± s.e., and with the filter."""
    rows = []
    for arch in plan.archs:
        rs = [r for r in records if r["arch"] == arch]
        if not rs:
            continue
        peaks = sorted(r["peak"] for r in rs)
        kept = [r for r in rs if (r["final_train_acc"] or 0.0) >= plan.min_train_acc]
        mean, se = mean_se(peaks)
        rows.append({
            "arch": arch, "runs": len(rs), "successes": sum(r["success"] for r in rs),
            "success_rate": sum(r["success"] for r in rs) / len(rs),
            "peak_min": peaks[0], "peak_median": statistics.median(peaks), "peak_max": peaks[-1],
            "peak_mean": mean, "peak_se": se, "peaks": peaks,
            "filtered_runs": len(kept), "filtered_successes": sum(r["success"] for r in kept),
            "filtered_peak_mean": mean_se([r["peak"] for r in kept])[0] if kept else None})
    return rows


def write_results(plan: SeedPlan, records: list[dict[str, Any]]) -> dict[str, Any]:
    rows = summarize(plan, records)
    doc = {"study": plan.to_dict(), "complete": len(records) == len(plan.specs()),
           "summary": rows, "runs": records}
    atomic_write_json(plan.out / RESULTS_JSON, doc)
    atomic_write_text(plan.out / RESULTS_CSV, _csv(
        [{k: v for k, v in r.items() if k not in ("iters", "accuracy")} for r in records],
        ["arch", "seed", "difficulty", "peak", "peak_iter", "success", "final_train_acc",
         "best_val_acc", "epochs", "run_dir"]))
    return doc


def run_seed_study(plan: SeedPlan, *, registry=None, listener: StudyListener | None = None,
                   cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Train every run not finished yet, then summarise (results rewritten after each run)."""
    from dtcli.engine.train import train
    from dtcli.plugins import get_registry

    reg = registry or get_registry()
    listener = listener or StudyListener()
    check_plan(plan)
    specs = plan.specs()
    plan.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(plan.out / PLAN, plan.to_dict())
    listener.on_study_start(plan, specs)
    records: list[dict[str, Any]] = []
    for index, spec in enumerate(specs, 1):
        run_dir = plan.out / "runs" / spec.key
        state = run_state(run_dir)
        cfg = plan.config(spec.arch, spec.seed)
        if state != "new":
            _check_same(runs.read_run_config(run_dir)["train"], cfg, run_dir)
        listener.on_run_start(index, len(specs), spec, state)
        if state != "done":
            if state == "resume":
                stored = runs.read_run_config(run_dir)["train"]
                cfg = TrainConfig.from_dict({**stored, **{k: getattr(cfg, k)
                                                          for k in MACHINE_FIELDS}})
            result = train(cfg, run_dir, registry=reg, listener=listener.engine_listener(spec),
                           cancel=cancel, resume=state == "resume",
                           info={"study": str(plan.out), "run": spec.key})
            if result.status != "finished":
                break
        record = run_record(plan, run_dir, spec)
        records.append(record)
        write_results(plan, records)
        listener.on_run_end(index, len(specs), spec, record)
    return write_results(plan, records)
