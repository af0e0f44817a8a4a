"""How much arithmetic an iteration is, and how fast this machine can do it: for ``dt bench``'s
achieved GFLOP/s against the measured peak."""

from __future__ import annotations

import time

import torch


def flops_per_iteration(net, problem, x: torch.Tensor) -> int:
    """Floating-point operations of one iteration and one scored answer on the batch ``x``
    (counted by torch's FlopCounterMode: convolutions and matrix products)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode():
        thought = net.start(x)
        encoded = net.encode_input(x)
        counter = FlopCounterMode(display=False)
        with counter:
            thought = net.think(thought, encoded, 0)
            problem.predict(net.answer(thought), x)
    return int(counter.get_total_flops())


def conv_peak_gflops(width: int, spatial: tuple[int, ...], device: torch.device,
                     repeats: int = 3) -> float:
    """GFLOP/s of one large width->width 3-wide convolution at this spatial size (the shape
    that dominates an iteration), the best of ``repeats``: this machine's practical peak."""
    dims = len(spatial)
    conv = (torch.nn.Conv1d if dims == 1 else torch.nn.Conv2d)(
        width, width, 3, padding=1, bias=False).to(device).eval()
    per_instance = 2 * width * width * 3 ** dims
    for s in spatial:
        per_instance *= s
    batch = max(1, int(4e9 // per_instance))  # about 4 GFLOP a call
    batch = min(batch, max(1, int(256 * 2**20 // (width * 4 * max(1, _prod(spatial))))))
    x = torch.randn(batch, width, *spatial, device=device)
    if dims == 2:
        conv = conv.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    best = float("inf")
    with torch.inference_mode():
        conv(x)
        for _ in range(repeats):
            t0 = time.perf_counter()
            conv(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
    return per_instance * batch / best / 1e9


def _prod(values: tuple[int, ...]) -> int:
    out = 1
    for v in values:
        out *= v
    return out
