"""Messages the engine workers post to the UI.

Workers run in threads and only talk to the UI through these messages (``post_message`` is
thread-safe). Messages that report progress carry the latest state and *coalesce*: when the UI
falls behind, a pending message of the same kind and session is replaced by the newer one, so
a slow terminal shows the latest frame instead of replaying a backlog.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class Coalescing(Message):
    """A progress report superseded by a newer one of the same class and session."""

    def __init__(self, session: int) -> None:
        super().__init__()
        self.session = session

    def can_replace(self, message: Message) -> bool:
        # Textual asks the message it is about to handle whether the next pending one may
        # supersede it: drop this one when the next is the same kind of report, newer.
        return type(message) is type(self) and message.session == self.session  # type: ignore[attr-defined]


# -- model ---------------------------------------------------------------------------------


class ModelLoaded(Message):
    """A model is loaded; ``difficulty`` is the parsed difficulty to open it on."""

    def __init__(self, loaded: Any, ref: str, difficulty: Any) -> None:
        super().__init__()
        self.loaded = loaded
        self.ref = ref
        self.difficulty = difficulty


class ModelFailed(Message):
    def __init__(self, ref: str, error: str, initial: bool) -> None:
        super().__init__()
        self.ref = ref
        self.error = error
        self.initial = initial


# -- solve ---------------------------------------------------------------------------------


class InstanceReady(Message):
    """A fresh instance was drawn for solve session ``session``."""

    def __init__(self, session: int, inputs: Any, target: Any) -> None:
        super().__init__()
        self.session = session
        self.inputs = inputs
        self.target = target


class FrameComputed(Coalescing):
    """The engine has buffered ``count`` frames of ``session`` (``finished``: no more come)."""

    def __init__(self, session: int, count: int, finished: bool = False) -> None:
        super().__init__(session)
        self.count = count
        self.finished = finished


class SolveFailed(Message):
    def __init__(self, session: int, error: str) -> None:
        super().__init__()
        self.session = session
        self.error = error


# -- extrapolation -------------------------------------------------------------------------


class ExtrapolationProgress(Coalescing):
    """Accuracy per iteration over the ``done`` of ``total`` instances scored so far."""

    def __init__(self, session: int, done: int, total: int, iters: list[int],
                 curves: dict[str, list[float]]) -> None:
        super().__init__(session)
        self.done = done
        self.total = total
        self.iters = iters
        self.curves = curves


class ExtrapolationDone(Message):
    def __init__(self, session: int, result: Any, curves: dict[str, list[float]],
                 cancelled: bool, error: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.result = result
        self.curves = curves
        self.cancelled = cancelled
        self.error = error


# -- training ------------------------------------------------------------------------------


class TrainStarted(Message):
    def __init__(self, session: int, info: dict[str, Any]) -> None:
        super().__init__()
        self.session = session
        self.info = info


class TrainBatch(Coalescing):
    """Progress inside an epoch; ``losses`` holds every batch loss of the run so far."""

    def __init__(self, session: int, epoch: int, epochs: int, step: int, steps: int,
                 loss: float, losses: list[tuple[float, float]]) -> None:
        super().__init__(session)
        self.epoch = epoch
        self.epochs = epochs
        self.step = step
        self.steps = steps
        self.loss = loss
        self.losses = losses


class TrainEpoch(Message):
    """One finished epoch's record (never coalesced: each is a point on the curves)."""

    def __init__(self, session: int, record: dict[str, Any]) -> None:
        super().__init__()
        self.session = session
        self.record = record


class TrainPhase(Coalescing):
    """What the run is doing besides batches: ``"preparing"``, ``"extrapolating"``..."""

    def __init__(self, session: int, text: str, done: int = 0, total: int = 0) -> None:
        super().__init__(session)
        self.text = text
        self.done = done
        self.total = total


class TrainEnded(Message):
    def __init__(self, session: int, status: str, run_dir: str, summary: dict[str, Any],
                 error: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.status = status
        self.run_dir = run_dir
        self.summary = summary
        self.error = error
