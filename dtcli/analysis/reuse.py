"""Filter reuse: does a recurrent block use the same filters at every iteration?

For each layer of the recurrent block and each filter, count its positive activations (over
all test images and positions) at every iteration and divide by its count at its most active
iteration. The paper (*The Uncanny Similarity of Recurrence and Depth*, section 5) finds that
most filters of a trained recurrent net keep at least 20% of their peak activity on their
least active iteration. An untrained twin (same architecture, fresh initialisation) is the
control: it shows what the architecture alone does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from dtcli.analysis.common import (
    LayerRecorder,
    batch_size_for,
    batches,
    check_iterations,
    fresh_twin,
    require_recurrent,
)
from dtcli.contracts.errors import DtError

THRESHOLD = 0.2


def positive_counts(response: torch.Tensor) -> torch.Tensor:
    """Positive entries per channel (dim 1) of a layer's response, summed over the batch and
    the positions: ``(channels,)`` float64."""
    positive = response > 0
    dims = [0, *range(2, response.dim())]
    return positive.sum(dims).double()


@dataclass
class LayerActivity:
    """Positive-activation counts of one layer's filters at every iteration."""

    name: str
    counts: torch.Tensor  # (iterations, filters)

    @property
    def live(self) -> torch.Tensor:
        """Filters that fire at least once (a dead filter has no peak to compare with)."""
        return self.counts.amax(0) > 0

    def relative(self) -> torch.Tensor:
        """``(iterations, live filters)``: each count over the filter's peak count."""
        c = self.counts[:, self.live]
        return c / c.amax(0, keepdim=True)

    def least(self) -> torch.Tensor:
        """Per live filter, the relative activity of its least active iteration."""
        return self.relative().amin(0)

    def share(self, threshold: float = THRESHOLD) -> float:
        least = self.least()
        return float((least >= threshold).double().mean()) if len(least) else float("nan")

    def to_dict(self, threshold: float = THRESHOLD) -> dict[str, Any]:
        least = self.least()
        return {"layer": self.name, "filters": int(self.counts.shape[1]),
                "live": int(self.live.sum()), "share": self.share(threshold),
                "median_least": float(least.median()) if len(least) else None,
                "counts": self.counts.tolist(), "relative": self.relative().tolist()}


def share_of(layers: list[LayerActivity], threshold: float = THRESHOLD) -> float:
    """Over all layers: the share of live filters whose least active iteration keeps at least
    ``threshold`` of their peak."""
    least = torch.cat([layer.least() for layer in layers])
    return float((least >= threshold).double().mean()) if len(least) else float("nan")


@dataclass
class ReuseResult:
    """Filter activity of a trained recurrent net and of its untrained twin."""

    iters: int
    total: int
    threshold: float
    trained: list[LayerActivity]
    control: list[LayerActivity]
    extra: dict[str, Any] = field(default_factory=dict)

    def share(self, which: str = "trained") -> float:
        return share_of(self.trained if which == "trained" else self.control, self.threshold)

    def curve(self, which: str = "trained", points: int = 21) -> tuple[list[float], list[float]]:
        """``(x, y)``: the percentage of live filters whose least active iteration keeps at
        least ``x`` of their peak, for x from 0 to 1."""
        layers = self.trained if which == "trained" else self.control
        least = torch.cat([layer.least() for layer in layers])
        xs = [k / (points - 1) for k in range(points)]
        ys = [100.0 * float((least >= x - 1e-12).double().mean()) if len(least) else 0.0
              for x in xs]
        return xs, ys

    def to_dict(self) -> dict[str, Any]:
        return {"iters": self.iters, "images": self.total, "threshold": self.threshold,
                "share": self.share("trained"), "control_share": self.share("control"),
                "layers": [layer.to_dict(self.threshold) for layer in self.trained],
                "control_layers": [layer.to_dict(self.threshold) for layer in self.control],
                **self.extra}


def filter_activity(net, x: torch.Tensor, iters: int, batch_size: int | None = None,
                    on_batch: Callable[[int, int], None] | None = None) -> list[LayerActivity]:
    """Per layer of ``think`` (in call order), positive-activation counts per filter at every
    iteration, over the instances ``x``."""
    check_iterations(net, iters)
    size = batch_size_for(net, x, batch_size)
    totals: list[list[Any]] = []  # per layer position: [name, (iters, filters) counts]
    done = 0
    net.eval()
    with torch.inference_mode(), LayerRecorder(net, positive_counts) as rec:
        for s in batches(len(x), size):
            xb = x[s]
            thought = net.start(xb)
            encoded = net.encode_input(xb)
            rec.take()  # the layers of start and encode_input are not the block's
            for i in range(iters):
                thought = net.think(thought, encoded, i)
                for j, (name, counts) in enumerate(rec.take()):
                    if j == len(totals):
                        totals.append([name, torch.zeros(iters, len(counts), dtype=torch.float64)])
                    totals[j][1][i] += counts.cpu()
            done += len(xb)
            if on_batch is not None:
                on_batch(done, len(x))
    return [LayerActivity(name, counts) for name, counts in totals]


def reuse(loaded, x: torch.Tensor, iters: int, *, threshold: float = THRESHOLD,
          control_seed: int = 0, batch_size: int | None = None,
          on_batch: Callable[[int, int], None] | None = None) -> ReuseResult:
    """Filter reuse of a trained recurrent model over ``iters`` iterations on ``x``, with an
    untrained twin (initialised from ``control_seed``) as the control."""
    require_recurrent(loaded.net, "filter reuse")
    if not 0 < threshold <= 1:
        raise DtError(f"--threshold is a fraction of the peak activity in (0, 1], got {threshold}")

    def progress(offset: int) -> Callable[[int, int], None] | None:
        if on_batch is None:
            return None
        return lambda done, total: on_batch(offset + done, 2 * total)

    trained = filter_activity(loaded.net, x, iters, batch_size, progress(0))
    if not trained:
        raise DtError("filter reuse found no conv or linear module in this net's `think` "
                      "(its block applies its layers as functions): nothing to count")
    control = filter_activity(fresh_twin(loaded, control_seed), x, iters, batch_size,
                              progress(len(x)))
    return ReuseResult(iters=iters, total=len(x), threshold=threshold, trained=trained,
                       control=control, extra={"control_seed": control_seed})
