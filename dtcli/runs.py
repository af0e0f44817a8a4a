"""Run directories: what a training run leaves on disk, written atomically and read back checked.

``runs/<problem>-<arch>-<id>/`` holds ``config.json`` (everything needed to rebuild the net and
the data), ``best.safetensors`` (weights of the best validation epoch), ``last.pt`` (resume
state), ``metrics.jsonl`` (one line per epoch) and ``extrapolation.json``.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from dtcli import __version__
from dtcli.config import TrainConfig
from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json, atomic_write_text

#: where runs go unless told (--out), relative to the working directory
RUNS_ROOT = Path("runs")
CONFIG = "config.json"
LOCK = ".lock"
STATUSES = ("running", "finished", "cancelled", "interrupted", "failed")
BEST = "best.safetensors"
LAST = "last.pt"
METRICS = "metrics.jsonl"
EXTRAPOLATION = "extrapolation.json"


def new_run_dir(root: Path, problem: str, arch: str) -> Path:
    """A fresh, not yet existing directory ``root/<problem>-<arch>-<timestamp>[-n]``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{problem}-{arch}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def write_run_config(run_dir: Path, cfg: TrainConfig, model: dict[str, Any],
                     status: str, extra: dict[str, Any] | None = None) -> None:
    doc = {"dt_version": __version__, "status": status, "train": cfg.to_dict(),
           "model": model, **(extra or {})}
    atomic_write_json(Path(run_dir) / CONFIG, doc)


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """A run's config.json, every field checked: one clear error naming the file and the field
    when dt did not write it (or it was damaged)."""
    path = Path(run_dir) / CONFIG
    if not path.exists():
        raise DtError(f"{run_dir} is not a dt run directory (no {CONFIG})")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else type(exc).__name__
        raise DtError(f"{path} is damaged ({reason}): it is not the JSON dt writes; restore it "
                      "or start a new run") from None
    where = f"{path}: "
    if not isinstance(doc, dict):
        raise DtError(f"{where}not a JSON object")
    TrainConfig.from_dict(doc.get("train"), where)
    model = doc.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("arch"), str):
        raise DtError(f"{where}the model record is missing or damaged")
    if not isinstance(model.get("build", {}), dict):
        raise DtError(f"{where}model.build is not a table of settings")
    if doc.get("status") not in STATUSES:
        raise DtError(f"{where}status {doc.get('status')!r} is not one of {', '.join(STATUSES)}")
    return doc


def never_started(run_dir: Path) -> bool:
    """A run directory whose process died before it wrote its first resume state: it holds
    nothing to resume, and a new run may take it over."""
    return (Path(run_dir) / CONFIG).exists() and not (Path(run_dir) / LAST).exists()


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's exclusive (advisory) lock while a process trains it: a second
    ``dt train`` on the same directory is refused instead of mixing files. The lock dies with
    its process, however it ends."""
    import fcntl

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        who = f" (pid {other})" if other.isdigit() else ""
        raise DtError(f"{run_dir} is being trained by another dt process{who}; wait for it to "
                      "end, or train elsewhere with --out") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def set_status(run_dir: Path, status: str, reason: str | None = None) -> None:
    """Record a run's state; ``reason`` says why it failed (removed when it runs again)."""
    doc = read_run_config(run_dir)
    doc["status"] = status
    doc.pop("reason", None)
    if reason:
        doc["reason"] = reason
    atomic_write_json(Path(run_dir) / CONFIG, doc)


def write_metrics(run_dir: Path, records: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r) + "\n" for r in records)
    atomic_write_text(Path(run_dir) / METRICS, text)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / METRICS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_extrapolation(run_dir: Path, doc: dict[str, Any]) -> None:
    atomic_write_json(Path(run_dir) / EXTRAPOLATION, doc)


def read_extrapolation(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / EXTRAPOLATION
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def find_runs(root: Path, depth: int = 3) -> list[Path]:
    """Run directories under ``root`` (itself, its children, ... down to ``depth`` levels:
    studies keep theirs in ``studies/NAME/runs/``), sorted by path."""
    root = Path(root)
    found = []
    for level in range(depth + 1):
        pattern = "/".join(["*"] * level + [CONFIG])
        found += [p.parent for p in root.glob(pattern)]
    return sorted(set(found))


def summarize(run_dir: Path) -> dict[str, Any]:
    """One run at a glance (for ``dt runs``): settings, state, best validation, and the peak
    of its extrapolation curves. A damaged run is summarised as such, not an error."""
    run_dir = Path(run_dir)
    try:
        doc = read_run_config(run_dir)
    except DtError as exc:
        return {"run": str(run_dir), "status": "damaged", "error": str(exc)}
    t = doc["train"]
    try:
        history = read_metrics(run_dir)
    except (OSError, ValueError):
        history = []
    vals = [r.get("val_acc") for r in history if isinstance(r, dict) and r.get("val_acc") is not None]
    peak = None
    try:
        ext = read_extrapolation(run_dir)
    except (OSError, ValueError):
        ext = None
    for difficulty, res in ((ext or {}).get("results") or {}).items():
        acc = (res.get("fixed") or {}).get("accuracy") or []
        if acc:
            j = max(range(len(acc)), key=lambda k: (acc[k], -k))
            if peak is None or acc[j] > peak["accuracy"]:
                peak = {"difficulty": difficulty, "accuracy": acc[j], "iteration": res["iters"][j]}
    return {"run": str(run_dir), "name": run_dir.name, "problem": t["problem"], "arch": t["arch"],
            "width": t["width"], "max_iters": t["max_iters"], "alpha": t["alpha"],
            "seed": t["seed"], "train_difficulty": t.get("train_difficulty"),
            "status": doc["status"], "reason": doc.get("reason"),
            "epochs": len(history), "planned": t["epochs"],
            "best_val": max(vals) if vals else None, "peak": peak,
            "final_train_acc": history[-1].get("train_acc") if history else None,
            "when": time.strftime("%Y-%m-%d %H:%M",
                                  time.localtime((run_dir / CONFIG).stat().st_mtime))}
