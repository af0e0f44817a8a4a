"""Command-line options generated from the training settings' one declaration
(:mod:`dtcli.settings`): ``dt train`` takes them all, ``dt bench`` a few; the flag, its help and
its type come from the rule, and every value is checked by the same rule afterwards."""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable, Iterable, Optional

import typer

from dtcli.settings import _base, flag_of


def _bounds(rule) -> str:
    """The rule's bounds as help text: ``[>= 1]``, ``[0..1]``, ``[> 0]``."""
    num = lambda v: f"{v:g}" if isinstance(v, float) else str(v)  # noqa: E731
    if rule.low is not None and rule.high is not None:
        return f" [{num(rule.low)}..{num(rule.high)}]"
    if rule.low is not None:
        return f" [>= {num(rule.low)}]"
    if rule.above is not None:
        return f" [> {num(rule.above)}]"
    if rule.high is not None:
        return f" [<= {num(rule.high)}]"
    return ""


def _option(name: str, hint: Any, rule, default: Any = None,
            as_list: bool = False) -> inspect.Parameter:
    kind, _ = _base(hint)
    origin = typing.get_origin(kind) or kind
    flag = flag_of(name, rule)
    decls = [flag] + ([rule.short] if rule.short else [])
    if origin is bool:
        decls = [f"{flag}/--no-{flag[2:]}"]
        annotation: Any = Optional[bool]
    elif origin is list and rule.repeat:
        annotation = Optional[list[str]]
    elif origin is list:
        annotation = Optional[str]  # a comma list, parsed by the rule's type
    elif as_list:  # a sweep's axis: one value or a comma list, parsed by the sweep
        annotation = Optional[str]
    else:
        annotation = Optional[origin]
    shown = "" if default in (None, [], {}, "") else f" Default: {default}."
    if as_list and origin not in (bool, list):
        shown += " A comma list sweeps it."
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                             default=typer.Option(None, *decls, show_default=False,
                                                  help=rule.help + _bounds(rule) + shown))


def with_settings(names: Iterable[str], as_lists: bool = False) -> Callable:
    """Give a command the flags of the settings ``names``; the command receives what was
    given as one dict, ``settings`` (flags not given are left out). With ``as_lists`` every
    single-valued setting but a switch is taken as text (``16,32``: a sweep's values), left
    for the command to parse."""
    from dtcli.config import rules

    declared = rules()
    names = list(names)
    defaults = setting_defaults()

    def decorate(fn: Callable) -> Callable:
        params = [p for p in inspect.signature(fn).parameters.values() if p.name != "settings"]
        extra = [_option(n, *declared[n], default=defaults.get(n), as_list=as_lists)
                 for n in names]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            given = {n: kwargs.pop(n) for n in names}
            given = {k: v for k, v in given.items() if v is not None}
            return fn(**kwargs, settings=given if as_lists else convert(given))

        command.__signature__ = inspect.Signature(params + extra)  # type: ignore[attr-defined]
        return command

    return decorate


def setting_defaults() -> dict[str, Any]:
    """Each setting's own default (before any preset)."""
    import dataclasses

    from dtcli.config import TrainConfig

    out = {}
    for f in dataclasses.fields(TrainConfig):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            out[f.name] = f.default_factory()  # type: ignore[misc]
    return out


def convert(given: dict[str, Any]) -> dict[str, Any]:
    """Comma lists given as text become lists of the setting's item type."""
    from dtcli.config import rules
    from dtcli.settings import parse_text

    declared = rules()
    out = {}
    for name, value in given.items():
        hint, rule = declared[name]
        kind, _ = _base(hint)
        if (typing.get_origin(kind) or kind) is list and isinstance(value, str):
            value = parse_text(name, value, kind, flag_of(name, rule))
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out
