"""The TUI's messages: from the engine workers to the screens, and from the screens up to the
app (attributes go down, messages go up).

Workers run in threads and only talk to the UI through these messages (``post_message`` is
thread-safe). Messages that report progress carry the latest state and *coalesce*: when the UI
falls behind, a pending message of the same kind and session is replaced by the newer one, so
a slow terminal shows the latest frame instead of replaying a backlog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from dtcli.tui.state import Showing


@dataclass
class Coalescing(Message):
    """A progress report superseded by a newer one of the same class and session."""

    session: int

    def can_replace(self, message: Message) -> bool:
        # Textual asks the message it is about to handle whether the next pending one may
        # supersede it: drop this one when the next is the same kind of report, newer.
        return type(message) is type(self) and message.session == self.session  # type: ignore[attr-defined]


# -- model ---------------------------------------------------------------------------------


@dataclass
class ModelLoaded(Message):
    """A model is loaded; ``difficulty`` is the parsed difficulty to open it on."""

    loaded: Any
    ref: str
    difficulty: Any


@dataclass
class ModelFailed(Message):
    ref: str
    error: str
    initial: bool


# -- solve ---------------------------------------------------------------------------------


@dataclass
class InstanceReady(Message):
    """A fresh instance was drawn for solve session ``session``."""

    session: int
    instance: Any  # dtcli.contracts.instances.Instance


@dataclass
class FrameComputed(Coalescing):
    """The engine has buffered ``count`` frames of ``session`` (``finished``: no more come)."""

    count: int
    finished: bool = False


@dataclass
class SolveFailed(Message):
    session: int
    error: str


# -- from the screens up to the app --------------------------------------------------------


@dataclass
class ShowingChanged(Message):
    """The solve view opened another model or difficulty (the app's sub-title, the
    extrapolation screen's defaults follow)."""

    showing: Showing


@dataclass
class Fatal(Message):
    """An error the app cannot go on from (the first model does not open): it ends with this
    line and exit code 2."""

    error: str


@dataclass
class BenchmarkDone(Message):
    """``dt tui --benchmark`` played its frames; the app ends and ``dt tui`` prints this."""

    report: dict[str, Any]


@dataclass
class TrainingRunning(Message):
    """A training run started (True) or ended (False): quitting asks twice meanwhile."""

    running: bool


# -- extrapolation -------------------------------------------------------------------------


@dataclass
class ExtrapolationProgress(Coalescing):
    """Accuracy per iteration over the ``done`` of ``total`` instances scored so far."""

    done: int
    total: int
    iters: list[int]
    curves: dict[str, list[float]]


@dataclass
class ExtrapolationDone(Message):
    session: int
    result: Any
    curves: dict[str, list[float]]
    cancelled: bool
    error: str | None = None


# -- training ------------------------------------------------------------------------------


@dataclass
class TrainStarted(Message):
    session: int
    info: dict[str, Any]


@dataclass
class TrainBatch(Coalescing):
    """Progress inside an epoch; ``losses`` holds every batch loss of the run so far."""

    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    losses: list[tuple[float, float]]


@dataclass
class TrainEpoch(Message):
    """One finished epoch's record (never coalesced: each is a point on the curves)."""

    session: int
    record: dict[str, Any]


@dataclass
class TrainPhase(Coalescing):
    """What the run is doing besides batches: ``"preparing"``, ``"extrapolating"``..."""

    text: str
    done: int = 0
    total: int = 0


@dataclass
class TrainEnded(Message):
    session: int
    status: str
    run_dir: str
    summary: dict[str, Any]
    error: str | None = None
