"""Plugin loading: built-ins, entry points, isolation of broken plugins, DTCLI_PLUGINS."""

from __future__ import annotations

import pytest

from dtcli.contracts.errors import DtError
from dtcli.plugins import get_registry, load_registry, reset_registry
from helpers import make_dist

GOOD = '''
from dtcli.api import hookimpl, Problem

class Toy(Problem):
    name = "toy"
    summary = "a label problem no DT net can solve"
    kind = "label"
    spatial_dims = 0

@hookimpl
def register_problems(register):
    register(Toy)

@hookimpl
def register_commands(app):
    @app.command("toy-hello")
    def hello():
        """Say hello from a plugin."""
        print("hello from toy")
'''

BROKEN_IMPORT = "raise RuntimeError('this plugin is broken')\n"

BROKEN_HOOK = '''
from dtcli.api import hookimpl

@hookimpl
def register_problems(register):
    raise ValueError("hook exploded")
'''


@pytest.fixture
def third_party(tmp_path, monkeypatch):
    site = tmp_path / "site"
    make_dist(site, "dt_toy", {"dt_toy_mod": GOOD}, {"toy": "dt_toy_mod"})
    make_dist(site, "dt_broken", {"dt_broken_mod": BROKEN_IMPORT}, {"broken": "dt_broken_mod"})
    make_dist(site, "dt_badhook", {"dt_badhook_mod": BROKEN_HOOK}, {"badhook": "dt_badhook_mod"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("DTCLI_PLUGINS")
    reset_registry()
    return site


def test_builtins_register_problems_and_archs(registry):
    assert "prefix-sums" in registry.problems
    assert {"dt", "dt-recall", "ff", "ff-recall"} <= set(registry.archs)
    assert all(p.status == "loaded" and p.source == "built-in" for p in registry.plugins)
    assert registry.origin["problem:prefix-sums"] == "dt_prefix_sums"


def test_unknown_names_suggest(registry):
    with pytest.raises(DtError, match="did you mean 'dt-recall'"):
        registry.arch("dt_recal")
    with pytest.raises(DtError, match="did you mean 'prefix-sums'"):
        registry.problem("prefix-sum")


def test_broken_plugins_are_reported_and_the_rest_works(third_party):
    reg = get_registry()
    by_name = {p.name: p for p in reg.plugins}
    assert by_name["toy"].status == "loaded" and by_name["toy"].version == "1.2.3"
    assert by_name["toy"].source == "distribution dt_toy"
    assert set(by_name["toy"].hooks) == {"register_commands", "register_problems"}
    assert by_name["broken"].status == "failed" and "this plugin is broken" in by_name["broken"].error
    assert by_name["badhook"].status == "failed" and "hook exploded" in by_name["badhook"].error
    assert "toy" in reg.problems and "prefix-sums" in reg.problems


def test_dtcli_plugins_limits_entry_points(third_party, monkeypatch):
    monkeypatch.setenv("DTCLI_PLUGINS", "toy")
    names = {p.name for p in load_registry().plugins}
    assert "toy" in names and "broken" not in names and "badhook" not in names
    monkeypatch.setenv("DTCLI_PLUGINS", "")
    names = {p.name for p in load_registry().plugins}
    from dtcli.plugins import BUILTIN_PLUGINS

    assert names == set(BUILTIN_PLUGINS)


def test_cli_survives_broken_plugins(third_party, runner, tmp_path):
    import json

    from dtcli.cli import build_app

    app = build_app()
    assert runner.invoke(app, ["--help"]).exit_code == 0
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["broken"]["status"] == "failed"
    assert runner.invoke(app, ["toy-hello"]).stdout.strip() == "hello from toy"
    result = runner.invoke(app, ["train", "prefix-sums", "--arch", "dt", "--width", "4",
                                 "--max-iters", "2", "--epochs", "1", "--train-count", "40",
                                 "--test-count", "4", "--test-iters", "3",
                                 "--train-difficulty", "6", "--test-difficulty", "8",
                                 "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output


def test_arch_that_cannot_solve_the_problem(third_party, runner):
    from dtcli.cli import build_app

    result = runner.invoke(build_app(), ["train", "toy", "--arch", "dt-recall"])
    assert result.exit_code == 2
    assert "cannot solve 'toy'" in result.stderr
    assert "Traceback" not in result.output


def test_register_rejects_non_problems():
    from dtcli.plugins import Registry

    reg = Registry()
    with pytest.raises(TypeError):
        reg._register_problem("x", object)
