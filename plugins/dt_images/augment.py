"""Train-time augmentation of a batch on its device; randomness only from a CPU generator."""

from __future__ import annotations

import torch


def random_crop(x: torch.Tensor, pad: int, fill: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
    """Pad every image by ``pad`` pixels of ``fill`` (per channel), then cut a random window of
    the original size from each (torchvision's RandomCrop(size, padding=pad), batched)."""
    n, c, h, w = x.shape
    padded = fill.to(x.device, x.dtype).view(1, c, 1, 1).expand(n, c, h + 2 * pad, w + 2 * pad)
    padded = padded.clone()
    padded[:, :, pad:pad + h, pad:pad + w] = x
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    chans = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return padded[batch, chans, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = (torch.rand(len(x), generator=generator) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x)
