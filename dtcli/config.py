"""Training configuration: one dataclass, filled from defaults, a preset, then overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dtcli.errors import DtError

OPTIMIZERS = ("adam", "adamw", "sgd")
LR_DECAYS = ("none", "step", "cosine")
WARMUP_SHAPES = ("exp", "linear")
NK_SAMPLING = ("reference", "uniform-sum")


@dataclass
class TrainConfig:
    """Everything needed to rebuild a run's network and data and to continue its training."""

    problem: str
    arch: str
    problem_options: dict[str, Any] = field(default_factory=dict)
    arch_options: dict[str, Any] = field(default_factory=dict)
    preset: str | None = None
    # model
    width: int = 128
    max_iters: int = 30
    depth: int | None = None
    # loss
    alpha: float = 1.0
    nk_sampling: str = "reference"
    # optimisation
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 2e-4
    momentum: float = 0.9
    warmup_epochs: float = 0.0
    warmup_steps: int = 0
    warmup_shape: str = "exp"
    lr_decay: str = "step"
    lr_milestones: list[int] = field(default_factory=list)
    lr_factor: float = 0.1
    clip: float | None = None
    throttle: bool = False
    epochs: int = 10
    batch_size: int = 100
    # data
    train_difficulty: str | None = None
    test_difficulties: list[str] = field(default_factory=list)
    train_count: int = 10000
    val_fraction: float = 0.2
    test_count: int = 500
    test_iters: int | None = None
    test_every: int = 0
    #: stop early once validation accuracy is >= stop_at (%) in stop_patience epochs in a row
    stop_at: float | None = None
    stop_patience: int = 2
    eval_batch_size: int = 500
    seed: int = 0
    # machine
    device: str = "auto"
    amp: str = "off"
    compile: bool = False
    threads: int | None = None
    #: TF32 matmuls/convolutions on CUDA (faster, changes results); cuDNN's autotuner
    tf32: bool = False
    cudnn_benchmark: bool = True
    #: minutes between resume states written in the middle of an epoch (0: every step)
    checkpoint_every: float = 10.0

    def check(self) -> None:
        """Reject impossible settings with one clear message."""
        positive = ("width", "max_iters", "epochs", "batch_size", "train_count", "test_count",
                    "eval_batch_size")
        for name in positive:
            if getattr(self, name) <= 0:
                raise DtError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.alpha <= 1.0:
            raise DtError(f"--alpha must be between 0 and 1, got {self.alpha}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise DtError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.lr <= 0:
            raise DtError(f"--lr must be positive, got {self.lr}")
        choices = {"optimizer": OPTIMIZERS, "lr_decay": LR_DECAYS,
                   "warmup_shape": WARMUP_SHAPES, "nk_sampling": NK_SAMPLING}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise DtError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.checkpoint_every < 0:
            raise DtError(f"--checkpoint-every must be 0 (every step) or more minutes, "
                          f"got {self.checkpoint_every}")
        if self.clip is not None and self.clip <= 0:
            raise DtError(f"--clip must be positive, got {self.clip}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def field_names() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainConfig)}


def build_config(problem_name: str, arch_name: str, preset: dict[str, Any] | None,
                 preset_name: str | None, overrides: dict[str, Any]) -> TrainConfig:
    """Defaults, then the preset, then explicit overrides (None means "not given")."""
    values: dict[str, Any] = {}
    known = field_names()
    for source in (preset or {}), {k: v for k, v in overrides.items() if v is not None}:
        unknown = set(source) - known
        if unknown:
            raise DtError(f"unknown training setting {sorted(unknown)[0]!r}")
        values.update(source)
    cfg = TrainConfig(problem=problem_name, arch=arch_name, preset=preset_name, **values)
    cfg.check()
    return cfg


def resolve_config(problem_name: str, arch_name: str, preset: str | None,
                   options: dict[str, Any], arch_options: dict[str, Any],
                   overrides: dict[str, Any]) -> TrainConfig:
    """The TrainConfig `dt train` would use: registry look-ups, the preset (default: quick on
    a CPU, paper on a GPU, with the preset's problem options under ``-o`` ones), then overrides."""
    from dtcli.plugins import get_registry

    reg = get_registry()
    problem = reg.problem(problem_name, options)
    arch = reg.arch(arch_name)
    reason = arch.supports(problem)
    if reason:
        raise DtError(reason)
    if preset is None:
        from dtcli.engine.device import resolve_device

        device = resolve_device(overrides.get("device", "auto"))
        preset = "quick" if device.type == "cpu" and "quick" in problem.presets else (
            "paper" if "paper" in problem.presets else None)
    values = problem.preset(preset, arch_name) if preset else {}
    preset_options = values.pop("problem_options", {})
    if preset_options:  # a preset may choose problem options (a layout); -o still wins
        problem = reg.problem(problem_name, {**preset_options, **options})
    for key in ("train_difficulty",):
        if key in overrides:
            problem.parse_difficulty(overrides[key])
    for d in overrides.get("test_difficulties") or []:
        problem.parse_difficulty(d)
    cfg = build_config(problem_name, arch_name, values, preset, overrides)
    cfg.problem_options = problem.option_values
    cfg.arch_options = arch_options
    cfg.max_iters = arch.iterations_for(cfg.depth, cfg.max_iters)
    return cfg
