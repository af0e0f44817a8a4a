"""Every device, precision and thread decision the engine makes lives here."""

from __future__ import annotations

import contextlib
import os
from typing import Any, ContextManager

import torch

from dtcli.contracts.errors import DtError

DEVICES = ("auto", "cpu", "cuda", "mps")
AMP_MODES = ("off", "bf16", "fp16")


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure_threads(threads: int | None = None, processes: int = 1) -> int:
    """Cap torch's intra-op threads (default: the cores this process may use, shared among the
    ``processes`` of this node, e.g. torchrun's local world; ``$DT_THREADS``), and keep freed
    memory in the process (:mod:`dtcli.engine.allocator`): every compute path calls this."""
    from dtcli.engine.allocator import keep_freed_memory

    keep_freed_memory()
    if threads is None and os.environ.get("DT_THREADS"):
        threads = int(os.environ["DT_THREADS"])
    share = max(1, available_cores() // max(processes, 1))
    threads = max(1, min(threads or share, available_cores()))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must be available."""
    name = (name or "auto").lower()
    if name not in DEVICES and not name.startswith("cuda:"):
        raise DtError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps and mps.is_available())
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_ok else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DtError("--device cuda asked for, but this machine has no usable CUDA GPU; "
                      "use --device cpu or auto")
    if name == "mps" and not mps_ok:
        raise DtError("--device mps asked for, but MPS is not available here; use --device cpu")
    return torch.device(name)


def configure_backends(device: torch.device, *, tf32: bool = False,
                       cudnn_benchmark: bool = True) -> None:
    """CUDA math choices, recorded in a run's config: TF32 matmuls and convolutions (faster on
    Ampere and later, but they change results, so off unless asked for) and cuDNN's autotuner
    (picks the fastest convolution algorithm for each shape once)."""
    if device.type != "cuda":
        return
    precision = "tf32" if tf32 else "ieee"
    torch.backends.cuda.matmul.fp32_precision = precision
    torch.backends.cudnn.conv.fp32_precision = precision
    torch.backends.cudnn.benchmark = cudnn_benchmark


def sync_interval(device: torch.device) -> int:
    """Steps between the host reading the loss (and the ranks agreeing on stopping): every
    step on the CPU, where reading costs nothing; every 25 on an accelerator, which a read
    would stall."""
    return 1 if device.type == "cpu" else 25


def fits_on_device(nbytes: int, device: torch.device, share: float = 0.25) -> bool:
    """Whether a data set of ``nbytes`` can live on ``device`` (at most ``share`` of its free
    memory), so batches are gathered there instead of copied from the host every step."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return nbytes <= share * free
    return device.type == "cpu"


def inference_batch_size(net: torch.nn.Module, inputs: torch.Tensor, device: torch.device,
                         cap: int = 500) -> int:
    """Instances per batch for inference, from the size of one instance's thought: on a CPU
    about 12 MB of thought per batch (measured on 2 cores: per-instance throughput is best
    there, e.g. 16 size-33 e2h mazes at width 32, one size-201 maze), on a GPU about 1 GB."""
    with torch.inference_mode():
        one = net.start(inputs[:1].to(device).float())
    per_instance = one.numel() * one.element_size()
    budget = 12 * 2**20 if device.type == "cpu" else 2**30
    return max(1, min(cap, budget // max(per_instance, 1), len(inputs)))


def autocast(device: torch.device, amp: str = "off") -> ContextManager:
    """Mixed precision for the forward pass (opt-in: bf16 is much slower than fp32 on most CPUs)."""
    if amp not in AMP_MODES:
        raise DtError(f"unknown --amp {amp!r}; choose one of {', '.join(AMP_MODES)}")
    if amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, amp: str):
    """A GradScaler for fp16 on CUDA; None otherwise."""
    if amp == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None


def prepare(net: torch.nn.Module, device: torch.device, compile: bool = False) -> torch.nn.Module:
    """Move a net to ``device``; channels_last for 2D nets (measured on a 2-core CPU: ~1.25x
    faster convolutions at widths 32 and 128, for inference and training); optional
    torch.compile.

    Compilation wraps the net's ``start``/``think``/``answer`` methods rather than the module,
    so state dicts and streaming iteration are unchanged.
    """
    net = net.to(device)
    if device.type in ("cuda", "cpu") and net.spatial_dims == 2:
        net = net.to(memory_format=torch.channels_last)
    if compile:
        for part in ("start", "think", "answer"):
            setattr(net, part, torch.compile(getattr(net, part)))
    return net


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    return t.to(device, non_blocking=device.type == "cuda")


def batch_to(inputs: torch.Tensor, targets: torch.Tensor | None, device: torch.device):
    """Move a batch to ``device``: inputs as float (problems may store them as uint8 or bool,
    which also makes the copy to a GPU smaller), targets as int64 class indices."""
    x = to_device(inputs, device)
    if not x.is_floating_point():
        x = x.float()
    y = None if targets is None else to_device(targets, device).long()
    return x, y


def describe_hardware(device: torch.device, processes: int = 1) -> dict[str, Any]:
    """Where a run trained, for its record (and a zoo card)."""
    import platform

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (
        platform.processor() or platform.machine())
    return {"device": str(device), "name": name, "cores": available_cores(),
            "threads": torch.get_num_threads(), "processes": processes,
            "torch": torch.__version__, "python": platform.python_version(),
            "system": platform.system()}
