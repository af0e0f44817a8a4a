"""Training: progressive loss, per-epoch validation, atomic checkpoints, exact resume.

Every source of randomness inside an epoch (batch order, the progressive loss's n and k) is
drawn from generators seeded by ``(seed, epoch)``, so resuming from the last completed epoch
replays the rest of the run exactly as an uninterrupted run would.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from dtcli import runs
from dtcli.config import TrainConfig
from dtcli.engine import checkpoint
from dtcli.engine.device import (autocast, configure_threads, grad_scaler, prepare,
                                 resolve_device, batch_to)
from dtcli.engine.events import Listener
from dtcli.engine.extrapolate import ExtrapolationResult, extrapolate
from dtcli.engine.optim import build_optimizer, build_scheduler
from dtcli.engine.progressive import progressive_loss
from dtcli.errors import DtError


@dataclass
class TrainResult:
    run_dir: Path
    status: str
    epochs_done: int
    best_val: float | None
    best_epoch: int | None
    history: list[dict[str, Any]]
    extrapolation: dict[str, ExtrapolationResult] = field(default_factory=dict)
    seconds: float = 0.0


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


def converged(history: list[dict[str, Any]], stop_at: float | None, patience: int) -> bool:
    """Validation accuracy has been at least ``stop_at`` for the last ``patience`` epochs."""
    if stop_at is None or len(history) < patience:
        return False
    return all((r.get("val_acc") or 0.0) >= stop_at for r in history[-patience:])


def default_test_iters(cfg: TrainConfig, net) -> int:
    iters = cfg.test_iters or 10 * cfg.max_iters
    return min(iters, net.max_depth) if net.max_depth is not None else iters


class Trainer:
    """One training run in one run directory."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, *, registry=None,
                 listener: Listener | None = None, cancel: Callable[[], bool] | None = None,
                 info: dict[str, Any] | None = None):
        from dtcli.plugins import get_registry

        self.info = dict(info or {})
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.registry = registry or get_registry()
        self.listener = listener or Listener()
        self.cancel = cancel or (lambda: False)

    # -- set-up ----------------------------------------------------------------------------

    def setup(self) -> None:
        cfg = self.cfg
        configure_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.problem, net = runs.build_net(self.registry, cfg)
        self.model_info = runs.model_summary(net, cfg)
        self.raw_net = net
        self.net = prepare(net, self.device, cfg.compile)
        if net.max_depth is not None and cfg.max_iters > net.max_depth:
            raise DtError(f"max_iters {cfg.max_iters} exceeds this net's depth {net.max_depth}")
        p = self.problem
        self.train_difficulty = p.parse_difficulty(cfg.train_difficulty or p.default_train_difficulty)
        tests = cfg.test_difficulties or [p.default_test_difficulty]
        self.test_difficulties = [p.parse_difficulty(d) for d in tests]
        inputs, targets = p.dataset("train", self.train_difficulty, cfg.train_count, cfg.seed)
        self.data_fingerprint = fingerprint(inputs, targets)
        (self.train_x, self.train_y), (self.val_x, self.val_y) = split_train_val(
            inputs, targets, cfg.val_fraction, cfg.seed)
        if len(self.train_x) == 0:
            raise DtError("no training data left after the validation split; raise --train-count")
        self.steps_per_epoch = -(-len(self.train_x) // cfg.batch_size)
        self.optimizer = build_optimizer(self.net, cfg)
        self.scheduler = build_scheduler(self.optimizer, cfg, self.steps_per_epoch)
        self.scaler = grad_scaler(self.device, cfg.amp)

    # -- state -----------------------------------------------------------------------------

    def state(self, epoch: int, best: tuple, history: list) -> dict[str, Any]:
        return {"model": checkpoint.state_dict_of(self.raw_net),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "epoch": epoch, "best_val": best[0], "best_epoch": best[1],
                "history": [dict(r) for r in history], "torch_rng": torch.get_rng_state()}

    def load(self) -> tuple[int, tuple, list]:
        state = checkpoint.load_state(self.run_dir / runs.LAST)
        try:
            self.raw_net.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            return state["epoch"], (state["best_val"], state["best_epoch"]), list(state["history"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise DtError(f"resume state in {self.run_dir} does not match its config: {exc}") from None

    # -- the run ---------------------------------------------------------------------------

    def run(self, resume: bool = False) -> TrainResult:
        began = time.perf_counter()
        self.setup()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.run_dir.glob(".*.tmp"):  # left by a process killed mid-write
            stale.unlink(missing_ok=True)
        if resume:
            recorded = runs.read_run_config(self.run_dir).get("info", {}).get("data_fingerprint")
            if recorded and recorded != self.data_fingerprint:
                raise DtError(f"the training data of {self.run_dir} changed since the run started "
                              "(e.g. more puzzles were generated into its source); resuming needs "
                              "the same data: start a new run")
            start_epoch, best, history = self.load()
        else:
            start_epoch, best, history = 0, (None, None), []
            self.info["hardware"] = hardware(self.device)
            self.info["data_fingerprint"] = self.data_fingerprint
            runs.write_run_config(self.run_dir, self.cfg, self.model_info, "running",
                                  {"info": self.info})
            checkpoint.save_state(self.state(0, best, history), self.run_dir / runs.LAST)
            runs.write_metrics(self.run_dir, history)
        runs.set_status(self.run_dir, "running")
        self.listener.on_start({"run_dir": str(self.run_dir), "device": str(self.device),
                                "model": self.model_info, "train_size": len(self.train_x),
                                "val_size": len(self.val_x), "steps_per_epoch": self.steps_per_epoch,
                                "start_epoch": start_epoch, "epochs": self.cfg.epochs})
        try:
            status = self.loop(start_epoch, best, history)
            results = {}
            if status == "finished":
                results = self.final_extrapolation()
            runs.set_status(self.run_dir, status)
        except BaseException as exc:
            self.listener.on_exception(exc)
            if isinstance(exc, (KeyboardInterrupt, Exception)):
                runs.set_status(self.run_dir, "interrupted")
            raise
        history = runs.read_metrics(self.run_dir)
        best_rec = max(history, key=lambda r: r.get("val_acc") or -1, default=None)
        result = TrainResult(self.run_dir, status, len(history),
                             best_rec.get("val_acc") if best_rec else None,
                             best_rec["epoch"] if best_rec else None, history, results,
                             time.perf_counter() - began)
        self.listener.on_end({"status": status, "run_dir": str(self.run_dir),
                              "seconds": result.seconds, "best_val": result.best_val})
        return result

    def loop(self, start_epoch: int, best: tuple, history: list) -> str:
        cfg = self.cfg
        for epoch in range(start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            stats = self.train_epoch(epoch)
            if stats is None:
                return "cancelled"
            record = {"epoch": epoch + 1, "step": (epoch + 1) * self.steps_per_epoch, **stats}
            record["val_acc"] = self.validate() if len(self.val_x) else None
            if cfg.test_every and (epoch + 1) % cfg.test_every == 0:
                record["test"] = self.periodic_test()
            record["seconds"] = round(time.perf_counter() - t0, 3)
            score = record["val_acc"] if record["val_acc"] is not None else record["train_acc"]
            if best[0] is None or score > best[0]:
                best = (score, epoch + 1)
                checkpoint.save_weights(self.raw_net, self.run_dir / runs.BEST)
                self.listener.on_checkpoint("best", self.run_dir / runs.BEST)
            history.append(record)
            checkpoint.save_state(self.state(epoch + 1, best, history), self.run_dir / runs.LAST)
            runs.write_metrics(self.run_dir, history)
            self.listener.on_checkpoint("last", self.run_dir / runs.LAST)
            self.listener.on_epoch_end(dict(record))
            if converged(history, cfg.stop_at, cfg.stop_patience):
                break
        return "finished"

    def train_epoch(self, epoch: int) -> dict[str, Any] | None:
        cfg, net, problem = self.cfg, self.net, self.problem
        net.train()
        gen = epoch_generator(cfg.seed, epoch)
        order = torch.randperm(len(self.train_x), generator=gen)
        rng = random.Random(f"{cfg.seed}:{epoch}")
        self.listener.on_epoch_start(epoch + 1, cfg.epochs, self.steps_per_epoch)
        loss_sum, correct, seen = 0.0, 0, 0
        for step in range(self.steps_per_epoch):
            if self.cancel():
                return None
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            x, y = batch_to(self.train_x[idx], self.train_y[idx], self.device)
            x, y = problem.augment(x, y, gen)
            self.optimizer.zero_grad(set_to_none=True)
            with autocast(self.device, cfg.amp):
                out = progressive_loss(net, problem, x, y, alpha=cfg.alpha,
                                       max_iters=cfg.max_iters, rng=rng,
                                       nk_sampling=cfg.nk_sampling)
            loss = out.loss
            if not torch.isfinite(loss):
                raise DtError(f"training diverged at epoch {epoch + 1}, step {step + 1} "
                              f"(loss {loss.item()}); lower --lr or set --clip")
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            if cfg.clip is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip)
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            self.scheduler.step()
            with torch.no_grad():
                correct += int(problem.correct(problem.predict(out.logits, x), y).sum())
            seen += len(x)
            loss_value = float(loss.detach())
            loss_sum += loss_value
            self.listener.on_batch(epoch + 1, step + 1, self.steps_per_epoch, loss_value)
        return {"train_loss": loss_sum / self.steps_per_epoch,
                "train_acc": 100.0 * correct / max(seen, 1),
                "lr": self.optimizer.param_groups[0]["lr"]}

    def validate(self) -> float:
        res = extrapolate(self.net, self.problem, self.val_x, self.val_y, [self.cfg.max_iters],
                          batch_size=self.cfg.eval_batch_size, device=self.device, amp=self.cfg.amp)
        return res.accuracy()[0]

    def test_set(self, difficulty):
        return self.problem.dataset("test", difficulty, self.cfg.test_count, self.cfg.seed)

    def periodic_test(self) -> dict[str, Any]:
        d = self.test_difficulties[0]
        x, y = self.test_set(d)
        res = extrapolate(self.net, self.problem, x, y, default_test_iters(self.cfg, self.raw_net),
                          batch_size=self.cfg.eval_batch_size, device=self.device, amp=self.cfg.amp)
        it, acc = res.best()
        return {"difficulty": d, "acc_at_max_iters": res.at(min(self.cfg.max_iters, res.iters[-1])),
                "best_iter": it, "best_acc": acc}

    def final_extrapolation(self) -> dict[str, ExtrapolationResult]:
        """Extrapolate the best checkpoint on every test difficulty; write extrapolation.json."""
        weights = checkpoint.load_weights(self.run_dir / runs.BEST)
        checkpoint.apply_weights(self.raw_net, weights, self.run_dir / runs.BEST)
        iters = default_test_iters(self.cfg, self.raw_net)
        results: dict[str, ExtrapolationResult] = {}
        for d in self.test_difficulties:
            x, y = self.test_set(d)
            self.listener.on_extrapolation_start(d, iters, len(x))
            res = extrapolate(self.net, self.problem, x, y, iters, modes=("fixed", "max-conf"),
                              batch_size=self.cfg.eval_batch_size, device=self.device,
                              amp=self.cfg.amp, difficulty=d, cancel=self.cancel,
                              on_batch=self.listener.on_extrapolation_batch)
            results[str(d)] = res
            self.listener.on_extrapolation(d, res)
        runs.write_extrapolation(self.run_dir, {
            "weights": runs.BEST, "seed": self.cfg.seed, "count": self.cfg.test_count,
            "results": {k: r.to_dict() for k, r in results.items()}})
        return results


def hardware(device: torch.device) -> dict[str, Any]:
    """Where a run trained, for its record (and a zoo card)."""
    import platform

    from dtcli.engine.device import available_cores

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (
        platform.processor() or platform.machine())
    return {"device": str(device), "name": name, "cores": available_cores(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "system": platform.system()}


def train(cfg: TrainConfig, run_dir: Path, *, registry=None, listener: Listener | None = None,
          cancel: Callable[[], bool] | None = None, resume: bool = False,
          info: dict[str, Any] | None = None) -> TrainResult:
    """Train (or, with ``resume``, continue) the run in ``run_dir``; ``info`` (e.g. the
    command line) is recorded in its config.json."""
    return Trainer(cfg, run_dir, registry=registry, listener=listener, cancel=cancel,
                   info=info).run(resume)
