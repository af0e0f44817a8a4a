"""Run directories: what a training run leaves on disk, written atomically and read back checked.

``runs/<problem>-<arch>-<id>/`` holds ``config.json`` (everything needed to rebuild the net and
the data), ``best.safetensors`` (weights of the best validation epoch), ``last.pt`` (resume
state), ``metrics.jsonl`` (one line per epoch) and ``extrapolation.json``.
"""

from __future__ import annotations

import json
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from dtcli import __version__
from dtcli.config import TrainConfig
from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json, atomic_write_text, read_small_file

#: where runs go unless told (--out), relative to the working directory
RUNS_ROOT = Path("runs")
CONFIG = "config.json"
LOCK = ".lock"
STATUSES = ("running", "finished", "cancelled", "interrupted", "failed")
BEST = "best.safetensors"
LAST = "last.pt"
METRICS = "metrics.jsonl"
EXTRAPOLATION = "extrapolation.json"
#: the run's tags and note (``dt train --tag/--note``, ``dt runs label``): a file of its own, so
#: relabelling never rewrites the record a running process writes
LABELS = "labels.json"
TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:+-")
MAX_TAG, MAX_TAGS, MAX_NOTE = 40, 32, 4000
#: the largest run file read: a metrics line is ~200 bytes an epoch, a curve ~30 bytes an
#: iteration; anything bigger is not a file dt wrote
MAX_RUN_FILE = 64 << 20


class DamagedFile(DtError):
    """A run file that is not what dt writes. ``state`` is the short form a listing shows in
    the run's row (``damaged: metrics.jsonl line 3``); the message says what is wrong."""

    def __init__(self, path: Path, why: str, where: str = "", *, message: str = "",
                 advice: str = "restore it, or delete it (the run is then read without it)"):
        self.path, self.where = Path(path), where
        at = f"{where}: " if where else ""
        super().__init__(message or f"{path} is damaged ({at}{why}); {advice}")

    @property
    def state(self) -> str:
        return f"damaged: {self.path.name}" + (f" {self.where}" if self.where else "")


def _read_json_text(path: Path) -> str:
    """A run file's text: a regular file of at most :data:`MAX_RUN_FILE` bytes, UTF-8
    (FileNotFoundError passes through)."""
    try:
        data = read_small_file(path, MAX_RUN_FILE, "run file")
    except DtError as exc:  # a FIFO, a device, a huge file, no permission
        raise DamagedFile(path, "", message=str(exc)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DamagedFile(path, "not UTF-8 text") from None


def _parse_json(path: Path, text: str, where: str = "") -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise DamagedFile(path, "JSON nested too deeply", where) from None
    except ValueError as exc:
        raise DamagedFile(path, f"not JSON: {exc}", where) from None


def _number(value: Any, finite: bool = True) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and (not finite or math.isfinite(value)))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


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
    try:
        text = _read_json_text(path)
    except FileNotFoundError:
        raise DtError(f"{run_dir} is not a dt run directory (no {CONFIG})") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else type(exc).__name__
        raise DamagedFile(path, f"{reason}: it is not the JSON dt writes",
                          advice="restore it or start a new run") from None
    where = f"{path}: "
    try:
        if not isinstance(doc, dict):
            raise DtError(f"{where}not a JSON object")
        TrainConfig.from_dict(doc.get("train"), where)
        for key in ("problem", "arch"):  # the rest has defaults; these name the run
            if not isinstance(doc["train"].get(key), str) or not doc["train"][key]:
                raise DtError(f"{where}train.{key} is missing or not a name")
        model = doc.get("model")
        if not isinstance(model, dict) or not isinstance(model.get("arch"), str):
            raise DtError(f"{where}the model record is missing or damaged")
        if not isinstance(model.get("build", {}), dict):
            raise DtError(f"{where}model.build is not a table of settings")
        if doc.get("status") not in STATUSES:
            raise DtError(f"{where}status {doc.get('status')!r} is not one of {', '.join(STATUSES)}")
    except DamagedFile:
        raise
    except DtError as exc:  # the same line, as the damaged-file error a listing recognises
        raise DamagedFile(path, "", message=str(exc)) from None
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
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    except OSError:  # a full or read-only disk: do not keep holding the lock
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise
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


