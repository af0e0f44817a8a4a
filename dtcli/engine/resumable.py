"""The resumable state of a long evaluation (``dt test --state FILE``): the thoughts of the batch
in progress, the tallies so far and where it stands, written atomically every few minutes, so a
test of big instances (a 201x201 maze thinks for hours) can be stopped and continued with
``--resume`` and end exactly as an uninterrupted run.

The file is safetensors (tensors, never a pickle) with the position and the arguments that made
it in its metadata: resuming with other arguments (another model, difficulty, count, seed,
iterations, mode) is refused in one line instead of mixing two tests' counts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write

KEY = "dt-test-state"


def weights_identity(loaded) -> str:
    """What names a loaded model in a state's key: the sha256 of its weights, so the same model
    reached by another path (a zoo name in an installed package, a run directory given
    relatively) resumes, and a retrained one does not."""
    from pathlib import Path

    from dtcli.runs import BEST
    from dtcli.zoo import sha256_of

    source = Path(loaded.source)
    return sha256_of(source if source.is_file() else source / BEST)


def like(saved: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """A tensor read back from a state as ``reference`` lives: its device, dtype and memory
    layout (a 2D thought is channels-last on the device: a convolution over another layout
    rounds differently, and a resumed run must end exactly as an uninterrupted one)."""
    out = saved.to(device=reference.device, dtype=reference.dtype)
    if reference.dim() == 4 and reference.is_contiguous(memory_format=torch.channels_last):
        out = out.contiguous(memory_format=torch.channels_last)
    return out


class ResumeState:
    """Where a long evaluation keeps its state: ``path``, written when :meth:`due` (every
    ``every`` minutes; 0: at every iteration) and removed by :meth:`finish`. ``key`` names the
    evaluation (its arguments); ``resume`` loads the state the file holds."""

    def __init__(self, path: str | Path, key: dict[str, Any], *, every: float = 5.0,
                 resume: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.key = json.loads(json.dumps(key, default=str))
        self.every = every
        self.last = time.monotonic()
        self.loaded: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None
        #: wall and CPU seconds the evaluation spent in the processes before this one
        self.earlier = {"wall": 0.0, "cpu": 0.0}
        self._began = (time.perf_counter(), time.process_time())
        if resume:
            self.loaded = self._read()
            self.earlier = {**self.earlier, **self.loaded[1].get("spent", {})}
        elif self.path.exists():
            raise DtError(f"{self.path} already holds a test's state: continue it with --resume, "
                          "or delete it to start again")
        if every < 0:
            raise DtError(f"--state-every must be 0 or more minutes, got {every}")

    def _read(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        from safetensors import SafetensorError, safe_open

        if not self.path.is_file():
            raise DtError(f"no test state at {self.path} to resume; run without --resume to "
                          "start one")
        try:
            with safe_open(str(self.path), framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {name: f.get_tensor(name) for name in f.keys()}
            doc = json.loads(meta[KEY])
        except (SafetensorError, OSError, ValueError, KeyError) as exc:
            raise DtError(f"{self.path} is not a dt test state ({type(exc).__name__}); delete "
                          "it and run the test again") from None
        if doc.get("key") != self.key:
            differs = sorted(k for k in set(self.key) | set(doc.get("key", {}))
                             if self.key.get(k) != doc.get("key", {}).get(k))
            raise DtError(f"{self.path} holds the state of another test ({', '.join(differs)} "
                          "differ); resume with the same arguments, or use another --state")
        return tensors, doc["position"]

    def due(self) -> bool:
        return time.monotonic() - self.last >= 60 * self.every

    def save(self, tensors: dict[str, torch.Tensor], position: dict[str, Any]) -> None:
        """Write the state now (atomically: a kill while writing keeps the previous one)."""
        from safetensors.torch import save_file

        data = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()
                if v is not None}
        position = {**position, "spent": self.spent()}
        meta = {KEY: json.dumps({"key": self.key, "position": position})}
        atomic_write(self.path, lambda tmp: save_file(data, str(tmp), metadata=meta))
        self.last = time.monotonic()

    def spent(self) -> dict[str, float]:
        """Wall and CPU seconds of this evaluation so far, the earlier processes' included."""
        wall, cpu = self._began
        return {"wall": self.earlier["wall"] + time.perf_counter() - wall,
                "cpu": self.earlier["cpu"] + time.process_time() - cpu}

    def finish(self) -> None:
        """The evaluation ended: its state is no longer needed."""
        self.path.unlink(missing_ok=True)
