"""The public API for plugin authors and scripts. Plugins import from here and nowhere else.

Names backed by torch (``IterativeNet``, ``load_model``, the engine entry points) are loaded on
first access, so a hook module can ``from dtcli.api import hookimpl, Problem`` without paying
for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from dtcli.contracts.arch import Architecture
from dtcli.contracts.datacache import load_imported as imported_data
from dtcli.contracts.datacache import load_or_make as cached_tensors
from dtcli.contracts.errors import DtError
from dtcli.contracts.hookspecs import hookimpl
from dtcli.contracts.instances import Instance
from dtcli.contracts.options import Option
from dtcli.contracts.paths import atomic_write, atomic_write_text, data_dir
from dtcli.contracts.problem import Problem, split_seed

_LAZY = {
    "IterativeNet": "dtcli.contracts.net",
    "load_model": "dtcli.engine.model",
    "LoadedModel": "dtcli.engine.model",
    "TrainConfig": "dtcli.config",
    "train": "dtcli.engine.train",
    "extrapolate": "dtcli.engine.extrapolate",
    "ExtrapolationResult": "dtcli.engine.extrapolate",
    "solve": "dtcli.engine.solve",
    "SolveFrame": "dtcli.engine.solve",
    "Listener": "dtcli.engine.events",
    "resolve_device": "dtcli.engine.device",
    "get_registry": "dtcli.plugins",
    "create_net": "dtcli.factory",
}

__all__ = ["Architecture", "DtError", "Instance", "Option", "Problem", "atomic_write", "atomic_write_text",
           "cached_tensors", "data_dir", "imported_data", "hookimpl", "split_seed", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dtcli.api' has no attribute {name!r}")