#: fields of an epoch record: name -> (required, may be null, finite only)
METRIC_FIELDS = {"epoch": (True, False, True), "train_acc": (True, False, True),
                 "val_acc": (False, True, True), "train_loss": (False, True, False),
                 "lr": (False, True, False), "seconds": (False, True, True),
                 "step": (False, True, True)}


def _check_record(path: Path, n: int, record: Any) -> dict[str, Any]:
    where = f"line {n}"
    if not isinstance(record, dict):
        raise DamagedFile(path, f"a {_kind(record)}, not an epoch record", where)
    for key, (required, nullable, finite) in METRIC_FIELDS.items():
        if key not in record:
            if required:
                raise DamagedFile(path, f"no {key}", where)
            continue
        value = record[key]
        if value is None and nullable:
            continue
        if not _number(value, finite):
            raise DamagedFile(path, f"{key} is {value!r}, not a number", where)
    if isinstance(record["epoch"], float) or record["epoch"] < 1:
        raise DamagedFile(path, f"epoch {record['epoch']!r}", where)
    if record.get("test") is not None and not isinstance(record["test"], dict):
        raise DamagedFile(path, "test is not a record", where)
    return record


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """A run's epoch records (none when it has no metrics.jsonl yet), every line checked:
    a damaged line raises :class:`DamagedFile` naming the line."""
    path = Path(run_dir) / METRICS
    try:
        text = _read_json_text(path)
    except FileNotFoundError:
        return []
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            records.append(_check_record(path, n, _parse_json(path, line, f"line {n}")))
    return records


def write_extrapolation(run_dir: Path, doc: dict[str, Any]) -> None:
    atomic_write_json(Path(run_dir) / EXTRAPOLATION, doc)


def _check_curve(path: Path, key: str, res: Any) -> None:
    """One difficulty's result: iterations, instances, and per mode a count and an accuracy
    at each iteration (what :meth:`ExtrapolationResult.to_dict` writes)."""
    where = f"results.{key}"
    if not isinstance(res, dict):
        raise DamagedFile(path, f"a {_kind(res)}, not a result", where)
    iters, total = res.get("iters"), res.get("total")
    if (not isinstance(iters, list) or not iters
            or not all(_number(i) and isinstance(i, int) and i >= 1 for i in iters)):
        raise DamagedFile(path, "iters is not a list of iterations", where)
    if not (_number(total) and isinstance(total, int) and total >= 0):
        raise DamagedFile(path, f"total is {total!r}", where)
    if "fixed" not in res:
        raise DamagedFile(path, "no fixed-iteration curve", where)
    for mode in ("fixed", "max-conf", "verified"):
        if mode not in res:
            continue
        curve = res[mode]
        if not isinstance(curve, dict):
            raise DamagedFile(path, f"{mode} is a {_kind(curve)}, not a curve", where)
        for name in ("correct", "accuracy"):
            values = curve.get(name)
            if (not isinstance(values, list) or len(values) != len(iters)
                    or not all(_number(v) for v in values)):
                raise DamagedFile(path, f"{mode}.{name} is not {len(iters)} numbers", where)
        if not all(0 <= v <= 100 for v in curve["accuracy"]):
            raise DamagedFile(path, f"{mode}.accuracy is not a percentage", where)
    for optional in ("extra", "groups"):
        if res.get(optional) is not None and not isinstance(res[optional], dict):
            raise DamagedFile(path, f"{optional} is not a record", where)


def read_extrapolation(run_dir: Path) -> dict[str, Any] | None:
    """A run's extrapolation.json (None when it has none yet), checked: a damaged file raises
    :class:`DamagedFile` saying where."""
    path = Path(run_dir) / EXTRAPOLATION
    try:
        text = _read_json_text(path)
    except FileNotFoundError:
        return None
    doc = _parse_json(path, text)
    if not isinstance(doc, dict):
        raise DamagedFile(path, f"a {_kind(doc)}, not a JSON object")
    results = doc.get("results")
    if results is not None:
        if not isinstance(results, dict):
            raise DamagedFile(path, "results is not a table")
        for key, res in results.items():
            _check_curve(path, key, res)
    return doc


