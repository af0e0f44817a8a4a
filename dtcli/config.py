"""Training configuration: one dataclass, filled from defaults, a preset, then overrides."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dtcli.contracts.errors import DtError
from dtcli.settings import Rule, check_value, setting

OPTIMIZERS = ("adam", "adamw", "sgd")
LR_DECAYS = ("none", "step", "cosine")
WARMUP_SHAPES = ("exp", "linear")
NK_SAMPLING = ("reference", "uniform-sum")
INIT_THOUGHTS = ("start", "random", "mix")
AMP_MODES = ("off", "bf16", "fp16")


@dataclass
class TrainConfig:
    """Everything needed to rebuild a run's network and data and to continue its training.

    Each field is declared once with its :class:`~dtcli.settings.Rule`: the flag of ``dt
    train``, its bounds or choices, and whether ``--resume`` may change it.
    """

    problem: str = setting("", "Problem name.", flag=None)
    arch: str = setting("", "Architecture name.", flag=None)
    problem_options: dict[str, Any] = setting({}, "Problem options (-o NAME=VALUE).", flag=None)
    arch_options: dict[str, Any] = setting({}, "Architecture options.", flag=None)
    preset: str | None = setting(None, "Preset the values started from.", flag=None)
    # model
    width: int = setting(128, "Channels of the thought.", low=1)
    max_iters: int = setting(30, "Iterations during training.", low=1, high=10_000)
    depth: int | None = setting(None, "Effective depth (depth-sized architectures).", low=1,
                                high=100_000)
    # loss
    alpha: float = setting(1.0, "Weight of the progressive loss (0..1).", low=0, high=1)
    nk_sampling: str = setting("reference", "(n, k) draws: reference | uniform-sum (n+k uniform).",
                               choices=NK_SAMPLING)
    init_thought: str = setting("start", "Where thinking starts in training: start (the net's "
                                         "projection) | random (a Gaussian thought: path-"
                                         "independent training) | mix (random for half the "
                                         "instances).", choices=INIT_THOUGHTS)
    settle_weight: float = setting(0.0, "Weight of the settling term: for each instance solved "
                                        "at the end of a step's thinking, the relative change "
                                        "of one more iteration joins the loss, so a "
                                        "solved thought learns to stand still (0: off).", low=0)
    # optimisation
    optimizer: str = setting("adam", "adam | adamw | sgd.", choices=OPTIMIZERS)
    lr: float = setting(1e-3, "Base learning rate.", above=0)
    weight_decay: float = setting(2e-4, "Weight decay.", low=0)
    momentum: float = setting(0.9, "SGD momentum.", low=0, high=1)
    warmup_epochs: float = setting(0.0, "Warm-up length in epochs.", flag="--warmup", low=0)
    warmup_steps: int = setting(0, "Warm-up length in steps (added to --warmup).", low=0)
    warmup_shape: str = setting("exp", "exp (the reference's) | linear.", choices=WARMUP_SHAPES)
    lr_decay: str = setting("step", "none | step | cosine.", choices=LR_DECAYS)
    lr_milestones: list[int] = setting([], "Epochs where step decay multiplies the lr by "
                                           "--lr-factor (comma list).", low=0)
    lr_factor: float = setting(0.1, "Step decay factor.", above=0)
    clip: float | None = setting(None, "Gradient-norm clip.", above=0)
    throttle: bool = setting(False, "Recurrent block at lr/max_iters (the reference's lr_throttle).")
    epochs: int = setting(10, "Training epochs.", low=1, resume=True)
    batch_size: int = setting(100, "Instances per step in all: under torchrun each process takes "
                                   "its share of this global batch.", short="-b", low=1)
    # data
    train_difficulty: str | None = setting(None, "Difficulty to train on.")
    test_difficulties: list[str] = setting([], "Harder difficulty to extrapolate to at the end "
                                               "(repeatable).", flag="--test-difficulty",
                                           repeat=True)
    train_count: int = setting(10000, "Instances generated for training (the validation share "
                                      "held out of them).", low=1)
    val_fraction: float = setting(0.2, "Share of the training instances held out for validation.",
                                  low=0, high=0.95)
    test_count: int = setting(500, "Instances of the final extrapolation (0: none, as "
                                   "--no-test).", low=0)
    test_iters: int | None = setting(None, "Iterations of the final extrapolation "
                                           "(default 10 x max_iters).", low=1)
    test_every: int = setting(0, "Also extrapolate every N epochs (0: never).", low=0)
    #: stop early once validation accuracy is >= stop_at (%) in stop_patience epochs in a row
    stop_at: float | None = setting(None, "Stop once validation accuracy is at least this (%) "
                                          "for --stop-patience epochs.", low=0, high=100)
    stop_patience: int = setting(2, "Epochs in a row for --stop-at.", low=1)
    eval_batch_size: int = setting(500, "Largest batch for validation and extrapolation.", low=1,
                                   resume=True)
    seed: int = setting(0, "Seed for data, initialisation and batch order.")
    # machine
    device: str = setting("auto", "auto | cpu | cuda | cuda:N | mps.", resume=True)
    amp: str = setting("off", "Mixed precision: off | bf16 | fp16 (slow on most CPUs).",
                       choices=AMP_MODES, resume=True)
    compile: bool = setting(False, "torch.compile (costly start; measured slower on a 2-core "
                                   "CPU).", resume=True)
    threads: int | None = setting(None, "Torch threads (default: available cores).", low=1,
                                  resume=True)
    tf32: bool = setting(False, "TF32 matmuls and convolutions on CUDA: faster, changes "
                                "results.", resume=True)
    cudnn_benchmark: bool = setting(True, "cuDNN autotuner on CUDA.", resume=True)
    trackers: list[str] = setting([], "Also send training events to this tracker (repeatable): "
                                       "tensorboard, or one a plugin adds (`dt plugins`).",
                                  flag="--track", repeat=True, resume=True)
    checkpoint_every: float = setting(10.0, "Minutes between resume states written mid-epoch "
                                            "(0: every step).", low=0, resume=True)

    def check(self, where: str = "") -> None:
        """Every value against its rule (one clear DtError naming the setting and ``where``)."""
        hints = typing.get_type_hints(TrainConfig)
        for f in dataclasses.fields(self):
            check_value(f.name, getattr(self, f.name), hints[f.name], f.metadata["rule"], where)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> "TrainConfig":
        """A config read back (``config.json``, a zoo card), every value checked; ``where``
        names the file in the error (``"runs/x/config.json: "``)."""
        if not isinstance(data, dict):
            raise DtError(f"{where}the training settings are not a table")
        names = {f.name for f in dataclasses.fields(cls)}
        cfg = cls(**{k: v for k, v in data.items() if k in names})
        cfg.check(where)
        return cfg


#: how much longer than it was trained a model thinks unless told (dt test, dt solve, the TUI,
#: training's final extrapolation, dt compare)
THINK_LONGER = 10


def think_iters(max_iters: int, max_depth: int | None, asked: int | None = None) -> int:
    """How long a model thinks unless told: ``asked``, else :data:`THINK_LONGER` x its
    training iterations; never beyond a feed-forward net's depth (it cannot think longer).
    The one answer to "how many iterations by default" (see also :func:`trained_iters`)."""
    iters = asked or THINK_LONGER * max_iters
    return min(iters, max_depth) if max_depth is not None else iters


def trained_iters(max_iters: int, max_depth: int | None) -> int:
    """The iterations a model thinks for as trained (a feed-forward net: all its blocks):
    where the analyses look unless told."""
    return max_depth or max_iters


def rules() -> dict[str, tuple[Any, Rule]]:
    """``name -> (type hint, rule)`` of every training setting, in declaration order."""
    hints = typing.get_type_hints(TrainConfig)
    return {f.name: (hints[f.name], f.metadata["rule"]) for f in dataclasses.fields(TrainConfig)}


def resumable() -> set[str]:
    """The settings ``--resume`` may change."""
    return {name for name, (_, rule) in rules().items() if rule.resume}


def resolvable_changes(overrides: dict[str, Any]) -> dict[str, Any]:
    """The settings a resumed run may take from the command line, or one clear error."""
    allowed = resumable()
    refused = sorted(set(overrides) - allowed)
    if refused:
        flags = ", ".join("--" + n.replace("_", "-") for n in sorted(allowed))
        raise DtError(f"--resume continues a run with its own settings; "
                      f"--{refused[0].replace('_', '-')} cannot change (these may: {flags})")
    return dict(overrides)


def field_names() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainConfig)}


def build_config(problem_name: str, arch_name: str, preset: dict[str, Any] | None,
                 preset_name: str | None, overrides: dict[str, Any]) -> TrainConfig:
    """Defaults, then the preset, then ``overrides`` (the values given: a value of None sets
    an optional setting to None)."""
    values: dict[str, Any] = {}
    known = field_names()
    for source in (preset or {}), overrides:
        unknown = set(source) - known
        if unknown:
            from dtcli.plugins import did_you_mean

            name = sorted(unknown)[0]
            raise DtError(f"unknown training setting {name!r}{did_you_mean(name, sorted(known))}")
        values.update(source)
    cfg = TrainConfig(problem=problem_name, arch=arch_name, preset=preset_name, **values)
    cfg.check()
    return cfg


# -- config files --------------------------------------------------------------------------

#: the largest config file read (a settings file is a few kilobytes)
MAX_CONFIG_BYTES = 1 << 20

#: keys a config file may hold besides the settings
FILE_KEYS = ("problem", "arch", "preset", "problem_options", "arch_options")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML config file, every key and value checked (one line naming the
    file and the key). Optional settings are set to none with the string "none"."""
    import tomllib

    from dtcli.contracts.paths import read_small_file

    path = Path(path)
    try:
        data = read_small_file(path, MAX_CONFIG_BYTES, "config file")
    except FileNotFoundError:
        raise DtError(f"no config file {path}") from None
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except RecursionError:
        raise DtError(f"{path} is not a readable TOML file: nested too deeply") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DtError(f"{path} is not a readable TOML file: {exc}") from None
    declared = rules()
    out: dict[str, Any] = {}
    for key, value in doc.items():
        where = f"{path}: "
        if key not in declared:
            from dtcli.plugins import did_you_mean

            raise DtError(f"{where}unknown key {key!r}{did_you_mean(key, sorted(declared))}; "
                          "keys are the settings `dt train --help` lists, with underscores")
        hint, rule = declared[key]
        if isinstance(value, str) and value.lower() == "none" and key not in FILE_KEYS[:2]:
            value = None
        out[key] = check_value(key, value, hint, rule, where) if key not in ("problem", "arch") \
            else value
    for key in ("problem", "arch", "preset"):
        if key in out and out[key] is not None and not isinstance(out[key], str):
            raise DtError(f"{path}: {key} must be a name, got {out[key]!r}")
    return out


def write_config_file(path: str | Path, cfg: TrainConfig) -> None:
    """The fully resolved settings as TOML (None written as "none"), atomically."""
    import tomli_w

    from dtcli.contracts.paths import atomic_write_text

    doc = {k: ("none" if v is None else v) for k, v in cfg.to_dict().items()}
    atomic_write_text(Path(path), "# dt training settings: dt train --config FILE\n"
                      + tomli_w.dumps(doc))
