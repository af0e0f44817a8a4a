"""Feature visualisation by activation maximisation (Yosinski et al. 2015).

For each (iteration t, filter f) a batch of input images is optimised so that filter f of the
recurrent block's last layer at iteration t responds as strongly as possible (its response
before the activation function, averaged over positions), with the regularisers of the
paper's appendix: random-roll jitter of the image at every step, total variation in four
directions (horizontal, vertical, both diagonals; squared differences, ℓ2), a small ℓ2 decay
of the pixels (kept within the range of real images), and, when the net has batch norm, a
batch-norm-statistics prior on its first norm layer (the batch's mean and variance there
pulled towards the running statistics the net learned). Every (t, f) cell is optimised in the
same pass: its own group of images, one forward through ``max(t)`` iterations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from dtcli.analysis.common import LayerRecorder, check_iterations, frozen, load_data, model_name, require_images
from dtcli.contracts.errors import DtError

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@dataclass
class Settings:
    """Optimisation settings (the paper: 1,000 steps on a batch of 64 for CIFAR)."""

    steps: int = 100
    batch: int = 8
    lr: float = 0.05
    jitter: int = 1
    tv: float = 0.05
    decay: float = 1e-3
    bn: float = 0.1
    seed: int = 0
    #: keep pixels within the range of real (normalised) images of the problem
    clamp: bool = True


@dataclass
class VisualizeResult:
    """The best image per (iteration, filter) cell and the activation it reaches."""

    model: str
    recurrent: bool
    iters: list[int]
    filters: list[int]
    images: torch.Tensor              # (iters, filters, C, H, W)
    activation: list[list[float]]     # reached by the kept image
    start_activation: list[list[float]]
    settings: Settings
    bn_prior: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "recurrent": self.recurrent, "iters": self.iters,
                "filters": self.filters, "activation": self.activation,
                "start_activation": self.start_activation, "bn_prior": self.bn_prior,
                "settings": vars(self.settings), **self.extra}


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Per image, the mean squared difference to the right, below and both diagonal
    neighbours (four directions)."""
    dh = x[..., :, 1:] - x[..., :, :-1]
    dv = x[..., 1:, :] - x[..., :-1, :]
    dd = x[..., 1:, 1:] - x[..., :-1, :-1]
    da = x[..., 1:, :-1] - x[..., :-1, 1:]
    return sum(d.square().flatten(1).mean(1) for d in (dh, dv, dd, da))


class FirstNormInput:
    """Catches the input of the first batch-norm layer the net calls (during ``start``)."""

    def __init__(self, net: nn.Module) -> None:
        self.module: nn.Module | None = None
        self.value: torch.Tensor | None = None
        self.handles = [m.register_forward_hook(self._hook) for m in net.modules()
                        if isinstance(m, NORMS)]

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if self.value is None:
            self.module, self.value = module, inputs[0]

    def reset(self) -> None:
        self.module = self.value = None

    def close(self) -> None:
        for h in self.handles:
            h.remove()


def bn_penalty(norm: nn.Module, value: torch.Tensor, groups: int) -> torch.Tensor:
    """Per group of images: squared distance of the batch's per-channel mean and variance at
    ``norm`` from its running statistics."""
    v = value.reshape(groups, -1, *value.shape[1:]).transpose(1, 2).flatten(2)  # (G, C, B·pos)
    mean, var = v.mean(2), v.var(2, unbiased=False)
    return (mean - norm.running_mean).square().sum(1) + (var - norm.running_var).square().sum(1)


