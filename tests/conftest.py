"""Test isolation: a private dt home, no third-party plugins, one torch thread, fixed seeds."""

from __future__ import annotations

import os

import pytest

os.environ["DTCLI_PLUGINS"] = ""  # the developer's installed plugins never leak in
os.environ.setdefault("DT_THREADS", "1")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("DT_HOME", str(tmp_path / "dt-home"))
    monkeypatch.setenv("DTCLI_PLUGINS", "")
    monkeypatch.delenv("DT_DATA_DIR", raising=False)
    monkeypatch.delenv("DT_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)
    from dtcli.plugins import reset_registry

    reset_registry()
    yield
    reset_registry()


@pytest.fixture
def registry():
    from dtcli.plugins import get_registry

    return get_registry()


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture
def cli(runner):
    """Invoke ``dt`` in-process: ``cli("train", "prefix-sums", ...)``."""
    from dtcli.cli import app

    def invoke(*args: str, **kwargs):
        return runner.invoke(app, [str(a) for a in args], **kwargs)

    return invoke


TINY = ["--width", "8", "--max-iters", "4", "--epochs", "2", "--batch-size", "25",
        "--train-count", "100", "--test-count", "20", "--test-iters", "8",
        "--train-difficulty", "8", "--test-difficulty", "12", "--seed", "1"]


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
