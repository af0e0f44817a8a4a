"""The example plugin's own tests: only dtcli.api, dtcli.testing and the plugin itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dt_floodfill.generate import generate_grids
from dt_floodfill.problem import FloodFill
from dtcli.api import DtError, get_registry
from dtcli.testing import check_problem


def test_conforms_to_dt():
    check_problem(FloodFill, count=6)


def test_reachable_is_a_flood_fill():
    free, seeds, reach = generate_grids(9, 30, seed=3, density=0.35)
    for f, s, r in zip(free, seeds, reach):
        # independent check: breadth-first search from the seed
        start = tuple(np.argwhere(s)[0])
        seen, todo = {start}, [start]
        while todo:
            y, x = todo.pop()
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < 9 and 0 <= nx < 9 and f[ny, nx] and (ny, nx) not in seen:
                    seen.add((ny, nx))
                    todo.append((ny, nx))
        assert {tuple(p) for p in np.argwhere(r)} == seen


def test_text_grid():
    p = FloodFill()
    x = p.parse_instance("S.#\n#.#\n..#\n")
    assert p.target_for(x).tolist() == [[1, 1, 0], [0, 1, 0], [1, 1, 0]]
    with pytest.raises(DtError):
        p.parse_instance("..\n..")


def test_registered_through_the_entry_point(monkeypatch):
    """Installed, the plugin is found by dt through its entry point."""
    monkeypatch.setenv("DTCLI_PLUGINS", "floodfill")
    from dtcli.plugins import reset_registry

    reset_registry()
    reg = get_registry()
    info = {p.name: p for p in reg.plugins}["floodfill"]
    assert info.status == "loaded" and info.version == "0.1.0"
    assert "floodfill" in reg.problems
    reset_registry()


def test_a_dt_recall_net_learns_a_step(tmp_path, monkeypatch):
    monkeypatch.setenv("DT_HOME", str(tmp_path))
    from dtcli.api import TrainConfig, train

    cfg = TrainConfig(problem="floodfill", arch="dt-recall", width=6, max_iters=3, epochs=1,
                      batch_size=16, train_count=40, test_count=4, test_iters=4,
                      train_difficulty="6", test_difficulties=["8"], threads=1)
    monkeypatch.setenv("DTCLI_PLUGINS", "floodfill")
    from dtcli.plugins import reset_registry

    reset_registry()
    result = train(cfg, tmp_path / "run")
    assert result.status == "finished" and torch.isfinite(torch.tensor(result.history[0]["train_loss"]))
    reset_registry()


def test_picture_for_dt_solve_save():
    """render_image: one RGB pixel per cell; the seed yellow, a wrong cell magenta."""
    p = FloodFill()
    x = p.parse_instance("S.#\n#.#\n..#\n")
    y = p.target_for(x)
    pred = y.clone()
    pred[0, 2] = 1  # an obstacle predicted reachable
    img = p.render_image(x, pred, y, torch.ones(3, 3))
    assert img.shape == (3, 3, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == (255, 255, 0) and tuple(img[0, 2]) == (255, 0, 255)
    missed = p.render_image(x, torch.zeros_like(y), y)
    assert tuple(missed[1, 1]) == (175, 95, 0)
