"""Weights (safetensors) and resume state (torch, loaded with weights_only=True), written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from dtcli.errors import DtError
from dtcli.paths import atomic_write


def state_dict_of(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as contiguous CPU tensors."""
    return {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}


def save_weights(net: torch.nn.Module, path: Path, metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    tensors = state_dict_of(net)
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise DtError(f"no weights at {path}; train the model first or pass another run")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DtError(f"cannot read weights {path}: the file is damaged ({exc})") from None


def apply_weights(net: torch.nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DtError(f"weights in {source} do not fit the configured network: {first}") from None


def save_state(state: dict[str, Any], path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_state(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load resume state without unpickling arbitrary objects."""
    path = Path(path)
    if not path.exists():
        raise DtError(f"no resume state at {path}; nothing to resume")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure here means a damaged file
        raise DtError(f"cannot read resume state {path}: {type(exc).__name__}: "
                      f"{str(exc).splitlines()[0] if str(exc) else 'damaged file'}") from None
