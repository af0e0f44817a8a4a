"""The flood-fill problem: which cells can the seed reach without crossing an obstacle?"""

from __future__ import annotations

from dtcli.api import DtError, Option, Problem

# Measured on 2 CPU cores: ~10 min, val 95% on 8x8; 16x16 50% at 12 iterations -> 60% at 17.
# alpha 0.5 with 6,000 grids reached only 16% on 8x8 in the same time.
QUICK = {
    "width": 32, "max_iters": 12, "alpha": 1.0, "optimizer": "adamw", "lr": 1e-3,
    "weight_decay": 2e-4, "warmup_steps": 50, "warmup_shape": "linear", "lr_decay": "cosine",
    "clip": 1.0, "epochs": 3, "batch_size": 32, "train_count": 20000,
    "test_difficulties": ["16", "24"], "test_iters": 100, "test_count": 200, "eval_batch_size": 100,
}


class FloodFill(Problem):
    """Inputs: two channels (free cells, the seed). Target: the cells reachable from the seed
    through free cells. Bigger grids need longer chains of propagation: more iterations."""

    name = "floodfill"
    summary = "cells reachable from a seed through a grid with obstacles; difficulty = grid side"
    kind = "grid"
    spatial_dims = 2
    in_channels = 2
    num_classes = 2
    difficulty_unit = "cells a side"
    default_train_difficulty = "8"
    default_test_difficulty = "16"
    options = (Option("density", 0.35, help="share of cells that are obstacles"),)
    presets = {"quick": QUICK, "paper": {**QUICK, "width": 128, "epochs": 30, "train_count": 50000}}

    def parse_difficulty(self, text):
        side = super().parse_difficulty(text)
        if side < 3:
            raise DtError(f"a flood-fill grid needs at least 3 cells a side, got {side}")
        return side

    def describe_difficulty(self, difficulty):
        return f"{difficulty}x{difficulty} grid"

    def generate(self, difficulty, count, seed):
        import numpy as np
        import torch

        from dt_floodfill.generate import generate_grids

        density = self.option_values["density"]
        if not 0.0 <= density < 1.0:
            raise DtError(f"-o density must be in [0, 1), got {density}")
        free, seeds, reach = generate_grids(int(difficulty), count, seed, density)
        inputs = np.stack([free, seeds], axis=1).astype(np.uint8)
        return torch.from_numpy(inputs), torch.from_numpy(reach.astype(np.uint8))

    def render(self, inputs, prediction=None, target=None, confidence=None, probabilities=None):
        from dt_floodfill.render import render_grid

        return render_grid(inputs.float().cpu(), prediction, target, confidence)

    def render_image(self, inputs, prediction=None, target=None, confidence=None,
                     probabilities=None, fit=None):
        """The grid as an RGB array, one pixel per cell (dt enlarges it)."""
        from dt_floodfill.render import grid_image

        cpu = lambda t: None if t is None else t.detach().cpu()  # noqa: E731
        return grid_image(inputs.float().cpu(), cpu(prediction), cpu(target), cpu(confidence))

    def parse_instance(self, text):
        """A grid drawn as text: '#' obstacle, '.' free, 'S' the seed."""
        import torch

        rows = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if not rows or any(len(r) != len(rows[0]) for r in rows) or set("".join(rows)) - set("#.S"):
            raise DtError("a flood-fill grid is rows of equal length made of '#', '.' and one 'S'")
        if "".join(rows).count("S") != 1:
            raise DtError("a flood-fill grid needs exactly one seed 'S'")
        free = torch.tensor([[ch != "#" for ch in r] for r in rows], dtype=torch.float32)
        seed = torch.tensor([[ch == "S" for ch in r] for r in rows], dtype=torch.float32)
        return torch.stack([free, seed])

    def target_for(self, inputs):
        import torch

        from dt_floodfill.generate import reachable

        free = inputs[0].numpy()[None] > 0.5
        seed = inputs[1].numpy()[None] > 0.5
        return torch.from_numpy(reachable(free, seed)[0].astype("int64"))
