"""Plain helpers the host's tests share (no fixtures: those are in conftest.py). Test modules
import from here, never from one another."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

#: ``dt train`` options for a tiny prefix-sums run (seconds on one CPU thread)
TINY = ["--width", "8", "--max-iters", "4", "--epochs", "2", "--batch-size", "25",
        "--train-count", "100", "--test-count", "20", "--test-iters", "8",
        "--train-difficulty", "8", "--test-difficulty", "12", "--seed", "1"]


def tiny_config(**kw):
    """A tiny prefix-sums :class:`~dtcli.config.TrainConfig` for the engine's ``train``;
    keywords override its fields."""
    from dtcli.config import TrainConfig

    base = dict(problem="prefix-sums", arch="dt-recall", width=6, max_iters=4, epochs=3,
                batch_size=20, train_count=100, test_count=10, test_iters=6, alpha=0.5,
                train_difficulty="8", test_difficulties=["10"], seed=7, lr=3e-3,
                warmup_epochs=1, lr_decay="cosine", clip=1.0, threads=1)
    base.update(kw)
    return TrainConfig(**base)


def one_line_error(result, *needles: str, quiet: bool = False) -> str:
    """A CliRunner result that is dt's user error: exit 2, exactly one line (``error: ...``)
    on stderr holding every needle, no traceback; with ``quiet``, nothing on stdout either (a
    command refused before it started; a training run prints its header first). Returns the
    line."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert not (quiet and result.stdout.strip()), result.stdout
    assert "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def make_dist(root, dist: str, modules: dict[str, str], entry_points: dict[str, str]) -> None:
    """Write a minimal installed distribution (dist-info + modules) under ``root``: a
    third-party plugin found through its ``dtcli`` entry points once ``root`` is on sys.path."""
    info = root / f"{dist}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[dtcli]\n{lines}\n")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))


# -- the TUI ------------------------------------------------------------------------------

SIZE = (120, 40)


def make_zoo_model(root: Path) -> Path:
    """A tiny maze DT-recall net (seeded, untrained) added to a zoo under ``root``: quick to
    build and identical on every run, so screenshots are stable."""
    import torch

    from dtcli import factory, runs, zoo
    from dtcli.engine import checkpoint
    from dtcli.experiments.recipe import resolve_config
    from dtcli.plugins import get_registry

    cfg = resolve_config("mazes", "dt-recall", "quick", {}, {},
                  {"width": 8, "max_iters": 4, "train_difficulty": "5", "epochs": 1})
    torch.manual_seed(0)
    _, net = factory.build_net(get_registry(), cfg)
    run = root / "run"
    run.mkdir(parents=True)
    runs.write_run_config(run, cfg, factory.model_summary(net, cfg), "finished")
    checkpoint.save_weights(net, run / runs.BEST)
    zoo_root = root / "zoo"
    zoo_root.mkdir()
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setenv("DT_ZOO_DIR", str(zoo_root))
    try:
        zoo.add(run, zoo.DEFAULT_MODEL, card_fields={"summary": "tiny untrained test model"})
    finally:
        mp.undo()
    return zoo_root


async def wait_for(pilot, condition, timeout: float = 30.0, what: str = "") -> None:
    """Let the app run until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


async def ready(pilot) -> object:
    """The solve screen once its model is loaded and its first instance drawn."""
    from dtcli.tui.solve_screen import SolveScreen

    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, SolveScreen)
                   and app.screen.instance is not None, what="the first instance")
    return app.screen
