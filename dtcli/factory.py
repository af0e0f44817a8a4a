"""Networks from settings, run directories and zoo names, below the engine (in the spirit of
timm's ``create_model``): building one (checked for size on torch's meta device first),
describing it, and rebuilding a trained one with its weights (on the CPU; the engine places it).

A MODEL argument is a run directory (or its ``best.safetensors``) or a zoo name;
:func:`resolve` tells which without importing torch. From a script::

    from dtcli.api import create_net
    problem, net = create_net("prefix-sums", "dt-recall", width=32)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dtcli.config import TrainConfig
from dtcli.contracts.errors import DtError
from dtcli.runs import BEST, CONFIG, read_run_config

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from dtcli.plugins import Registry


def resolve(ref: str | Path) -> tuple[str, Any]:
    """``("run", directory)`` or ``("zoo", name)`` for a MODEL argument, or one clear error
    (no torch imported: ``dt tui`` checks its argument before starting)."""
    from dtcli import zoo

    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / CONFIG).exists():
            raise DtError(f"{ref} is not a dt run directory (no {CONFIG})")
        return "run", path
    if path.suffix == ".safetensors" and path.is_file():
        return "run", path.parent
    if zoo.is_zoo_name(str(ref)):
        return "zoo", str(ref)
    raise DtError(f"no model {str(ref)!r}: expected a run directory (e.g. runs/mazes-dt-recall-...) "
                  f"or a zoo name (`dt zoo list`)")


def model_summary(net, cfg: TrainConfig) -> dict[str, Any]:
    """How the net was built and how big it is (recorded in config.json)."""
    return {"arch": cfg.arch, "build": dict(net.config), "parameters": net.num_parameters(),
            "recurrent": bool(net.recurrent), "max_depth": net.max_depth,
            "effective_depth": net.effective_depth(cfg.max_iters)}


def build_net(registry: "Registry", cfg: TrainConfig, build: dict[str, Any] | None = None):
    """``(problem, net)`` for a training configuration; ``build`` re-uses recorded net kwargs."""
    from dtcli.contracts.options import resolve_options

    problem = registry.problem(cfg.problem, cfg.problem_options)
    arch = registry.arch(cfg.arch)
    reason = arch.supports(problem)
    if reason:
        raise DtError(reason)
    if build is None:
        opts = resolve_options(arch.options, cfg.arch_options, f"architecture {arch.name!r}")
        build = {"width": cfg.width, "max_iters": cfg.max_iters, "depth": cfg.depth, **opts}
    _check_size(arch, problem, build)
    try:
        return problem, arch.build(problem, **build)
    except DtError:
        raise
    except KeyboardInterrupt:  # Ctrl-C stops dt, whoever's code ran
        raise
    except BaseException as exc:  # a plugin's bug (GeneratorExit too), or settings it cannot build: one line
        raise DtError(f"architecture {arch.name!r} (plugin "
                      f"{registry.origin.get('arch:' + arch.name, '?')}) could not build a net "
                      f"for {problem.name}: {type(exc).__name__}: {exc}") from exc


#: bytes per parameter a training run holds: weights, gradients and two Adam moments (fp32)
TRAINING_BYTES = 16


def _check_size(arch, problem, build: dict[str, Any]) -> None:
    """Build the net on torch's meta device (no memory) and refuse one whose parameters,
    gradients and optimizer state cannot fit in half of this machine's memory (a width of a
    million would otherwise try to allocate terabytes)."""
    import torch

    try:
        with torch.device("meta"):
            probe = arch.build(problem, **build)
    except DtError:
        raise
    except KeyboardInterrupt:  # Ctrl-C stops dt, whoever's code ran
        raise
    except BaseException:  # noqa: BLE001 - the real build reports it
        return
    params = sum(p.numel() for p in probe.parameters())
    need = params * TRAINING_BYTES
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > memory // 2:
        raise DtError(f"this {arch.name} net would have {params:,} parameters ({need / 2**30:,.0f} "
                      f"GiB to train), more than this machine's {memory / 2**30:.0f} GiB allows; "
                      f"lower --width or --max-iters")


def create_net(problem: str, arch: str, *, problem_options: dict[str, Any] | None = None,
               arch_options: dict[str, Any] | None = None, width: int = 32, max_iters: int = 30,
               depth: int | None = None, registry: "Registry | None" = None):
    """``(problem, net)`` from names and settings in one call, untrained, on the CPU."""
    from dtcli.plugins import get_registry

    cfg = TrainConfig(problem=problem, arch=arch, problem_options=dict(problem_options or {}),
                      arch_options=dict(arch_options or {}), width=width, max_iters=max_iters,
                      depth=depth)
    return build_net(registry or get_registry(), cfg)


def check_regular_file(path: Path, what: str) -> None:
    """``path`` is a regular file, or one clear error: a FIFO, a device or a folder named as a
    model file would block the reader forever (a FIFO) or read without end (/dev/zero)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise DtError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise DtError(f"{what} {path} is not a regular file (a pipe, device or folder): refused")


def read_weights(path: Path) -> dict[str, "torch.Tensor"]:
    """A safetensors file's tensors (never a pickle), or one clear error."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise DtError(f"no weights at {path}; train the model first or pass another run")
    check_regular_file(path, "weights")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DtError(f"cannot read weights {path}: the file is damaged ({exc})") from None


def check_tensors(net: "torch.nn.Module", tensors: dict[str, Any], source: Path) -> None:
    """Every tensor of ``tensors`` has the dtype of the net's own tensor of that name and holds
    only finite numbers, or one clear error naming ``source`` and the tensor: loading would
    otherwise cast float64, int64 or bool weights silently, and NaN or inf weights give a
    model whose every answer is noise."""
    import torch

    own = net.state_dict()
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise DtError(f"weights in {source}: {name} is not a tensor")
        mine = own.get(name)
        if mine is not None and tensor.dtype != mine.dtype:
            raise DtError(f"weights in {source}: {name} is {str(tensor.dtype).replace('torch.', '')}"
                          f", the network's is {str(mine.dtype).replace('torch.', '')}; dt "
                          "writes them as the network holds them: the file was altered")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise DtError(f"weights in {source}: {name} holds NaN or infinite values; use "
                          "another checkpoint")


def apply_weights(net: "torch.nn.Module", tensors: dict[str, "torch.Tensor"],
                  source: Path) -> None:
    """Load ``tensors`` into ``net`` strictly, checked first (:func:`check_tensors`), or one
    clear error naming ``source``."""
    check_tensors(net, tensors, source)
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DtError(f"weights in {source} do not fit the configured network: {first}") from None


def trained_net(ref: str | Path, registry: "Registry | None" = None, weights: str = BEST):
    """``(problem, net, config, source, record)`` for a run directory or zoo name: the net
    rebuilt from its record with its weights loaded, on the CPU (a zoo model's sha256 is
    verified first)."""
    from dtcli import zoo
    from dtcli.plugins import get_registry

    kind, found = resolve(ref)
    if kind == "zoo":
        doc = zoo.card(found)
        weights_path = zoo.weights(found, doc)
        source = weights_path
    else:
        source = found
        doc = read_run_config(source)
        weights_path = source / weights
    train = doc["train"]
    if kind == "zoo":  # a card may be measured with other options than training's (dt zoo add -o)
        train = {**train, "problem_options": {**train.get("problem_options", {}),
                                              **doc.get("problem_options", {})}}
    cfg = TrainConfig.from_dict(train)
    problem, net = build_net(registry or get_registry(), cfg, doc["model"].get("build"))
    apply_weights(net, read_weights(weights_path), weights_path)
    return problem, net, cfg, source, doc
