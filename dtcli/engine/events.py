"""Engine events. The Rich progress display, the metrics log and the TUI are listeners."""

from __future__ import annotations

from typing import Any, Iterable


class Listener:
    """Receives engine events; every method is a no-op by default."""

    def on_start(self, info: dict[str, Any]) -> None: ...
    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None: ...
    def on_batch(self, epoch: int, step: int, steps: int, loss: float) -> None: ...
    #: after ``on_batch``: ``epoch``, ``step``, ``steps``, ``loss`` and ``position_acc`` (the
    #: epoch's percent of positions right so far, None where the problem counts none)
    def on_progress(self, stats: dict[str, Any]) -> None: ...
    def on_epoch_end(self, record: dict[str, Any]) -> None: ...
    def on_checkpoint(self, kind: str, path: Any) -> None: ...
    def on_extrapolation_start(self, difficulty: Any, iters: int, count: int) -> None: ...
    def on_extrapolation_batch(self, done: int, total: int, partial: Any) -> None: ...
    def on_extrapolation_progress(self, fraction: float) -> None: ...
    def on_extrapolation(self, difficulty: Any, result: Any) -> None: ...
    def on_exception(self, exc: BaseException) -> None: ...
    def on_end(self, summary: dict[str, Any]) -> None: ...


class Listeners(Listener):
    """Fan one event out to several listeners."""

    def __init__(self, listeners: Iterable[Listener | None]) -> None:
        self.listeners = [lst for lst in listeners if lst is not None]

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):
            targets = object.__getattribute__(self, "listeners")

            def fan_out(*args: Any, **kwargs: Any) -> None:
                for lst in targets:
                    getattr(lst, name)(*args, **kwargs)

            return fan_out
        return object.__getattribute__(self, name)
