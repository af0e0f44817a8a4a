"""Fixtures of the host's tests only (the shared ones are in the root conftest.py)."""

from __future__ import annotations

import pytest

from helpers import TINY, make_zoo_model


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny trained prefix-sums run shared by the tests that only read a model."""
    from typer.testing import CliRunner

    from dtcli.cli import app
    from dtcli.plugins import reset_registry

    root = tmp_path_factory.mktemp("tiny")
    mp = pytest.MonkeyPatch()
    mp.setenv("DT_HOME", str(root / "dt-home"))
    reset_registry()
    run_dir = root / "run"
    result = CliRunner().invoke(app, ["train", "prefix-sums", "--arch", "dt-recall", *TINY,
                                      "--out", str(run_dir)])
    mp.undo()
    reset_registry()
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture(scope="session")
def tui_zoo_dir(tmp_path_factory):
    return make_zoo_model(tmp_path_factory.mktemp("tui-zoo"))


@pytest.fixture
def tui_zoo(tui_zoo_dir, monkeypatch):
    monkeypatch.setenv("DT_ZOO_DIR", str(tui_zoo_dir))
    return tui_zoo_dir
