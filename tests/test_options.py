import pytest

from dtcli.contracts.errors import DtError
from dtcli.contracts.options import Option, parse_assignments, resolve_options


def test_parse_types_and_choices():
    assert Option("n", 3).parse("7") == 7
    assert Option("f", 0.5).parse("0.25") == 0.25
    assert Option("b", False).parse("yes") is True
    assert Option("layout", "e2h", choices=("e2h", "compact")).parse("compact") == "compact"
    with pytest.raises(DtError, match="choose one of: e2h, compact"):
        Option("layout", "e2h", choices=("e2h", "compact")).parse("big")
    with pytest.raises(DtError, match="not a valid int"):
        Option("n", 3).parse("three")


def test_resolve_fills_defaults_and_rejects_unknown():
    opts = (Option("a", 1), Option("b", "x"))
    assert resolve_options(opts, {"a": "2"}, "p") == {"a": 2, "b": "x"}
    with pytest.raises(DtError, match="has no option 'c'"):
        resolve_options(opts, {"c": "1"}, "p")


def test_assignments():
    assert parse_assignments(["a=1", "b = two"]) == {"a": "1", "b": "two"}
    with pytest.raises(DtError, match="NAME=VALUE"):
        parse_assignments(["novalue"])
