"""Load the real deep-thinking code (aks2203/deep-thinking) from a checkout the user has, for
side-by-side measurements: its 2D DT nets and its ``test_default``, imported from their own
files (nothing of it is copied into dt). Only its models and testing modules are loaded, so
its data dependencies (easy_to_hard_data) are not needed; ``testing`` needs einops, icecream
and tqdm (``pip install einops icecream tqdm``)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_reference(repo: str | Path) -> types.SimpleNamespace:
    """``models`` (blocks and dt_net_2d) and ``testing`` of the checkout at ``repo``."""
    root = Path(repo) / "deepthinking"
    if not (root / "models" / "dt_net_2d.py").exists():
        raise SystemExit(f"{repo} is not a deep-thinking checkout (no deepthinking/models/"
                         f"dt_net_2d.py); git clone https://github.com/aks2203/deep-thinking")
    package = types.ModuleType("refdt")
    package.__path__ = [str(root / "models")]
    sys.modules["refdt"] = package
    _load("refdt.blocks", root / "models" / "blocks.py")
    nets = _load("refdt.dt_net_2d", root / "models" / "dt_net_2d.py")
    testing = _load("refdt_testing", root / "utils" / "testing.py")
    return types.SimpleNamespace(dt_net_2d=nets, testing=testing)
