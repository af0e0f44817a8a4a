"""Plumbing the analyses share: data, untrained twins, per-layer recording, lock-step thinking."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from dtcli.contracts.errors import DtError

#: modules that count as a layer: their output, per channel, is what a filter responds
LAYER_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
#: a norm applied straight to a layer's output replaces it (the activation sees the normed value)
NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.InstanceNorm1d,
              nn.InstanceNorm2d, nn.LayerNorm)


def model_name(loaded) -> str:
    """A short label for a loaded model: its zoo name or its run directory's name."""
    source = loaded.source
    return source.stem if source.suffix == ".safetensors" else source.name


def load_data(problem, difficulty: Any, count: int, seed: int, device: torch.device,
              split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` instances of ``difficulty`` as float inputs and long targets on ``device``."""
    from dtcli.engine.device import batch_to

    if count <= 0:
        raise DtError(f"--count must be positive, got {count}")
    x, y = problem.dataset(split, difficulty, count, seed)
    return batch_to(x, y, device)


def require_recurrent(net, what: str) -> None:
    if not net.recurrent:
        raise DtError(f"{what} compares one block's filters across iterations, and this model is "
                      f"feed-forward (a distinct block per iteration): give a recurrent model")


def require_images(problem, what: str) -> None:
    if problem.kind != "label":
        raise DtError(f"{what} needs an image-classification model (problem kind 'label'); this "
                      f"one solves {problem.name} (kind {problem.kind!r}): use an `images` model, "
                      f"e.g. one trained by `dt study depth images ...`")


def require_same_inputs(a, b, what: str) -> None:
    """Two models compared on one data set must read the same inputs."""
    pa, pb = a.problem, b.problem
    if pa.name != pb.name:
        raise DtError(f"{what}: the models solve different problems ({pa.name} vs {pb.name}); "
                      f"compare two models of the same problem")
    shape_a, shape_b = pa.input_shape, pb.input_shape
    if shape_a != shape_b or pa.in_channels != pb.in_channels:
        raise DtError(f"{what}: the models read different inputs ({pa!r} vs {pb!r}); compare "
                      f"models trained on the same data set")


def check_iterations(net, iters: int, flag: str = "--iters") -> int:
    """``iters`` if the net can think that long (a clear error for a feed-forward net)."""
    if iters < 1:
        raise DtError(f"{flag} must be at least 1, got {iters}")
    try:
        net.check_iters(iters)
    except DtError as exc:
        raise DtError(f"{exc}: use {flag} {net.max_depth} or less") from None
    return iters


def trained_iterations(loaded) -> int:
    """The iterations a model was trained with (a feed-forward net: all its blocks)."""
    from dtcli.config import trained_iters

    return trained_iters(loaded.max_iters, loaded.net.max_depth)


def fresh_twin(loaded, seed: int = 0):
    """The same architecture as ``loaded``, freshly initialised from ``seed`` (the untrained
    control), on the same device and in eval mode."""
    from dtcli.factory import build_net
    from dtcli.plugins import get_registry

    device = next(loaded.net.parameters()).device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _, net = build_net(get_registry(), loaded.config, loaded.info["model"].get("build"))
    return net.to(device).eval()


def pooled(thought: torch.Tensor, pool: int) -> torch.Tensor:
    """``(N, features)``: a feature map average-pooled to at most ``pool`` cells per spatial
    side, flattened (a vector thought, e.g. an MLP's, as it is)."""
    if thought.dim() == 3:
        thought = F.adaptive_avg_pool1d(thought, min(pool, thought.shape[-1]))
    elif thought.dim() == 4:
        thought = F.adaptive_avg_pool2d(thought, (min(pool, thought.shape[-2]),
                                                  min(pool, thought.shape[-1])))
    return thought.flatten(1)


def batches(n: int, size: int) -> list[slice]:
    return [slice(lo, min(n, lo + size)) for lo in range(0, n, max(1, size))]


def batch_size_for(net, x: torch.Tensor, given: int | None = None) -> int:
    from dtcli.engine.device import inference_batch_size

    if given is not None:
        if given <= 0:
            raise DtError(f"--batch-size must be positive, got {given}")
        return given
    return inference_batch_size(net, x, x.device)


def lockstep(net, x: torch.Tensor, iters: int, batch_size: int
             ) -> Iterator[tuple[int, list[torch.Tensor]]]:
    """Advance every instance one iteration at a time, in batches: yields ``(i, thoughts per
    batch)`` after each iteration. Memory holds one thought per instance, flat in ``iters``,
    so a statistic over all instances (a Gram matrix) can be taken at every iteration."""
    net.check_iters(iters)
    parts = [x[s] for s in batches(len(x), batch_size)]
    thoughts = [net.start(p) for p in parts]
    encoded = [net.encode_input(p) for p in parts]
    for i in range(iters):
        thoughts = [net.think(t, e, i) for t, e in zip(thoughts, encoded)]
        yield i + 1, thoughts


class LayerRecorder:
    """While active, ``reduce(response)`` of every layer (conv or linear module) the net calls,
    in call order, as ``(module name, value)``; a norm module applied straight to a layer's
    response replaces it. The response is taken before the activation function: a filter is
    *active* where it is positive, i.e. where the ReLU lets it through. (A residual block adds
    its input before its last ReLU: the hook sees the conv's own response.) Layers applied as
    functions rather than modules (a recall net's input convolution) are not seen."""

    def __init__(self, net: nn.Module, reduce: Callable[[torch.Tensor], Any]) -> None:
        self.net = net
        self.reduce = reduce
        self.names = {m: name for name, m in net.named_modules()}
        self.records: list[tuple[str, Any]] = []
        self._last: torch.Tensor | None = None
        self._handles: list[Any] = []

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        # reduce at once: in-place ops (``out += x``) change the tensor after the hook
        if isinstance(module, NORM_TYPES):
            if self.records and inputs and inputs[0] is self._last:
                self.records[-1] = (self.records[-1][0], self.reduce(output))
            self._last = None
            return
        self.records.append((self.names[module], self.reduce(output)))
        self._last = output

    def take(self) -> list[tuple[str, Any]]:
        out, self.records, self._last = self.records, [], None
        return out

    def __enter__(self) -> "LayerRecorder":
        for module in self.names:
            if isinstance(module, LAYER_TYPES + NORM_TYPES):
                self._handles.append(module.register_forward_hook(self._hook))
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._last = None


@contextmanager
def frozen(net: nn.Module) -> Iterator[nn.Module]:
    """The net in eval mode with its parameters out of autograd (gradients flow to inputs and
    thoughts only); restores ``requires_grad`` afterwards."""
    flags = [p.requires_grad for p in net.parameters()]
    net.eval().requires_grad_(False)
    try:
        yield net
    finally:
        for p, flag in zip(net.parameters(), flags):
            p.requires_grad_(flag)