def check_tag(tag: str, where: str = "--tag") -> str:
    """A tag: 1-40 letters, digits or ``. _ : + -`` (typed back in ``dt runs --tag``)."""
    if not tag or len(tag) > MAX_TAG or not set(tag) <= TAG_CHARS:
        raise DtError(f"{where} {tag!r}: a tag is 1-{MAX_TAG} letters, digits or . _ : + - "
                      "(no spaces; say more with --note)")
    return tag


def check_note(note: str, where: str = "--note") -> str:
    if len(note) > MAX_NOTE or "\x00" in note:
        raise DtError(f"{where}: a note is at most {MAX_NOTE} characters of text")
    return note


def read_labels(run_dir: Path) -> dict[str, Any]:
    """The run's ``{"tags": [...], "note": str | None}`` (none when it has no labels.json)."""
    path = Path(run_dir) / LABELS
    try:
        doc = _parse_json(path, _read_json_text(path))
    except FileNotFoundError:
        return {"tags": [], "note": None}
    try:
        if not isinstance(doc, dict) or not isinstance(doc.get("tags", []), list):
            raise DtError("not the object dt writes")
        tags = doc.get("tags", [])
        if not all(isinstance(t, str) for t in tags):
            raise DtError("a tag is not text")
        for tag in tags:
            check_tag(tag, "tag")
        note = doc.get("note")
        if note is not None:
            if not isinstance(note, str):
                raise DtError("its note is not text")
            check_note(note, "note")
    except DtError as exc:
        raise DamagedFile(path, str(exc)) from None
    return {"tags": tags[:MAX_TAGS], "note": note}


def checked_labels(tags: list[str], note: str | None) -> dict[str, Any]:
    """``{"tags", "note"}`` as written: each tag checked and kept once, in order; the note
    checked."""
    tags = list(dict.fromkeys(check_tag(t) for t in tags))
    if len(tags) > MAX_TAGS:
        raise DtError(f"--tag: at most {MAX_TAGS} tags a run")
    return {"tags": tags, "note": None if note is None else check_note(note)}


def write_labels(run_dir: Path, tags: list[str], note: str | None) -> None:
    """Write the run's labels whole (:func:`checked_labels`)."""
    atomic_write_json(Path(run_dir) / LABELS, checked_labels(tags, note))


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
    of its extrapolation curves. A damaged file makes the run's row say so (its ``status``
    is "damaged", ``damaged`` the short form, ``error`` the whole line), never an error: one
    bad run never hides the others."""
    run_dir = Path(run_dir)
    try:
        doc = read_run_config(run_dir)
    except DamagedFile as exc:
        return {"run": str(run_dir), "status": "damaged", "damaged": exc.state, "error": str(exc)}
    except DtError as exc:  # e.g. a folder that lost its config.json since it was found
        return {"run": str(run_dir), "status": "damaged", "damaged": f"damaged: {CONFIG}",
                "error": str(exc)}
    t = TrainConfig.from_dict(doc["train"])  # checked: a setting left out takes its default
    row = {"run": str(run_dir), "name": run_dir.name, "problem": t.problem, "arch": t.arch,
           "width": t.width, "max_iters": t.max_iters, "alpha": t.alpha, "seed": t.seed,
           "train_difficulty": t.train_difficulty, "status": doc["status"],
           "reason": doc.get("reason"), "epochs": None, "planned": t.epochs, "best_val": None,
           "peak": None, "final_train_acc": None, "tags": [], "note": None,
           "when": time.strftime("%Y-%m-%d %H:%M",
                                 time.localtime((run_dir / CONFIG).stat().st_mtime))}
    try:
        row.update(read_labels(run_dir))
        history = read_metrics(run_dir)
        ext = read_extrapolation(run_dir)
    except DamagedFile as exc:
        row.update(status="damaged", damaged=exc.state, error=str(exc))
        return row
    vals = [r["val_acc"] for r in history if r.get("val_acc") is not None]
    peak = None
    for difficulty, res in ((ext or {}).get("results") or {}).items():
        acc = res["fixed"]["accuracy"]
        j = max(range(len(acc)), key=lambda k: (acc[k], -k))
        if peak is None or acc[j] > peak["accuracy"]:
            peak = {"difficulty": difficulty, "accuracy": acc[j], "iteration": res["iters"][j]}
    row.update(epochs=len(history), best_val=max(vals) if vals else None, peak=peak,
               final_train_acc=history[-1]["train_acc"] if history else None)
    return row
