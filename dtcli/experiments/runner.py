"""The one run loop every study shares.

A study is a directory: its plan (``<study>.json``), ``runs/<key>/`` (ordinary run
directories) and the results it rewrites after every run. :func:`run_all` trains each planned
run that is not finished, resumes the half-done ones from their last checkpoint, checks that a
stored run was trained with the settings the study asks for, and hands every finished run to
the study to record — so an interrupted study continues where it stopped and leaves what it
has. A study supplies what differs (:class:`Study`); events go to a :class:`StudyListener`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from dtcli import runs
from dtcli.config import TrainConfig
from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json

RUNS_DIR = "runs"
#: settings that may differ between a stored run and a re-run of its study (the machine)
MACHINE_FIELDS = frozenset({"device", "threads", "amp", "compile", "eval_batch_size"})


class Spec(Protocol):
    """One planned run: ``key`` names its directory under ``runs/``."""

    @property
    def key(self) -> str: ...


class Study(Protocol):
    """What a study supplies to :func:`run_all`."""

    out: Path
    plan_file: str

    def to_dict(self) -> dict[str, Any]: ...
    def specs(self, registry) -> Sequence[Spec]: ...
    def config(self, spec: Any, registry) -> TrainConfig: ...
    def record(self, run_dir: Path, spec: Any) -> dict[str, Any]: ...
    def write(self, records: list[dict[str, Any]]) -> dict[str, Any]: ...


@dataclass(kw_only=True)
class RecipePlan:
    """What every study plan holds: the problem, where the study lives, and the one recipe its
    runs share (a preset, problem options, training settings over them)."""

    problem: str
    out: Path
    seeds: list[int]
    preset: str | None = None
    problem_options: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "out": str(self.out)}


class StudyListener:
    """Study events (all no-ops). ``engine_listener`` gives the engine listener of one run."""

    def on_study_start(self, plan: Any, specs: Sequence[Spec]) -> None: ...
    def on_run_start(self, index: int, total: int, spec: Spec, state: str) -> None: ...
    def engine_listener(self, spec: Spec) -> Any:
        return None
    def on_run_end(self, index: int, total: int, spec: Spec, record: dict[str, Any]) -> None: ...


def run_state(run_dir: Path) -> str:
    """``done`` (finished and tested), ``resume`` (has a last checkpoint) or ``new``."""
    if not (run_dir / runs.CONFIG).exists():
        return "new"
    doc = runs.read_run_config(run_dir)
    if doc.get("status") == "finished" and (run_dir / runs.EXTRAPOLATION).exists():
        return "done"
    return "resume" if (run_dir / runs.LAST).exists() else "new"


def check_same(stored: dict[str, Any], planned: TrainConfig, run_dir: Path) -> None:
    """One clear error when a stored run was trained with other settings than planned (the
    machine's settings aside)."""
    want = json.loads(json.dumps(planned.to_dict()))
    # a setting added after the run was trained is stored as its default
    defaults = json.loads(json.dumps(TrainConfig().to_dict()))
    for key, value in want.items():
        if key in MACHINE_FIELDS:
            continue
        if stored.get(key, defaults.get(key)) != value:
            raise DtError(f"{run_dir} was trained with {key}={stored.get(key)!r}, this study asks "
                          f"for {value!r}; use another --out, or the study's own settings")


def train_run(cfg: TrainConfig, run_dir: Path, state: str, *, registry, listener, cancel,
              info: dict[str, Any]) -> str:
    """Train (``new``) or resume (``resume``) one run; its final status."""
    from dtcli.engine.train import train

    resume = state == "resume"
    if resume:
        stored = runs.read_run_config(run_dir)["train"]
        cfg = TrainConfig.from_dict({**stored, **{k: getattr(cfg, k) for k in MACHINE_FIELDS}})
    elif run_dir.exists():
        for stale in run_dir.iterdir():  # a run killed before its first checkpoint
            if stale.is_file():
                stale.unlink()
    result = train(cfg, run_dir, registry=registry, listener=listener, cancel=cancel,
                   resume=resume, info=info)
    return result.status


def run_all(study: Study, *, registry=None, listener: StudyListener | None = None,
            cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Train every run of ``study`` not finished yet, recording each; the results document.

    Results are rewritten after every run; a run that ends otherwise than ``finished``
    (cancelled, interrupted) stops the study there.
    """
    from dtcli.plugins import get_registry

    reg = registry or get_registry()
    listener = listener or StudyListener()
    specs = list(study.specs(reg))
    study.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(study.out / study.plan_file, study.to_dict())
    listener.on_study_start(study, specs)
    records: list[dict[str, Any]] = []
    for index, spec in enumerate(specs, 1):
        run_dir = study.out / RUNS_DIR / spec.key
        state = run_state(run_dir)
        cfg = study.config(spec, reg)
        if state != "new":
            check_same(runs.read_run_config(run_dir)["train"], cfg, run_dir)
        listener.on_run_start(index, len(specs), spec, state)
        if state != "done":
            status = train_run(cfg, run_dir, state, registry=reg,
                               listener=listener.engine_listener(spec), cancel=cancel,
                               info={"study": str(study.out), "run": spec.key})
            if status != "finished":
                break
        records.append(study.record(run_dir, spec))
        study.write(records)
        listener.on_run_end(index, len(specs), spec, records[-1])
    return study.write(records)
