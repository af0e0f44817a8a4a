"""The on-disk cache of generated data sets, keyed by the content that determines them.

Each entry is one safetensors file (never a pickle) whose metadata holds the JSON key it was
made from, so ``dt data info`` can say what is cached without loading any tensors.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write, data_dir


def cache_key(fields: dict[str, Any]) -> str:
    """A stable hash of the JSON form of ``fields``."""
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cache_path(problem: str, fields: dict[str, Any]) -> Path:
    return data_dir() / problem / f"{cache_key(fields)}.safetensors"


def load_or_make(problem: str, fields: dict[str, Any], make: Callable[[], dict]) -> dict:
    """Return the cached tensors for ``fields``, generating and caching them on a miss.

    ``make`` returns a dict of tensors (inputs, targets, and any per-sample extras a problem
    needs later, e.g. puzzle ratings). Plugins reach this as ``dtcli.api.cached_tensors``.

    ``DT_NO_CACHE=1`` bypasses the cache (generation is deterministic either way).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    if os.environ.get("DT_NO_CACHE") == "1":
        return make()
    path = cache_path(problem, fields)
    if path.exists():
        try:
            return load_file(path)
        except (SafetensorError, OSError, ValueError):
            path.unlink(missing_ok=True)  # a damaged cache entry is regenerated, never trusted
    tensors = make()
    meta = {"key": json.dumps(fields, sort_keys=True, default=str)}
    contiguous = {k: v.contiguous() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(contiguous, str(tmp), metadata=meta))
    return tensors


IMPORTED = "imported"


def imported_path(problem: str, name: str) -> Path:
    return data_dir() / problem / IMPORTED / f"{name}.safetensors"


def save_imported(problem: str, name: str, tensors: dict, fields: dict[str, Any]) -> Path:
    """Store a data set the user imported from files of their own."""
    from safetensors.torch import save_file

    path = imported_path(problem, name)
    meta = {"key": json.dumps({**fields, "split": IMPORTED, "name": name}, default=str)}
    contiguous = {k: v.contiguous() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(contiguous, str(tmp), metadata=meta))
    return path


def load_imported(problem: str, name: str) -> dict:
    """The data set ``dt data import`` stored for ``problem`` under ``name`` (``inputs``,
    ``targets``); plugins reach it as ``dtcli.api.imported_data``."""
    from safetensors.torch import load_file

    path = imported_path(problem, name)
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.safetensors"))
        raise DtError(f"no imported {problem} data set {name!r}; imported: {', '.join(known) or 'none'} "
                      f"(`dt data import {problem} DIR` adds one)")
    return load_file(str(path))


@dataclass
class CacheEntry:
    """One cached data set as ``dt data info`` shows it."""

    problem: str
    path: Path
    size_bytes: int
    fields: dict[str, Any]


def list_entries(problem: str | None = None) -> list[CacheEntry]:
    """Everything in the cache (optionally for one problem), reading only file headers."""
    from safetensors import safe_open

    root = data_dir()
    dirs = [root / problem] if problem else sorted(p for p in root.glob("*") if p.is_dir())
    entries = []
    for folder in dirs:
        for path in sorted([*folder.glob("*.safetensors"), *folder.glob(f"{IMPORTED}/*.safetensors")]):
            try:
                with safe_open(str(path), framework="pt") as f:
                    fields = json.loads((f.metadata() or {}).get("key", "{}"))
            except Exception:  # noqa: BLE001 - an unreadable entry is listed, not fatal
                fields = {"error": "unreadable"}
            entries.append(CacheEntry(folder.name, path, path.stat().st_size, fields))
    return entries
