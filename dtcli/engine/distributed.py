"""Several processes, one run: ``torch.distributed`` set up from torchrun's environment.

``torchrun --nproc-per-node N -m dtcli train ...`` starts N processes with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` and ``MASTER_ADDR``/``MASTER_PORT`` set;
:func:`context` joins them (env://, nccl on CUDA with one GPU per local rank, gloo on the CPU).
Without ``WORLD_SIZE`` > 1 everything here is a no-op on a one-process context, so the engine
calls it unconditionally.

What is split and what is not: every process holds the whole data set and the same model;
each step's global batch (``--batch-size``) is cut into one contiguous shard per rank;
evaluation shards the instances and sums the counts. Only rank 0 writes files and prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from dtcli.contracts.errors import DtError

if TYPE_CHECKING:  # pragma: no cover
    import torch

T = TypeVar("T")


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run: rank, world size and the same on its node."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    # -- collectives (no-ops in one process) -----------------------------------------------

    def all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        """Reduce ``tensor`` in place over all ranks (``sum`` or ``max``) and return it."""
        if self.active:
            import torch.distributed as dist

            dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
        return tensor

    def agree(self, flags: Sequence[bool | torch.Tensor], device: torch.device) -> list[bool]:
        """Each flag is true on every rank when it is true on any: one collective for all the
        stop decisions of a step (cancel, signal, divergence, checkpoint due)."""
        import torch

        t = torch.stack([torch.as_tensor(f, device=device).reshape(()).to(torch.int32)
                         for f in flags])
        return [bool(v) for v in self.all_reduce(t, "max").tolist()]

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Copy rank 0's parameters and buffers into every rank's ``module``."""
        if self.active:
            import torch.distributed as dist

            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def main_first(self, make: Callable[[], T]) -> T:
        """Rank 0 runs ``make`` first (e.g. generating and caching data), the others after it
        has finished, so they read its cache instead of writing the same files."""
        if not self.active:
            return make()
        if self.main:
            value = make()
            self.barrier()
            return value
        self.barrier()
        return make()

    # -- sharding --------------------------------------------------------------------------

    def shard_bounds(self, count: int) -> tuple[int, int]:
        """This rank's contiguous share of ``count`` items (sizes differ by at most one)."""
        base, extra = divmod(count, self.world)
        lo = self.rank * base + min(self.rank, extra)
        return lo, lo + base + (1 if self.rank < extra else 0)


_CONTEXT: DistContext | None = None


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise DtError(f"${name}={value!r} is not a whole number (set by torchrun)") from None


def environment() -> DistContext:
    """The context torchrun's environment describes (not joined yet)."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_world = _env_int("LOCAL_WORLD_SIZE", world)
    local_rank = _env_int("LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world or not 0 <= local_rank < max(local_world, 1):
        raise DtError(f"inconsistent torchrun environment: RANK={rank} WORLD_SIZE={world} "
                      f"LOCAL_RANK={local_rank}; launch with torchrun")
    return DistContext(rank=rank, world=world, local_rank=local_rank, local_world=local_world)


def die_with_launcher() -> None:
    """Ask the kernel to send this rank SIGTERM when its launcher dies (Linux
    ``prctl(PR_SET_PDEATHSIG)``; elsewhere nothing). torchrun starts each rank in a session of
    its own, so a ``kill -9`` of torchrun, even of its process group, would leave the ranks
    running unsupervised; with this they stop as on Ctrl-C: after the current step, the run's
    resume state written, ``--resume`` continuing exactly."""
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    launcher = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != launcher:  # it died before the request: as if the signal had come
        os.kill(os.getpid(), signal.SIGTERM)


def context(device: "torch.device | None" = None) -> DistContext:
    """This process's context; under torchrun (``WORLD_SIZE`` > 1) the process group is joined
    on the first call: nccl when ``device`` is CUDA, gloo otherwise."""
    global _CONTEXT
    if _CONTEXT is not None:
        return _CONTEXT
    ctx = environment()
    if ctx.active:
        import torch
        import torch.distributed as dist

        die_with_launcher()
        if not dist.is_available():
            raise DtError("this torch build has no torch.distributed; run one process")
        cuda = device is not None and device.type == "cuda"
        if cuda:
            torch.cuda.set_device(ctx.local_rank)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if cuda else "gloo", init_method="env://",
                                    device_id=torch.device("cuda", ctx.local_rank) if cuda else None)
    _CONTEXT = ctx
    return ctx


def process_device(device: torch.device) -> torch.device:
    """The device of this process: under torchrun each local rank has its own GPU."""
    ctx = environment()
    if ctx.active and device.type == "cuda":
        import torch

        if torch.cuda.device_count() < ctx.local_world:
            raise DtError(f"{ctx.local_world} processes on this node but only "
                          f"{torch.cuda.device_count()} GPUs; use --nproc-per-node "
                          f"{torch.cuda.device_count()} or --device cpu")
        return torch.device("cuda", ctx.local_rank)
    return device


def shutdown() -> bool:
    """Leave the process group (at the end of a command); True when this process was in one."""
    global _CONTEXT
    joined = _CONTEXT is not None and _CONTEXT.active
    if joined:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    _CONTEXT = None
    return joined


def shard_batch(ctx: DistContext, problem: Any, x: torch.Tensor, y: torch.Tensor):
    """This rank's part of a global batch: ``(x, y, loss scale, share of the loss)``.

    The share is this shard's part of the denominator of the global batch's mean loss
    (``Problem.loss_weight``); scaling the shard's mean loss by world x share makes DDP's
    average of gradients the gradient of the global batch's mean, even for shards of unequal
    size or content (a maze's open pixels). In one process: the batch, no scale, share 1.
    """
    if not ctx.active:
        return x, y, None, 1.0
    lo, hi = ctx.shard_bounds(len(x))
    total = float(problem.loss_weight(y, x))
    if hi <= lo:  # fewer instances than ranks in the last batch: take part with weight 0
        return x[:1], y[:1], 0.0, 0.0
    xs, ys = x[lo:hi], y[lo:hi]
    share = float(problem.loss_weight(ys, xs)) / total if total else 0.0
    return xs, ys, ctx.world * share, share


# -- distributed evaluation -----------------------------------------------------------------


def reduce_counts(ctx: DistContext, values: list[Any], device: torch.device) -> list[Any]:
    """Sum nested lists of integers over all ranks (one collective)."""
    if not ctx.active:
        return values
    flat: list[int] = []

    def walk(v: Any) -> None:
        if isinstance(v, list):
            for item in v:
                walk(item)
        else:
            flat.append(int(v))

    walk(values)
    import torch

    summed = iter(ctx.all_reduce(torch.tensor(flat, dtype=torch.long, device=device)).tolist())

    def rebuild(v: Any) -> Any:
        return [rebuild(item) for item in v] if isinstance(v, list) else next(summed)

    return rebuild(values)
