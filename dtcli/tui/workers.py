"""Engine-side helpers for the TUI: model discovery, difficulty steps, training settings and
the listener that turns training events into UI messages. Nothing here touches widgets."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Callable

from dtcli.contracts.errors import DtError
from dtcli.engine.events import Listener
from dtcli.runs import RUNS_ROOT
from dtcli.tui import messages as msg
from dtcli.tui.frames import FrameBuffer, produce

# -- models --------------------------------------------------------------------------------


def zoo_models() -> list[tuple[str, str]]:
    """``(name, description)`` of every zoo model."""
    from dtcli import zoo

    try:
        models = zoo.index()
    except (OSError, ValueError):
        return []
    return [(name, f"{m.get('problem', '?')} · {m.get('arch', '?')} · "
                   f"{m.get('parameters', 0):,} parameters") for name, m in models.items()]


def recent_runs(root: Path = RUNS_ROOT, limit: int = 30) -> list[tuple[str, str]]:
    """``(run directory, description)`` of runs under ``root`` with weights, newest first."""
    found = []
    for config in Path(root).glob("*/config.json"):
        run = config.parent
        if not (run / "best.safetensors").exists():
            continue
        try:
            doc = json.loads(config.read_text(encoding="utf-8"))
            train = doc["train"]
            desc = f"{train['problem']} · {train['arch']} · {doc.get('status', '?')}"
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append((config.stat().st_mtime, str(run), desc))
    found.sort(reverse=True)
    return [(run, desc) for _, run, desc in found[:limit]]


def open_model(ref: str, device: str, threads: int, difficulty: str | None) -> tuple[Any, Any]:
    """Load ``ref`` for the solve view (torch capped at ``threads``): the loaded model and the
    parsed difficulty to open it on (``difficulty``, or the problem's test difficulty)."""
    from dtcli.engine.device import configure_threads, resolve_device
    from dtcli.engine.model import load_model

    configure_threads(threads)
    loaded = load_model(ref, device=resolve_device(device))
    problem = loaded.problem
    return loaded, problem.parse_difficulty(difficulty or problem.default_test_difficulty)


def solve_instance(buffer: FrameBuffer, loaded: Any, difficulty: Any, seed: int, *,
                   on_instance: Callable[[Any], Any], on_frames: Callable[[int, bool], Any],
                   is_cancelled: Callable[[], bool]) -> None:
    """Draw test instance ``seed`` of ``difficulty`` (``on_instance(instance)``), then
    fill ``buffer`` with the engine's frames (``on_frames(count, finished)``) until the net
    stops or ``is_cancelled()``; a recurrent net thinks as long as the view asks."""
    from dtcli.contracts.instances import dataset_instance
    from dtcli.engine.solve import solve

    inst = dataset_instance(loaded.problem, "test", difficulty, 1, seed, 0)
    on_instance(inst)
    frames = solve(loaded.net, loaded.problem, inst.inputs, loaded.net.max_depth or 10**9,
                   target=inst.target)
    produce(buffer, frames, is_cancelled, on_frames)


def default_iterations(net: Any, max_iters: int) -> int:
    """How long the solve view thinks before it pauses: dt's default (:func:`think_iters`,
    10x the training iterations; a feed-forward net's depth), at least 100 iterations for a
    recurrent net so a net trained briefly still shows it thinking."""
    from dtcli.config import think_iters

    return net.max_depth or max(think_iters(max_iters, None), 100)


def step_difficulty(problem: Any, current: Any, direction: int, tries: int = 4) -> Any | None:
    """The nearest valid difficulty above (``direction`` 1) or below (-1) ``current``, found
    by asking the problem to parse ``current ± 1, ± 2, ...``; None for non-integer ones."""
    if isinstance(current, bool) or not isinstance(current, int):
        return None
    for k in range(1, tries + 1):
        candidate = current + direction * k
        if candidate <= 0:
            return None
        try:
            return problem.parse_difficulty(str(candidate))
        except DtError:
            continue
    return None


# -- training settings ---------------------------------------------------------------------


def parse_settings(text: str) -> dict[str, Any]:
    """``"width=16 epochs=3 test_difficulties=13,21"`` -> typed training overrides.

    Names are the training settings (:mod:`dtcli.settings`), with underscores or dashes, or
    their flags (``test-difficulty``, ``warmup``); values are parsed and checked by the same
    rules as ``dt train``'s flags.
    """
    from dtcli.config import rules
    from dtcli.settings import check_value, flag_of, parse_text

    declared = rules()
    by_flag = {flag_of(n, r)[2:].replace("-", "_"): n for n, (_, r) in declared.items()
               if flag_of(n, r)}
    out: dict[str, Any] = {}
    for token in text.split():
        name, sep, value = token.partition("=")
        name = name.strip().lstrip("-").replace("-", "_")
        name = by_flag.get(name, name)
        if not sep or not name:
            raise DtError(f"settings are NAME=VALUE, got {token!r} (example: width=16 epochs=3)")
        if name in ("problem", "arch", "preset", "problem_options", "arch_options"):
            raise DtError(f"choose {name.replace('_', ' ')} with the selectors, not as a setting")
        if name not in declared:
            from dtcli.plugins import did_you_mean

            raise DtError(f"unknown training setting {name!r}{did_you_mean(name, list(declared))}")
        hint, rule = declared[name]
        out[name] = check_value(name, parse_text(name, value, hint), hint, rule, "setting ")
    return out


def format_settings(overrides: dict[str, Any]) -> str:
    parts = []
    for k, v in overrides.items():
        if isinstance(v, (list, tuple)):
            v = ",".join(str(x) for x in v)
        parts.append(f"{k}={v}")
    return " ".join(parts)


def build_train_config(problem: str, arch: str, preset: str | None, overrides: dict[str, Any],
                       threads: int | None):
    """A TrainConfig resolved exactly as ``dt train`` does; torch threads default to the
    TUI's cap so training never starves the UI thread."""
    from dtcli.experiments.recipe import resolve_config

    overrides = dict(overrides)
    overrides.setdefault("threads", threads)
    return resolve_config(problem, arch, preset, {}, {}, overrides)


# -- training events -> messages -----------------------------------------------------------


class TrainBridge(Listener):
    """Posts training events to ``target`` (a screen) from the training thread."""

    def __init__(self, post: Callable[[Any], Any], session: int) -> None:
        self.post = post
        self.session = session
        self.epochs = 0
        self.losses: list[tuple[float, float]] = []  # (fractional epoch, batch loss)
        self.phase = ""
        self._lock = threading.Lock()

    def on_start(self, info: dict[str, Any]) -> None:
        self.epochs = info.get("epochs", 0)
        self.post(msg.TrainStarted(self.session, dict(info)))

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.epochs = epochs
        self.post(msg.TrainPhase(self.session, f"epoch {epoch}/{epochs}", 0, steps))

    def on_batch(self, epoch: int, step: int, steps: int, loss: float) -> None:
        with self._lock:
            self.losses.append((epoch - 1 + step / steps, loss))
            snapshot = list(self.losses)
        self.post(msg.TrainBatch(self.session, epoch, self.epochs, step, steps, loss, snapshot))

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        self.post(msg.TrainEpoch(self.session, dict(record)))

    def on_extrapolation_start(self, difficulty: Any, iters: int, count: int) -> None:
        self.phase = f"extrapolating to {difficulty} ({iters} iterations)"
        self.post(msg.TrainPhase(self.session, self.phase, 0, count))

    def on_extrapolation_batch(self, done: int, total: int, partial: Any) -> None:
        self.post(msg.TrainPhase(self.session, self.phase, done, total))
