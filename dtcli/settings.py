"""How a training setting is declared and checked, once, wherever its value comes from.

Every field of :class:`~dtcli.config.TrainConfig` carries a :class:`Rule` (its help, its flag,
its bounds or choices, whether ``--resume`` may change it). The rule drives the flags of
``dt train`` and ``dt bench``, the keys of the TUI's settings, the resume rules, and the check
of every value: from a flag, a preset, or a file read back from disk (``config.json``, a zoo
card), so a bad value is one line naming where it came from.

No torch here: ``dt --help`` imports this module.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from dtcli.contracts.errors import DtError
from dtcli.contracts.options import parse_scalar


@dataclass(frozen=True)
class Rule:
    """The declaration of one setting (besides its name, type and default)."""

    help: str
    flag: str | None = ""  # "" means "--" + the name with dashes; None: no flag
    short: str | None = None
    choices: tuple[Any, ...] | None = None
    low: float | None = None  # inclusive bound
    high: float | None = None  # inclusive bound
    above: float | None = None  # exclusive lower bound
    resume: bool = False  # may change when a run is resumed
    repeat: bool = False  # a list given by repeating the flag


def setting(default: Any, help: str, **rule: Any) -> Any:
    """A dataclass field with its rule (``default`` may be a list: copied per instance)."""
    spec = Rule(help=help, **rule)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"rule": spec})
    return field(default=default, metadata={"rule": spec})


def flag_of(name: str, rule: Rule) -> str | None:
    if rule.flag is None:
        return None
    return rule.flag or "--" + name.replace("_", "-")


def _base(hint: Any) -> tuple[Any, bool]:
    """``(type, optional)`` of a field's type hint (``int | None`` -> ``(int, True)``)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], True
    return hint, False


def _kind(value: Any, kind: Any) -> bool:
    origin = typing.get_origin(kind) or kind
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(kind) or (Any,)
        return isinstance(value, list) and (item is Any or all(_kind(v, item) for v in value))
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    return True


def _describe(kind: Any) -> str:
    origin = typing.get_origin(kind) or kind
    if origin is list:
        (item,) = typing.get_args(kind) or (Any,)
        return f"a list of {_describe(item)}s"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a text",
            dict: "a table of options"}.get(origin, str(kind))


def check_value(name: str, value: Any, hint: Any, rule: Rule, where: str = "") -> Any:
    """``value`` if it is a valid value of setting ``name``, else one clear DtError."""
    kind, optional = _base(hint)
    label = f"{where}{name}" if where else (flag_of(name, rule) or name)
    if value is None:
        if optional:
            return None
        raise DtError(f"{label} needs a value ({_describe(kind)})")
    if not _kind(value, kind):
        raise DtError(f"{label} must be {_describe(kind)}, got {value!r}")
    numbers = value if isinstance(value, list) else [value]
    for v in numbers:
        if isinstance(v, float) and not math.isfinite(v):
            raise DtError(f"{label} must be a finite number, got {v}")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if rule.low is not None and v < rule.low:
                raise DtError(f"{label} must be at least {_num(rule.low)}, got {v}")
            if rule.high is not None and v > rule.high:
                raise DtError(f"{label} must be at most {_num(rule.high)}, got {v}")
            if rule.above is not None and v <= rule.above:
                raise DtError(f"{label} must be greater than {_num(rule.above)}, got {v}")
        if rule.choices is not None and v not in rule.choices:
            from dtcli.plugins import did_you_mean

            hint_text = did_you_mean(str(v), [str(c) for c in rule.choices])
            raise DtError(f"{label} must be one of {', '.join(map(str, rule.choices))}, "
                          f"got {v!r}{hint_text}")
    return value


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def parse_text(name: str, text: str, hint: Any, label: str | None = None) -> Any:
    """A setting's value typed as text (the TUI's ``NAME=VALUE``, a comma list); ``label``
    names it in an error (default ``setting NAME``)."""
    kind, optional = _base(hint)
    origin = typing.get_origin(kind) or kind
    text = text.strip()
    if optional and text.lower() in ("none", "null", ""):
        return None
    try:
        if origin is list:
            (item,) = typing.get_args(kind) or (str,)
            return [parse_text(name, v, item, label) for v in text.split(",") if v.strip()]
        return parse_scalar(text, origin) if origin in (bool, int, float) else text
    except ValueError:
        raise DtError(f"{label or 'setting ' + name}: {text!r} is not {_describe(kind)}") from None
