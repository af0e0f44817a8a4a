"""The seeds study: how often a recipe succeeds. N seeds of one training recipe per
architecture, each extrapolated to a harder difficulty; reported as the success rate (runs
that reach a chosen accuracy at any iteration up to T), the distribution of peak accuracy,
mean ± standard error, and what the authors' filter (final training accuracy >= 99%) changes.

A study lives in one directory: ``seeds.json`` (the plan), ``runs/<arch>-s<seed>/`` (ordinary
run directories), ``results.json`` and ``results.csv``. Running it again skips finished runs
and resumes half-done ones. No CLI here: events go to a :class:`~dtcli.experiments.runner.StudyListener`.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from dtcli import runs
from dtcli.config import TrainConfig
from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json, atomic_write_text
from dtcli.experiments.recipe import resolve_config
from dtcli.experiments.runner import RecipePlan, StudyListener, run_all
from dtcli.experiments.stats import mean_se, peak, succeeded, to_csv

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


@dataclass(kw_only=True)
class SeedPlan(RecipePlan):
    """What a seeds study trains and how it judges success."""

    archs: list[str]
    #: arms that are not an architecture's own name: label -> architecture (``dt-recall-pi=
    #: dt-recall``): the same architecture trained another way
    arms: dict[str, str] = field(default_factory=dict)
    #: per arm (label), architecture options and training settings that differ from the
    #: recipe (``--arm-option dt-l:conv_norm=operator``, ``dt-recall-pi:init_thought=mix``)
    arm_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: a run succeeds when its accuracy reaches this (%) at some iteration <= max_iter
    success_at: float = 99.0
    max_iter: int | None = None
    min_train_acc: float = 99.0
    #: instances on which each finished run's dynamics are measured (settled share, solve
    #: trace, Lipschitz estimate, AA score; experiments.dynamics); 0: not measured
    dynamics_count: int = 0

    plan_file = PLAN

    def config(self, spec: SeedRun, registry=None) -> TrainConfig:
        """The recipe of one run: the study's settings, then its arm's own, then its seed."""
        arch, arch_options, settings = self.arm(spec.arch, registry)
        return resolve_config(self.problem, arch, self.preset, self.problem_options,
                              arch_options, {**self.overrides, **settings, "seed": spec.seed})

    def arm(self, label: str, registry=None) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """``(architecture, its options, training settings)`` of the arm ``label``: each
        ``--arm-option`` is an option the architecture declares, else a training setting."""
        from dtcli.config import rules
        from dtcli.plugins import get_registry
        from dtcli.settings import parse_text

        arch = self.arms.get(label, label)
        declared = {o.name for o in (registry or get_registry()).arch(arch).options}
        settings_rules = rules()
        arch_options: dict[str, Any] = {}
        settings: dict[str, Any] = {}
        for name, value in self.arm_options.get(label, {}).items():
            if name in declared:
                arch_options[name] = value
            elif name in settings_rules and name not in ("problem", "arch", "seed"):
                hint = settings_rules[name][0]
                settings[name] = parse_text(name, str(value), hint, f"--arm-option {label}:{name}")
            else:
                raise DtError(f"--arm-option {label}:{name}: {arch} has no option {name!r} and "
                              f"it is no training setting; `dt list archs -v` lists the options")
        return arch, arch_options, settings

    def specs(self, registry=None) -> list[SeedRun]:
        """Seed by seed, every architecture at each seed: a study stopped early (they take
        hours) still compares the architectures on the same seeds."""
        return [SeedRun(a, s) for s in self.seeds for a in self.archs]

    def record(self, run_dir: Path, spec: SeedRun) -> dict[str, Any]:
        return run_record(self, run_dir, spec)

    def write(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return write_results(self, records)


def check_plan(plan: SeedPlan) -> None:
    """Every run's settings resolve (one clear error before any training)."""
    if not plan.archs or not plan.seeds:
        raise DtError("a seeds study needs at least one --arch and one seed")
    unknown = sorted(set(plan.arm_options) - set(plan.archs))
    if unknown:
        raise DtError(f"--arm-option names {unknown[0]!r}, which is not one of --arch "
                      f"({', '.join(plan.archs)})")
    for arch in plan.archs:
        plan.config(SeedRun(arch, plan.seeds[0]))
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
    peak_iter, best = peak(iters, acc, plan.max_iter)
    history = runs.read_metrics(run_dir)
    others = {}
    for other, r in list(results.items())[1:]:  # further test difficulties: their peaks
        at, value = peak(r["iters"], r["fixed"]["accuracy"], plan.max_iter)
        others[other] = {"peak": value, "peak_iter": at}
    return {**asdict(spec), "run_dir": str(run_dir), "difficulty": difficulty,
            "iters": iters, "accuracy": acc, "peak": best, "peak_iter": peak_iter,
            "success": succeeded(iters, acc, plan.success_at, plan.max_iter),
            "final_train_acc": history[-1]["train_acc"] if history else None,
            "best_val_acc": max((r.get("val_acc") or 0.0 for r in history), default=None),
            "epochs": len(history), "also": others,
            "dynamics": _dynamics(plan, run_dir, difficulty, iters)}


