"""Reading mazes back from tensors: the raw grid of either layout, and path verification."""

from __future__ import annotations

import numpy as np
import torch


def raw_grid(t: torch.Tensor, layout: str) -> torch.Tensor:
    """The raw maze grid of a tensor (..., H, W) in ``layout``: e2h pixels are 2x2 blocks
    inside a 1-pixel border, so every other pixel from index 1 is one raw pixel."""
    return t[..., 1:-1:2, 1:-1:2] if layout == "e2h" else t


def endpoints(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks of the start (green) and end (red) pixels of inputs (..., 3, H, W)."""
    red, green = inputs[..., 0, :, :] > 0.5, inputs[..., 1, :, :] > 0.5
    return green & ~red, red & ~green


def to_raw_numpy(t: torch.Tensor, layout: str, grid: bool = False):
    """An unbatched input (3, H, W) as ``(open, start, end)`` numpy on the raw grid, or, with
    ``grid``, an (H, W) map (prediction, target, confidence) as a raw-grid numpy array."""
    raw = raw_grid(t.detach().cpu(), layout)
    if grid:
        return raw.numpy()
    start, end = endpoints(raw)
    open_ = (raw.amax(0) > 0).numpy()
    s = np.argwhere(start.numpy())
    e = np.argwhere(end.numpy())
    return open_, tuple(int(v) for v in s[0]), tuple(int(v) for v in e[0])


def path_is_valid(prediction: torch.Tensor, inputs: torch.Tensor, layout: str) -> torch.Tensor:
    """Per sample: the predicted pixels are one simple path of open pixels from start to end.

    Degree test on the raw grid: start and end predicted with exactly one predicted
    4-neighbour, every other predicted pixel with exactly two, none on a wall. Because a maze's
    open pixels form a tree, only the start-to-end path passes. In the e2h layout every 2x2
    block must also be predicted whole, and the border not at all.
    """
    pred = raw_grid(prediction, layout) > 0
    whole_blocks = torch.ones(len(pred), dtype=torch.bool, device=pred.device)
    if layout == "e2h":
        up = pred.repeat_interleave(2, 1).repeat_interleave(2, 2)
        up = torch.nn.functional.pad(up, (1, 1, 1, 1))
        whole_blocks = (up == (prediction > 0)).flatten(1).all(1)
    x = raw_grid(inputs, layout)
    open_ = x.amax(1) > 0
    start, end = endpoints(x)
    p = pred.to(torch.int8)
    deg = torch.zeros_like(p)
    deg[:, 1:, :] += p[:, :-1, :]
    deg[:, :-1, :] += p[:, 1:, :]
    deg[:, :, 1:] += p[:, :, :-1]
    deg[:, :, :-1] += p[:, :, 1:]
    ends = start | end
    flat = lambda m: m.flatten(1).any(1)  # noqa: E731
    on_wall = flat(pred & ~open_)
    has_ends = flat(pred & start) & flat(pred & end)
    bad_end = flat(pred & ends & (deg != 1))
    bad_mid = flat(pred & ~ends & (deg != 2))
    return whole_blocks & has_ends & ~on_wall & ~bad_end & ~bad_mid