def visualize(loaded, iters: list[int], filters: list[int], settings: Settings | None = None,
              on_step: Callable[[int, int], None] | None = None) -> VisualizeResult:
    """Activation-maximising images for each filter of ``filters`` at each iteration of
    ``iters`` (see the module docstring)."""
    s = settings or Settings()
    net, problem = loaded.net, loaded.problem
    require_images(problem, "visualize")
    if s.steps < 1 or s.batch < 1:
        raise DtError(f"--steps and --batch must be at least 1, got {s.steps} and {s.batch}")
    if not iters or not filters:
        raise DtError("visualize needs at least one iteration and one filter")
    iters = sorted(set(iters))
    last = iters[-1]
    check_iterations(net, last)
    shape = tuple(problem.input_shape or ())
    if len(shape) != 3:
        raise DtError(f"visualize draws images; {problem.name} has no (C, H, W) input shape")
    device = next(net.parameters()).device
    with torch.no_grad(), LayerRecorder(net, lambda r: r.shape[1]) as probe:
        thought = net.start(torch.zeros(1, *shape, device=device))
        probe.take()
        net.think(thought, net.encode_input(torch.zeros(1, *shape, device=device)), 0)
        layers = probe.take()
        channels = layers[-1][1] if layers else thought.shape[1]
    bad = [f for f in filters if not 0 <= f < channels]
    if bad:
        raise DtError(f"--filters {bad[0]} is out of range: the thought has {channels} filters "
                      f"(0..{channels - 1})")
    low = high = None
    if s.clamp:  # ReLU nets grow with the input's scale: without bounds the image just brightens
        real, _ = load_data(problem, problem.default_test_difficulty, 256, 0, device)
        low, high = float(real.min()), float(real.max())
    slot = {t: j for j, t in enumerate(iters)}
    groups = len(iters) * len(filters)
    gen = torch.Generator().manual_seed(s.seed)
    image = (0.1 * torch.randn(groups * s.batch, *shape, generator=gen)).to(device)
    image.requires_grad_(True)
    opt = torch.optim.Adam([image], lr=s.lr)
    # which channel each image maximises, and at which iteration
    chan = torch.tensor(filters, device=device).repeat(len(iters)).repeat_interleave(s.batch)
    catcher = FirstNormInput(net)
    bn_prior = bool(catcher.handles) and s.bn > 0

    def objective(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per image: its filter's mean response at its iteration; and the norm penalty."""
        catcher.reset()
        thought = net.start(x)
        penalty = torch.zeros(groups, device=device)
        if bn_prior and catcher.value is not None:
            penalty = bn_penalty(catcher.module, catcher.value, groups)
        parts = []  # iterations ascend, so the groups come in order
        encoded = net.encode_input(x)
        recorder.take()
        for i in range(last):
            thought = net.think(thought, encoded, i)
            layers = recorder.take()
            j = slot.get(i + 1)
            if j is not None:
                rows = slice(j * len(filters) * s.batch, (j + 1) * len(filters) * s.batch)
                response = layers[-1][1] if layers else thought
                t = response[rows].flatten(2) if response.dim() > 2 else response[rows].unsqueeze(2)
                picked = t.gather(1, chan[rows].view(-1, 1, 1).expand(-1, 1, t.shape[2]))
                parts.append(picked.mean((1, 2)))
        return torch.cat(parts), penalty

    # the filter's response is the block's last layer before its activation (a clone: in-place
    # ops follow); a ReLU thought that starts at zero everywhere would give no gradient
    recorder = LayerRecorder(net, lambda response: response.clone())
    try:
        with frozen(net), recorder:
            with torch.no_grad():
                start_act, _ = objective(image)
            for step in range(s.steps):
                opt.zero_grad(set_to_none=True)
                shifts = [int(v) for v in torch.randint(-s.jitter, s.jitter + 1, (2,), generator=gen)]
                x = torch.roll(image, shifts=shifts, dims=(-2, -1)) if s.jitter else image
                act, penalty = objective(x)
                loss = (-act.mean() + s.tv * total_variation(image).mean()
                        + s.decay * image.square().flatten(1).mean(1).mean()
                        + s.bn * penalty.mean())
                loss.backward()
                opt.step()
                if low is not None:
                    with torch.no_grad():
                        image.clamp_(low, high)
                if on_step is not None:
                    on_step(step + 1, s.steps)
            with torch.no_grad():
                act, _ = objective(image)
    finally:
        catcher.close()
    act = act.view(len(iters), len(filters), s.batch).cpu()
    best = act.argmax(2)
    images = image.detach().view(len(iters), len(filters), s.batch, *shape).cpu()
    picked = torch.stack([torch.stack([images[a, b, best[a, b]] for b in range(len(filters))])
                          for a in range(len(iters))])
    start = start_act.view(len(iters), len(filters), s.batch).cpu()
    return VisualizeResult(model=model_name(loaded), recurrent=bool(net.recurrent), iters=list(iters),
                           filters=list(filters), images=picked,
                           activation=act.amax(2).tolist(),
                           start_activation=start.gather(2, best.unsqueeze(2)).squeeze(2).tolist(),
                           settings=s, bn_prior=bn_prior)
