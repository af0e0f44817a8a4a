"""Problem-declared options (``-o NAME=VALUE``): declaration, parsing and validation."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from dtcli.contracts.errors import DtError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_scalar(text: str, kind: type) -> Any:
    """``text`` as a ``bool`` (1/true/yes/on, 0/false/no/off), ``int``, ``float`` or ``str``;
    ValueError when it is not one. The one text-to-value rule of options and settings."""
    text = text.strip()
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(text)
    return kind(text)


@dataclass(frozen=True)
class Option:
    """One option a problem (or architecture) accepts, e.g. a maze layout or an image dataset.

    ``type`` is inferred from ``default`` when not given. ``affects_data`` marks options that
    change generated data, so they become part of the data cache key.
    """

    name: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    type: builtins.type | None = None
    affects_data: bool = True

    @property
    def kind(self) -> builtins.type:
        return self.type or type(self.default)

    def parse(self, value: Any) -> Any:
        """Turn a command-line string (or an already typed value) into the option's type."""
        kind = self.kind
        if isinstance(value, str) and kind is not str:
            try:
                value = parse_scalar(value, kind)
            except ValueError:
                raise DtError(
                    f"option {self.name}={value!r} is not a valid {kind.__name__}; "
                    f"{self.describe_values()}"
                ) from None
        if self.choices is not None and value not in self.choices:
            raise DtError(f"option {self.name}={value!r} is not allowed; {self.describe_values()}")
        return value

    def describe_values(self) -> str:
        if self.choices is not None:
            return "choose one of: " + ", ".join(str(c) for c in self.choices)
        return f"expected a {self.kind.__name__} (default {self.default!r})"


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """Parse repeated ``NAME=VALUE`` strings from the command line."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise DtError(f"-o expects NAME=VALUE, got {pair!r} (example: -o layout=compact)")
        out[name.strip()] = value.strip()
    return out


def resolve_options(
    declared: Iterable[Option], given: Mapping[str, Any], owner: str
) -> dict[str, Any]:
    """Validate ``given`` against ``declared`` and fill in defaults."""
    by_name = {o.name: o for o in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise DtError(f"{owner} has no option {unknown[0]!r}; its options are: {known}")
    return {name: opt.parse(given[name]) if name in given else opt.default
            for name, opt in by_name.items()}
