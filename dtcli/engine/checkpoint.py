"""Weights (safetensors) and resume state (torch, loaded with weights_only=True), written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write


def state_dict_of(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as contiguous CPU tensors."""
    return {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}


def save_weights(net: torch.nn.Module, path: Path, metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    tensors = state_dict_of(net)
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def save_state(state: dict[str, Any], path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_state(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load resume state without unpickling arbitrary objects."""
    import pickle
    import re
    import warnings

    path = Path(path)
    if not path.exists():
        raise DtError(f"no resume state at {path}; nothing to resume")
    if not path.is_file():
        raise DtError(f"cannot read resume state {path}: it is not a regular file")
    try:
        with warnings.catch_warnings():  # torch's warnings would add lines to the one error
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message suggests weights_only=False: the wrong advice for a file that
        # failed a safety check. Say what it holds instead.
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found is None:
            raise DtError(f"cannot read resume state {path}: the file is damaged (not a "
                          "checkpoint dt wrote)") from None
        raise DtError(f"refused {path}: it asks to run Python code ({found.group(1)}) when "
                      "loaded, which a resume state written by dt never does; it was damaged or "
                      "tampered with, so dt will not load it") from None
    except Exception as exc:  # noqa: BLE001 - any other failure here means a damaged file
        if "weights_only" in str(exc) or "TorchScript" in str(exc):
            # e.g. a TorchScript archive: torch's advice (weights_only=False) is the wrong one
            raise DtError(f"cannot read resume state {path}: it is not a checkpoint dt wrote "
                          "(a TorchScript or other archive dt does not load)") from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "damaged file"
        raise DtError(f"cannot read resume state {path}: {type(exc).__name__}: {first}") from None
