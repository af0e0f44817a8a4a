"""Instances as the host passes them around, and drawing them with what a problem's
``render`` takes.

An :class:`Instance` carries, besides its tensors, its *extras*: what the problem knows of it
that the tensors do not say (a chess position's side to move and castling rights, a puzzle's
rating and its row in a file). They come from the data set's record (:func:`dataset_instance`,
the per-instance fields of :meth:`Problem.make_data`'s record) or from the user's text
(:meth:`Problem.parse_instance` may return an Instance), and reach :meth:`Problem.render` and
:meth:`Problem.render_image` as ``extras=``: nothing about an instance lives in a global.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from dtcli.contracts.problem import Problem


@dataclass(eq=False)
class Instance:
    """One instance: its input, its target (None when unknown) and its extras (instances
    compare by identity: their tensors have no single truth value)."""

    inputs: "torch.Tensor"
    target: "torch.Tensor | None" = None
    extras: dict[str, Any] = field(default_factory=dict)


#: the fields of a data record that are not per-instance extras
RECORD_TENSORS = ("inputs", "targets")


def dataset_instance(problem: "Problem", split: str, difficulty: Any, count: int, seed: int,
                     index: int) -> Instance:
    """Instance ``index`` of ``problem.dataset(split, difficulty, count, seed)``, with its
    extras from the data record."""
    data = problem.data_record(split, difficulty, count, seed)
    extras = {k: v[index] for k, v in data.items() if k not in RECORD_TENSORS}
    return Instance(data["inputs"][index], data["targets"][index], extras)


def read_instance(problem: "Problem", text: str) -> Instance:
    """The user's text as an :class:`Instance` (the target from ``target_for`` when the parse
    did not give one)."""
    parsed = problem.parse_instance(text)
    if isinstance(parsed, Instance):
        if parsed.target is None:
            return Instance(parsed.inputs, problem.target_for(parsed.inputs), parsed.extras)
        return parsed
    return Instance(parsed, problem.target_for(parsed))


def _call(method: Callable[..., Any], args: tuple, **optional: Any) -> Any:
    """``method(*args, **optional)`` passing only the optional keywords it takes (plugins
    written before a keyword existed keep working)."""
    takes = inspect.signature(method).parameters
    return method(*args, **{k: v for k, v in optional.items() if v is not None and k in takes})


def draw(problem: "Problem", inputs, prediction=None, target=None, confidence=None,
         probabilities=None, fit: tuple[int, int] | None = None,
         extras: dict[str, Any] | None = None) -> Any:
    """``problem.render(...)`` with ``fit`` and ``extras`` when it takes them."""
    return _call(problem.render, (inputs, prediction, target, confidence, probabilities),
                 fit=fit, extras=extras or None)


def draw_image(problem: "Problem", inputs, prediction=None, target=None, confidence=None,
               probabilities=None, fit: tuple[int, int] | None = None,
               extras: dict[str, Any] | None = None) -> Any:
    """``problem.render_image(...)`` with ``fit`` and ``extras`` when it takes them."""
    return _call(problem.render_image, (inputs, prediction, target, confidence, probabilities),
                 fit=fit, extras=extras or None)
