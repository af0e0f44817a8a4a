"""A run's training data: the held-out split, its fingerprint, and the generator that orders
each epoch's batches (and draws its augmentation)."""

from __future__ import annotations

import torch


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def split_train_val(inputs, targets, val_fraction: float, seed: int):
    """Hold out ``val_fraction`` of the generated training data, by a seeded permutation."""
    n_val = int(len(inputs) * val_fraction)
    perm = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(seed))
    val, train = perm[:n_val], perm[n_val:]
    return (inputs[train], targets[train]), (inputs[val], targets[val])


def fingerprint(*tensors: torch.Tensor) -> str:
    """A short hash of the training data, so a resume can refuse data that changed."""
    import hashlib

    digest = hashlib.sha256()
    for t in tensors:
        digest.update(str((tuple(t.shape), str(t.dtype))).encode())
        digest.update(t.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def run_work(cfg, train_y: torch.Tensor, val_y: torch.Tensor, tests: list[torch.Tensor],
             test_iters: int) -> dict[str, int]:
    """Position-iterations (instances x iterations x output positions) of one training step,
    one validation pass and all final tests: what a run-level ETA scales measured times by."""
    def positions(targets: torch.Tensor) -> int:
        return int(targets[0].numel()) if len(targets) else 0

    return {"step": cfg.batch_size * cfg.max_iters * positions(train_y),
            "val": len(val_y) * cfg.max_iters * positions(val_y),
            "tests": sum(len(y) * test_iters * positions(y) for y in tests)}
