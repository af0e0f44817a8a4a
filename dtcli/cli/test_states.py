"""``dt test --state DIR``: a long test that survives being stopped.

DIR holds the test's arguments (``test.json``), one resumable engine state per difficulty and
pass (``<difficulty>-<pass>.safetensors``: the streaming modes' pass and the halting pass, see
:mod:`dtcli.engine.resumable`) and each finished pass's result (``<difficulty>-<pass>.json``).
``--resume`` reads the finished passes back and continues the unfinished one from its state, so
the command ends with exactly the counts an uninterrupted run gives. Ctrl-C or SIGTERM writes
the state at the next iteration and exits (code 130) saying how to continue.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import typer

from dtcli.cli.common import err_console, stop_on_signals
from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write_json

ARGS = "test.json"
PASSES = ("stream", "halt")


class TestStates:
    """The state folder of one ``dt test`` (see the module doc)."""

    def __init__(self, root: Path, key: dict[str, Any], *, every: float, resume: bool) -> None:
        self.root = Path(root).expanduser()
        self.key = json.loads(json.dumps(key, default=str))
        self.every = every
        self.resume = resume
        if every < 0:
            raise DtError(f"--state-every must be 0 or more minutes, got {every}")
        if self.root.exists() and not self.root.is_dir():
            raise DtError(f"--state {self.root} is a file; give a folder for the test's state")
        args = self.root / ARGS
        if resume:
            if not args.is_file():
                raise DtError(f"--state {self.root} holds no test to resume; run without "
                              "--resume to start one there")
            stored = json.loads(args.read_text(encoding="utf-8"))
            if stored != self.key:
                differs = sorted(k for k in set(stored) | set(self.key)
                                 if stored.get(k) != self.key.get(k))
                raise DtError(f"--state {self.root} holds another test ({', '.join(differs)} "
                              "differ); resume it with its own arguments, or use another --state")
        else:
            if self.root.is_dir() and any(self.root.iterdir()):
                raise DtError(f"--state {self.root} already holds a test: continue it with "
                              "--resume, or choose an empty folder")
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_json(args, self.key)

    def _name(self, difficulty: Any, pass_: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{difficulty}-{pass_}")

    def run(self, compute: Callable[[str, Any, Callable[[], bool]], Any], difficulty: Any,
            mode: list[str]) -> tuple[Any, Any]:
        """``(streaming result, halting result)`` of one difficulty: each pass read from DIR
        when it finished before, else run by ``compute(pass, state, cancel)``."""
        from dtcli.engine.extrapolate import ExtrapolationResult
        from dtcli.engine.resumable import ResumeState

        out = []
        for pass_ in PASSES:
            name = self._name(difficulty, pass_)
            finished = self.root / f"{name}.json"
            if finished.is_file():
                doc = json.loads(finished.read_text(encoding="utf-8"))
                out.append(None if doc is None else ExtrapolationResult.from_dict(doc))
                continue
            path = self.root / f"{name}.safetensors"
            state = ResumeState(path, {**self.key, "difficulty": str(difficulty), "pass": pass_},
                                every=self.every, resume=self.resume and path.is_file())
            with stop_on_signals() as interrupted:
                result = compute(pass_, state, interrupted)
            if result is None and interrupted():
                err_console.print(f"interrupted: the test's state is in {self.root}; continue "
                                  "it with the same command and --resume", soft_wrap=True)
                raise typer.Exit(130)
            atomic_write_json(finished, None if result is None else result.to_dict())
            state.finish()
            out.append(result)
        return out[0], out[1]
