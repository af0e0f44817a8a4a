"""A trained model ready to run: the factory's net placed on a device, in eval mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dtcli.config import TrainConfig
from dtcli.factory import trained_net
from dtcli.runs import BEST

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from dtcli.contracts.problem import Problem
    from dtcli.plugins import Registry


@dataclass
class LoadedModel:
    """A trained network with its problem and training configuration."""

    net: "torch.nn.Module"
    problem: "Problem"
    config: TrainConfig
    source: Path
    info: dict[str, Any]

    @property
    def max_iters(self) -> int:
        return self.config.max_iters


def load_model(ref: str | Path, device: "str | torch.device" = "cpu",
               registry: "Registry | None" = None, weights: str = BEST) -> LoadedModel:
    """Rebuild the net a run directory or zoo name describes, load its weights (safetensors,
    never a pickle; a zoo model's sha256 is verified first) and place it on ``device``."""
    from dtcli.engine.device import prepare, resolve_device

    problem, net, cfg, source, doc = trained_net(ref, registry, weights)
    device = resolve_device(device) if isinstance(device, str) else device
    net = prepare(net, device).eval()
    return LoadedModel(net=net, problem=problem, config=cfg, source=source, info=doc)