def _dynamics(plan: SeedPlan, run_dir: Path, difficulty: Any, iters: list[int]):
    if not plan.dynamics_count:
        return None
    from dtcli.experiments.dynamics import run_dynamics

    return run_dynamics(run_dir, difficulty, plan.max_iter or iters[-1],
                        count=plan.dynamics_count)


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
            "train_mean": mean_se([r["final_train_acc"] or 0.0 for r in rs])[0],
            "filtered_runs": len(kept), "filtered_successes": sum(r["success"] for r in kept),
            "filtered_peak_mean": mean_se([r["peak"] for r in kept])[0] if kept else None,
            "also": _also_means(rs), **_dynamics_means(rs)})
    return rows


def _also_means(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per further test difficulty: the peaks' mean ± s.e."""
    out: dict[str, dict[str, Any]] = {}
    for d in records[0].get("also", {}):
        peaks = [r["also"][d]["peak"] for r in records if d in r.get("also", {})]
        mean, se = mean_se(peaks)
        out[d] = {"peak_mean": mean, "peak_se": se, "peaks": sorted(peaks)}
    return out


def _dynamics_means(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over the runs that measured them: AA score, settled share, Lipschitz estimate,
    and the share of solved instances that stayed solved."""
    measured = [r["dynamics"] for r in records if r.get("dynamics")]
    if not measured:
        return {}

    def mean(key: str) -> float | None:
        values = [m[key] for m in measured if m.get(key) is not None]
        return sum(values) / len(values) if values else None

    solved = sum(m["solved"] or 0 for m in measured)
    return {"aa_mean": mean("aa"), "settled_mean": mean("settled_positions"),
            "lipschitz_mean": mean("lipschitz"),
            "lipschitz_max": max((m["lipschitz"] for m in measured
                                  if m.get("lipschitz") is not None), default=None),
            "stayed_solved": sum(m["stayed_solved"] or 0 for m in measured) / solved
            if solved else None}


def write_results(plan: SeedPlan, records: list[dict[str, Any]]) -> dict[str, Any]:
    rows = summarize(plan, records)
    doc = {"study": plan.to_dict(), "complete": len(records) == len(plan.specs()),
           "summary": rows, "runs": records}
    atomic_write_json(plan.out / RESULTS_JSON, doc)
    atomic_write_text(plan.out / RESULTS_CSV, to_csv(
        [{k: v for k, v in r.items() if k not in ("iters", "accuracy")} for r in records],
        ["arch", "seed", "difficulty", "peak", "peak_iter", "success", "final_train_acc",
         "best_val_acc", "epochs", "run_dir"]))
    return doc


def run_seed_study(plan: SeedPlan, *, registry=None, listener: StudyListener | None = None,
                   cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Train every run not finished yet, then summarise (results rewritten after each run)."""
    check_plan(plan)
    return run_all(plan, registry=registry, listener=listener, cancel=cancel)
