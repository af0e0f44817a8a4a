"""A sweep: one recipe trained at every point of a grid of settings (``--width 16,32 --lr
1e-3,2e-3``), for each architecture and seed, each run tested; reported per grid point as
mean ± standard error over seeds.

A sweep lives in one directory: ``sweep.json`` (the plan), ``runs/<key>/`` (ordinary run
directories, keyed by architecture, swept values and seed), ``results.json`` and
``results.csv``. Running it again skips finished runs and resumes half-done ones (the studies'
runner, :func:`~dtcli.experiments.runner.run_all`). No CLI here.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dtcli import runs
from dtcli.config import TrainConfig
from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json, atomic_write_text
from dtcli.experiments.recipe import resolve_config
from dtcli.experiments.runner import RecipePlan, StudyListener, run_all
from dtcli.experiments.stats import mean_se, peak, to_csv

PLAN = "sweep.json"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
#: at most this many runs in one sweep (a grid typed by mistake can ask for thousands)
MAX_RUNS = 1000


def _value_text(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return re.sub(r"[^A-Za-z0-9.+-]", "_", text)


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: an architecture, a grid point (setting -> value) and a seed."""

    arch: str
    point: tuple[tuple[str, Any], ...]
    seed: int

    @property
    def key(self) -> str:
        values = [f"{name.replace('_', '')}{_value_text(v)}" for name, v in self.point]
        return "-".join([self.arch, *values, f"s{self.seed}"])

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.point)


@dataclass(kw_only=True)
class SweepPlan(RecipePlan):
    """What a sweep trains: architectures × the grid's points × seeds, one recipe."""

    archs: list[str]
    #: setting -> the values it takes, in the order given (the grid is their product)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    arch_options: dict[str, Any] = field(default_factory=dict)

    plan_file = PLAN

    def points(self) -> list[tuple[tuple[str, Any], ...]]:
        names = list(self.grid)
        return [tuple(zip(names, values)) for values in
                itertools.product(*(self.grid[n] for n in names))]

    def specs(self, registry=None) -> list[SweepRun]:
        """Seed by seed, every point and architecture at each: a sweep stopped early still
        has every point measured on the same seeds."""
        return [SweepRun(a, p, s) for s in self.seeds for p in self.points() for a in self.archs]

    def config(self, spec: SweepRun, registry=None) -> TrainConfig:
        return resolve_config(self.problem, spec.arch, self.preset, self.problem_options,
                              self.arch_options, {**self.overrides, **spec.settings,
                                                  "seed": spec.seed})

    def record(self, run_dir: Path, spec: SweepRun) -> dict[str, Any]:
        return run_record(run_dir, spec)

    def write(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return write_results(self, records)


def check_plan(plan: SweepPlan, registry=None) -> None:
    """Every grid point resolves to a valid recipe: one clear error before any training."""
    if not plan.archs or not plan.seeds:
        raise DtError("a sweep needs at least one --arch and one seed")
    if "seed" in plan.grid:
        raise DtError("give the seeds with --seed, not in the grid")
    total = len(plan.archs) * len(plan.seeds) * len(plan.points())
    if total > MAX_RUNS:
        raise DtError(f"this sweep asks for {total:,} runs (at most {MAX_RUNS}); sweep fewer "
                      "values at a time")
    for arch in plan.archs:
        for point in plan.points():
            plan.config(SweepRun(arch, point, plan.seeds[0]), registry)


def run_record(run_dir: Path, spec: SweepRun) -> dict[str, Any]:
    """A finished run: its swept settings, training result and the peak on each test."""
    history = runs.read_metrics(run_dir)
    ext = runs.read_extrapolation(run_dir) or {}
    tests = {}
    for difficulty, res in (ext.get("results") or {}).items():
        at, best = peak(res["iters"], res["fixed"]["accuracy"])
        tests[difficulty] = {"peak": best, "peak_iter": at}
    vals = [r["val_acc"] for r in history if r.get("val_acc") is not None]
    return {"arch": spec.arch, "seed": spec.seed, "settings": spec.settings, "key": spec.key,
            "run_dir": str(run_dir), "epochs": len(history),
            "final_train_acc": history[-1]["train_acc"] if history else None,
            "best_val_acc": max(vals) if vals else None,
            "train_seconds": round(sum(r.get("seconds") or 0 for r in history), 1),
            "tests": tests}


def _mean_se_of(values: list[float | None]) -> tuple[float | None, float | None]:
    kept = [v for v in values if v is not None]
    return mean_se(kept) if kept else (None, None)


def summarize(plan: SweepPlan, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per architecture and grid point: runs, training and validation means, and each test's
    peak mean ± s.e. over seeds."""
    rows = []
    for point in plan.points():
        for arch in plan.archs:
            rs = [r for r in records if r["arch"] == arch and r["settings"] == dict(point)]
            if not rs:
                continue
            tests = {}
            for d in rs[0]["tests"]:
                mean, se = _mean_se_of([r["tests"].get(d, {}).get("peak") for r in rs])
                tests[d] = {"peak_mean": mean, "peak_se": se}
            rows.append({"arch": arch, "settings": dict(point), "runs": len(rs),
                         "seeds": [r["seed"] for r in rs],
                         "train_mean": _mean_se_of([r["final_train_acc"] for r in rs])[0],
                         "val_mean": _mean_se_of([r["best_val_acc"] for r in rs])[0],
                         "tests": tests})
    return rows


def write_results(plan: SweepPlan, records: list[dict[str, Any]]) -> dict[str, Any]:
    doc = {"study": plan.to_dict(), "complete": len(records) == len(plan.specs()),
           "summary": summarize(plan, records), "runs": records}
    atomic_write_json(plan.out / RESULTS_JSON, doc)
    names = list(plan.grid)
    difficulties = list(records[0]["tests"]) if records else []
    flat = [{"arch": r["arch"], **r["settings"], "seed": r["seed"],
             "final_train_acc": r["final_train_acc"], "best_val_acc": r["best_val_acc"],
             "train_seconds": r["train_seconds"],
             **{f"peak_{d}": r["tests"].get(d, {}).get("peak") for d in difficulties},
             "run_dir": r["run_dir"]} for r in records]
    atomic_write_text(plan.out / RESULTS_CSV, to_csv(flat, [
        "arch", *names, "seed", "final_train_acc", "best_val_acc", "train_seconds",
        *(f"peak_{d}" for d in difficulties), "run_dir"]))
    return doc


def run_sweep(plan: SweepPlan, *, registry=None, listener: StudyListener | None = None,
              cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Train every run not finished yet, then summarise (results rewritten after each run)."""
    check_plan(plan, registry)
    return run_all(plan, registry=registry, listener=listener, cancel=cancel)
