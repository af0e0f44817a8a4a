"""Fixtures every test folder shares (tests/ and each built-in plugin's plugins/dt_*/tests/):
isolation (a private dt home, no third-party plugins, one torch thread, the registry reset
around each test) and ``registry``, ``runner``, ``cli``. Plain helpers live in
tests/helpers.py; no test module imports another."""

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


@pytest.fixture
def deadline():
    """``with deadline(seconds):`` fails a test instead of letting it hang: a blocked open() or
    read() (a FIFO) is interrupted by SIGALRM."""
    import signal
    from contextlib import contextmanager

    @contextmanager
    def within(seconds: float):
        def expire(signum, frame):
            raise TimeoutError(f"still blocked after {seconds} s")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return within

