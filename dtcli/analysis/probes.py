"""Linear probes: how linearly separable the classes are after each iteration / block.

A linear classifier is fitted on the pooled features after every iteration (a recurrent net)
or block (a feed-forward net) and scored on train and test images. The paper (section 5.2)
finds that recurrent and feed-forward nets of the same effective depth disentangle the classes
alike, block by block. The classifier is ridge regression onto one-hot labels, in closed form
(no seed, no learning rate, the same answer every time), on standardised features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from dtcli.analysis.common import batch_size_for, batches, check_iterations, model_name, pooled, require_images
from dtcli.contracts.errors import DtError

POOL = 1  # global average pooling, as a ResNet head: what the channels encode, not where
RIDGE = 1e-3


@dataclass
class ProbeRow:
    """Probe accuracy (%) after one iteration / block (0: the first thought, from ``start``;
    its effective depth counts the layers before and after the blocks)."""

    iteration: int
    effective_depth: int
    train_acc: float
    test_acc: float


@dataclass
class ProbeResult:
    """One model's probes, a row per iteration."""

    model: str
    recurrent: bool
    rows: list[ProbeRow]
    train_count: int
    test_count: int
    features: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "recurrent": self.recurrent, "train_count": self.train_count,
                "test_count": self.test_count, "features": self.features,
                "rows": [vars(r) for r in self.rows], **self.extra}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ProbeResult":
        known = {"model", "recurrent", "train_count", "test_count", "features", "rows"}
        return cls(model=d["model"], recurrent=d["recurrent"], rows=[ProbeRow(**r) for r in d["rows"]],
                   train_count=d["train_count"], test_count=d["test_count"],
                   features=d["features"], extra={k: v for k, v in d.items() if k not in known})


def iteration_features(net, x: torch.Tensor, iters: int, pool: int = POOL,
                       batch_size: int | None = None) -> list[torch.Tensor]:
    """Pooled features ``(N, F)`` (float64, CPU) of the first thought (``start``, index 0)
    and after each of ``iters`` iterations (index i)."""
    check_iterations(net, iters)
    size = batch_size_for(net, x, batch_size)
    parts: list[list[torch.Tensor]] = [[] for _ in range(iters + 1)]
    net.eval()
    with torch.inference_mode():
        for s in batches(len(x), size):
            thought = net.start(x[s])
            parts[0].append(pooled(thought, pool).double().cpu())
            for i, thought in net.iterate(x[s], iters, thought):
                parts[i].append(pooled(thought, pool).double().cpu())
    return [torch.cat(p) for p in parts]


def ridge_fit(features: torch.Tensor, labels: torch.Tensor, classes: int,
              ridge: float = RIDGE) -> Callable[[torch.Tensor], torch.Tensor]:
    """A ridge-regression classifier onto one-hot labels: returns ``predict(features)``.

    Features are standardised with the training mean and deviation, so ``ridge`` is relative
    to unit-variance features; the system solved is the smaller of the primal (F x F) and the
    dual (N x N) one.
    """
    x = features.double()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    x = (x - mean) / std
    y = torch.nn.functional.one_hot(labels.cpu(), classes).double()
    y_mean = y.mean(0)
    y = y - y_mean
    n, p = x.shape
    reg = ridge * n
    if p <= n:
        weight = torch.linalg.solve(x.T @ x + reg * torch.eye(p, dtype=x.dtype), x.T @ y)
    else:
        weight = x.T @ torch.linalg.solve(x @ x.T + reg * torch.eye(n, dtype=x.dtype), y)

    def predict(f: torch.Tensor) -> torch.Tensor:
        return (((f.double() - mean) / std) @ weight + y_mean).argmax(1)

    return predict


def probes(loaded, train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
           iters: int, *, pool: int = POOL, ridge: float = RIDGE,
           batch_size: int | None = None, label: str | None = None,
           on_iteration: Callable[[int, int], None] | None = None) -> ProbeResult:
    """Fit a probe on ``train`` on the first thought and after each of ``iters`` iterations;
    score it on train and test."""
    net, problem = loaded.net, loaded.problem
    require_images(problem, "linear probes")
    if pool < 1:
        raise DtError(f"--pool must be at least 1, got {pool}")
    if ridge <= 0:
        raise DtError(f"--ridge must be positive, got {ridge}")
    f_train = iteration_features(net, train[0], iters, pool, batch_size)
    f_test = iteration_features(net, test[0], iters, pool, batch_size)
    y_train, y_test = train[1].cpu(), test[1].cpu()
    rows = []
    for i in range(iters + 1):
        predict = ridge_fit(f_train[i], y_train, problem.num_classes, ridge)
        acc = lambda f, y: 100.0 * float((predict(f) == y).double().mean())  # noqa: E731
        rows.append(ProbeRow(iteration=i, effective_depth=net.effective_depth(i),
                             train_acc=acc(f_train[i], y_train), test_acc=acc(f_test[i], y_test)))
        if on_iteration is not None:
            on_iteration(i + 1, iters + 1)
    return ProbeResult(model=label or model_name(loaded), recurrent=bool(net.recurrent),
                       rows=rows, train_count=len(y_train), test_count=len(y_test),
                       features=int(f_train[0].shape[1]), extra={"pool": pool, "ridge": ridge})
