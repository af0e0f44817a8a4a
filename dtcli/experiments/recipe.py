"""The settings a run trains with, resolved as `dt train` resolves them: registry look-ups,
the defaults, the preset (chosen for the device the run will use), a config file's values and
the flags. Here, above the engine, because the preset a run gets depends on its device."""

from __future__ import annotations

from typing import Any

from dtcli.config import TrainConfig, build_config, field_names
from dtcli.contracts.errors import DtError


def default_preset(problem, device: str = "auto") -> str | None:
    """``quick`` on a CPU, ``paper`` on a GPU (whichever the problem has)."""
    from dtcli.engine.device import resolve_device

    on_cpu = resolve_device(device).type == "cpu"
    if on_cpu and "quick" in problem.presets:
        return "quick"
    return "paper" if "paper" in problem.presets else None


def resolve_config(problem_name: str, arch_name: str, preset: str | None,
                   options: dict[str, Any], arch_options: dict[str, Any],
                   overrides: dict[str, Any], *, file_values: dict[str, Any] | None = None,
                   file_label: str = "file", sources: dict[str, str] | None = None) -> TrainConfig:
    """The TrainConfig `dt train` would use: registry look-ups, then the defaults, the preset
    (default: quick on a CPU, paper on a GPU), a config file's values and the flags
    (``overrides``), each over the one before. Problem options: the preset's, the file's,
    then ``-o``. ``sources`` (when given) is filled with where each setting came from."""
    from dtcli.plugins import get_registry

    file_values = dict(file_values or {})
    options = {**file_values.pop("problem_options", {}), **options}
    arch_options = {**file_values.pop("arch_options", {}), **arch_options}
    for key in ("problem", "arch", "preset"):
        file_values.pop(key, None)
    reg = get_registry()
    problem = reg.problem(problem_name, options)
    arch = reg.arch(arch_name)
    reason = arch.supports(problem)
    if reason:
        raise DtError(reason)
    given = {**file_values, **overrides}
    preset_source = "flag or file" if preset is not None else "default for this device"
    if preset is None:
        preset = default_preset(problem, given.get("device", "auto"))
    values = problem.preset(preset, arch_name) if preset else {}
    preset_arch_options: dict[str, Any] = {}
    if preset:  # the architecture's own recipe for this problem, over the problem's
        own = dict(arch.preset(problem_name, preset) or {})
        preset_arch_options = dict(own.pop("arch_options", {}))
        values = {**values, **own, "problem_options": {**values.get("problem_options", {}),
                                                       **own.get("problem_options", {})}}
    preset_options = values.pop("problem_options", {})
    if preset_options:  # a preset may choose problem options (a layout); -o still wins
        problem = reg.problem(problem_name, {**preset_options, **options})
    if given.get("train_difficulty") is not None:
        problem.parse_difficulty(given["train_difficulty"])
    for d in given.get("test_difficulties") or []:
        problem.parse_difficulty(d)
    cfg = build_config(problem_name, arch_name, values, preset, given)
    cfg.problem_options = problem.option_values
    cfg.arch_options = {**preset_arch_options, **arch_options}  # flags and files win
    cfg.max_iters = arch.iterations_for(cfg.depth, cfg.max_iters, cfg.arch_options)
    if sources is not None:
        for name in field_names():
            sources[name] = ("flag" if name in overrides else file_label if name in file_values
                             else f"preset {preset}" if name in values else "default")
        sources.update(problem="flag or file", arch="flag or file", preset=preset_source,
                       problem_options="flag, file or preset", arch_options="flag, file or preset")
    return cfg
