"""The values the TUI passes around: what ``dt tui`` was started with, the model the solve view
has open, and what its status panel shows.

They are plain dataclasses so that they can sit in ``var`` attributes: Textual calls a watcher
when a new value is *unequal* to the old one, so each class says what equal means (a model is
the same only if it is the same object; two panel states are equal when they print the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any


def display_name(ref: str) -> str:
    """A run directory by its last part, a zoo model by its name."""
    path = Path(ref)
    return path.name if path.exists() else ref


@dataclass(frozen=True)
class SolveOptions:
    """What the solve view starts with (``dt tui``'s options)."""

    model: str
    difficulty: str | None = None  # of the first instance; None: the problem's test difficulty
    seed: int = 0
    iters: int | None = None  # before playback pauses; None: 10 x max_iters, at least 100
    device: str = "auto"
    threads: int = 1
    autoplay: bool = True
    benchmark: int | None = None
    runs_root: Path = Path("runs")


@dataclass(frozen=True, eq=False)
class OpenModel:
    """A loaded model and the reference it was opened by. Compared by identity: opening the
    same reference again gives a new model (and fresh screens)."""

    loaded: Any  # engine.model.LoadedModel
    ref: str
    name: str

    @property
    def recurrent(self) -> bool:
        """Whether the net can think past any limit (a feed-forward one has a depth)."""
        return self.loaded.net.max_depth is None

    @cached_property
    def summary(self) -> tuple[str, ...]:
        """What the status panel says of the model, in pieces it packs into as many lines as
        its width needs: the architecture, its size, and what it was trained on."""
        p, cfg, net = self.loaded.problem, self.loaded.config, self.loaded.net
        kind = "recurrent" if net.recurrent else "feed-forward"
        trained = cfg.train_difficulty or p.default_train_difficulty
        return (cfg.arch, f"{net.num_parameters():,} params", kind,
                f"trained on {p.name} {trained}", f"{cfg.max_iters} iterations")


@dataclass(frozen=True)
class Showing:
    """What the solve view shows: a model on instances of one difficulty. The app and the
    extrapolation screen start from it."""

    model: OpenModel
    difficulty: Any

    def describe(self) -> str:
        p = self.model.loaded.problem
        return f"{self.model.name} · {p.name} {p.describe_difficulty(self.difficulty)}"


@dataclass(frozen=True)
class Figures:
    """The scalars of one frame that the status panel prints."""

    mean_confidence: float
    changed: float
    delta_thought: float
    correct: bool | None
    verified: bool | None
    moving: float = 1.0  # share of the thought's positions still moving
    diverged_at: int | None = None  # the iteration its thought overflowed

    @classmethod
    def of(cls, frame: Any) -> Figures | None:
        if frame is None:
            return None
        return cls(frame.mean_confidence, frame.changed, frame.delta_thought, frame.correct,
                   frame.verified, frame.moving, frame.diverged_at)


@dataclass(frozen=True)
class SolveState:
    """Everything the status panel shows, computed from the solve view's reactive attributes.
    ``key`` names the frame (session, cursor): the panel reports when it has painted it."""

    model: str = ""
    model_parts: tuple[str, ...] = ()  # OpenModel.summary
    instance_line: str = ""
    iteration: int = 0
    limit: int = 0
    playing: bool = False
    speed: str = ""
    waiting: bool = False
    loading: str | None = None
    figures: Figures | None = None
    first_correct: int | None = None
    final: bool = False  # the playback has reached its end: an answer not right is wrong
    answer_shown: bool = False
    note: str = ""
    verify_name: str = "verified"
    key: tuple[int, int] = (0, -1)
