"""Hostile plugins, round two (issue 31, item 4): whatever a plugin raises at import or in a
hook (GeneratorExit, a BaseException of its own), ``os._exit`` at import, and a
``register_commands`` that edits, deletes or shadows dt's commands or installs a root
callback: dt keeps its commands, ``--debug`` and ``--version``, and ``dt plugins`` names the
offender."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dtcli.contracts.errors import DtError
from dtcli.plugins import reset_registry
from helpers import make_dist, one_line_error

ROOT = Path(__file__).resolve().parents[1]

GENERATOR_EXIT = "raise GeneratorExit\n"
OWN_BASE = "class Doom(BaseException):\n    pass\n\nraise Doom('a BaseException of its own')\n"
HOOK_BASE = '''
from dtcli.api import hookimpl

class Doom(BaseException):
    pass

@hookimpl
def register_problems(register):
    raise Doom("in a hook")
'''
HIJACKER = '''
from dtcli.api import hookimpl

@hookimpl
def register_commands(app):
    for info in list(app.registered_commands):  # edit the existing train, remove the rest
        if info.name == "train":
            info.callback = lambda: print("hijacked train")
        else:
            app.registered_commands.remove(info)
    app.registered_groups.clear()

    @app.callback()
    def root():
        """Runs before every command, and takes --debug and --version away."""
        print("hijacked root")

    @app.command("hijack-ok")
    def ok():
        print("the plugin's own command")

    @app.command("runs")
    def runs():
        print("shadowed runs")
'''
EXITS_HARD = "import os\nos._exit(0)\n"
SULKS = '''
from dtcli.api import hookimpl, Problem

class Sulky(Problem):
    name = "sulky"
    def __init__(self, **options):
        raise GeneratorExit("not today")

@hookimpl
def register_problems(register):
    register(Sulky)
'''


@pytest.fixture
def hostile_site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    for name, source in (("genexit", GENERATOR_EXIT), ("ownbase", OWN_BASE),
                         ("hookbase", HOOK_BASE), ("hijacker", HIJACKER), ("sulks", SULKS)):
        make_dist(site, f"dt_r2_{name}", {f"dt_r2_{name}_mod": source}, {name: f"dt_r2_{name}_mod"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("DTCLI_PLUGINS")
    reset_registry()
    return site


def _app():
    from dtcli.cli import build_app

    return build_app()


def test_any_base_exception_at_import_or_in_a_hook_is_reported(hostile_site, runner):
    app = _app()
    listed = {p["name"]: p for p in json.loads(runner.invoke(app, ["plugins", "--json"]).stdout)}
    assert listed["genexit"]["status"] == "failed" and "GeneratorExit" in listed["genexit"]["error"]
    assert "Doom: a BaseException of its own" in listed["ownbase"]["error"]
    assert "register_problems: Doom: in a hook" in listed["hookbase"]["error"]
    assert listed["dt_prefix_sums"]["status"] == "loaded"
    for args in (["list"], ["list", "archs"], ["train", "--help"], ["plugins"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Traceback" not in result.output, (args, result.output)
    assert "--max-iters" in runner.invoke(app, ["train", "--help"]).stdout
    one_line_error(runner.invoke(app, ["train", "sulky", "--arch", "dt"]), "plugin sulks",
                   "failed to start", "GeneratorExit")


def test_a_plugin_cannot_edit_remove_or_shadow_commands_nor_take_the_root_callback(
        hostile_site, runner, tmp_path):
    app = _app()
    hijacker = {p["name"]: p for p in json.loads(
        runner.invoke(app, ["plugins", "--json"]).stdout)}["hijacker"]
    assert hijacker["status"] == "failed"
    assert any("root callback" in e for e in hijacker["errors"])
    assert any("'runs' is taken" in e for e in hijacker["errors"])
    help_text = runner.invoke(app, ["--help"]).stdout
    for command in ("train", "test", "runs", "zoo", "analyze", "hijack-ok"):
        assert command in help_text  # every built-in kept, the plugin's own command added
    assert "--max-iters" in runner.invoke(app, ["train", "--help"]).stdout  # not edited
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.startswith("dt ") and "hijacked" not in version.stdout
    listing = runner.invoke(app, ["--debug", "runs", str(tmp_path / "none")])
    assert "hijacked" not in listing.output and "shadowed" not in listing.output
    assert isinstance(listing.exception, DtError)  # --debug still dt's: the error is raised
    assert "no folder" in str(listing.exception)
    ok = runner.invoke(app, ["hijack-ok"])
    assert ok.exit_code == 0 and ok.stdout.strip() == "the plugin's own command"


def test_os_exit_at_import_is_refused_and_reported(tmp_path):
    """In a subprocess: without the guard, os._exit(0) ends dt (and would end pytest)."""
    site = tmp_path / "site"
    make_dist(site, "dt_r2_hardexit", {"dt_r2_hardexit_mod": EXITS_HARD}, {"hardexit": "dt_r2_hardexit_mod"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT), str(ROOT / "plugins")]),
           "DT_HOME": str(tmp_path / "home")}
    env.pop("DTCLI_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-m", "dtcli", "plugins", "--json"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed = {p["name"]: p for p in json.loads(proc.stdout)}
    assert listed["hardexit"]["status"] == "failed"
    assert "os._exit(0)" in listed["hardexit"]["error"]
    code = ("import os, posix\nreal = os._exit\nfrom dtcli.plugins import load_registry\n"
            "load_registry()\nassert os._exit is real and posix._exit is real\nprint('restored')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.stdout.strip() == "restored", proc.stderr
