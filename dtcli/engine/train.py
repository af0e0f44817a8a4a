"""Training: progressive loss, per-epoch validation, atomic checkpoints, exact resume.

Every source of randomness inside an epoch (batch order, augmentation, the progressive loss's
n and k) is drawn from generators seeded by ``(seed, epoch)``; a resume state written in the
middle of an epoch carries their states, so a resumed run replays the rest of the run exactly
as an uninterrupted run would. Under torchrun the same loop runs in every process (see
:mod:`dtcli.engine.distributed`): each rank takes its shard of every global batch, DDP sums
the gradients, and only rank 0 writes the run directory and reports events.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Any, Callable

import torch

from dtcli import factory, runs
from dtcli.config import TrainConfig, resumable, think_iters
from dtcli.contracts.errors import DtError, error_text
from dtcli.engine import checkpoint, distributed, resume
from dtcli.engine.device import (
    batch_to,
    configure_backends,
    configure_threads,
    describe_hardware,
    fits_on_device,
    prepare,
    resolve_device,
    sync_interval,
)
from dtcli.engine.evaluate import evaluate
from dtcli.engine.events import Listener, Listeners
from dtcli.engine.extrapolate import ExtrapolationResult
from dtcli.engine.optim import warmup_steps
from dtcli.engine.outcome import Diverged, Stopped, TrainResult, converged, divergence_message
from dtcli.engine.progressive import draw_nk, step_noise
from dtcli.engine.rundata import epoch_generator, fingerprint, run_work, split_train_val
from dtcli.engine.step import ProgressiveObjective, training_step
from dtcli.engine.tally import EpochTally, position_accuracy


class Trainer:
    """One training run in one run directory (one process of it, under torchrun)."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, *, registry=None,
                 listener: Listener | None = None, cancel: Callable[[], bool] | None = None,
                 interrupt: Callable[[], bool] | None = None,
                 info: dict[str, Any] | None = None):
        from dtcli.plugins import get_registry

        self.info = dict(info or {})
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.registry = registry or get_registry()
        self.cancel = cancel or (lambda: False)
        self.interrupt = interrupt or (lambda: False)
        device = distributed.process_device(resolve_device(cfg.device))
        self.ctx = distributed.context(device)
        self.device = device
        self.listener = (listener or Listener()) if self.ctx.main else Listener()
        if self.ctx.main and cfg.trackers:  # TensorBoard, or a plugin's tracker
            trackers = [self.registry.tracker(name, self.run_dir, cfg) for name in cfg.trackers]
            self.listener = Listeners([self.listener, *trackers])
        self.last_checkpoint = time.monotonic()
        self.saved_at: tuple[int, int] = (0, 0)
        self.best_epoch: int | None = None
        self.pending_stop: str | None = None

    # -- set-up ----------------------------------------------------------------------------

    def setup(self) -> None:
        cfg, ctx = self.cfg, self.ctx
        configure_threads(cfg.threads, processes=ctx.local_world)
        configure_backends(self.device, tf32=cfg.tf32, cudnn_benchmark=cfg.cudnn_benchmark)
        torch.manual_seed(cfg.seed)
        self.problem, net = factory.build_net(self.registry, cfg)
        self.model_info = factory.model_summary(net, cfg)
        if net.max_depth is not None and cfg.max_iters > net.max_depth:
            raise DtError(f"max_iters {cfg.max_iters} exceeds this net's depth {net.max_depth}")
        p = self.problem
        self.train_difficulty = p.parse_difficulty(cfg.train_difficulty or p.default_train_difficulty)
        tests = cfg.test_difficulties or [p.default_test_difficulty]
        self.test_difficulties = [p.parse_difficulty(d) for d in tests]
        inputs, targets = ctx.main_first(
            lambda: p.dataset("train", self.train_difficulty, cfg.train_count, cfg.seed))
        self.data_fingerprint = fingerprint(inputs, targets)
        (train_x, train_y), (self.val_x, self.val_y) = split_train_val(
            inputs, targets, cfg.val_fraction, cfg.seed)
        if len(train_x) == 0:
            raise DtError("no training data left after the validation split; raise --train-count")
        nbytes = train_x.nbytes + train_y.nbytes
        self.data_device = self.device if fits_on_device(nbytes, self.device) else torch.device("cpu")
        self.train_x, self.train_y = train_x.to(self.data_device), train_y.to(self.data_device)
        self.steps_per_epoch = -(-len(self.train_x) // cfg.batch_size)
        self.notes: list[str] = []
        has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
        if ctx.active and has_bn:
            if self.device.type == "cuda":
                net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
            else:  # torch's SyncBatchNorm runs on GPUs only
                self.notes.append("BatchNorm statistics are per process on the CPU (SyncBatchNorm "
                                  "needs GPUs): results differ slightly from one process")
        self.raw_net = net
        self.net = prepare(net, self.device, cfg.compile)

        def ddp(objective: ProgressiveObjective) -> torch.nn.Module:
            from torch.nn.parallel import DistributedDataParallel

            objective.touch_skipped = True  # why: see ProgressiveObjective
            return DistributedDataParallel(
                objective, device_ids=[self.device.index] if self.device.type == "cuda" else None)

        self.step = training_step(self.net, p, cfg, self.device, self.steps_per_epoch,
                                  wrap=ddp if ctx.active else None)
        self.objective = self.step.objective
        self.optimizer, self.scheduler = self.step.optimizer, self.step.scheduler
        _, shortened = warmup_steps(cfg, self.steps_per_epoch)
        self.remarks = [shortened] if shortened else []
        self.work = self.estimate_work()

    def estimate_work(self) -> dict[str, int]:
        """The work of a step, a validation pass and the final tests, for a run-level ETA; the
        test data is made now (a bad test difficulty fails before training, not after it)."""
        tests = [self.test_set(d)[1] for d in self.test_difficulties] if self.cfg.test_count else []
        return run_work(self.cfg, self.train_y, self.val_y, tests, self.test_iters())

    # -- files (rank 0 only) ---------------------------------------------------------------

    def save_state(self, position: resume.Position, kind: str) -> None:
        if self.ctx.main:
            resume.save(self.run_dir / runs.LAST, position, self.raw_net, self.optimizer,
                        self.scheduler, self.fixed_settings())
            self.listener.on_checkpoint(kind, self.run_dir / runs.LAST)
        self.last_checkpoint = time.monotonic()
        self.saved_at = (position.epoch, position.step)

    def fixed_settings(self) -> dict[str, Any]:
        """The settings ``--resume`` may not change, as JSON values (config.json's form): kept
        in the resume state and compared when the run resumes."""
        free = resumable()
        return json.loads(json.dumps({k: v for k, v in self.cfg.to_dict().items()
                                      if k not in free}))

    def set_status(self, status: str, reason: str | None = None) -> None:
        if self.ctx.main and (self.run_dir / runs.CONFIG).exists():
            runs.set_status(self.run_dir, status, reason)

    # -- the run ---------------------------------------------------------------------------

    def run(self, resume_run: bool = False) -> TrainResult:
        """Train (or resume) while holding the run directory's lock (rank 0)."""
        import contextlib

        with runs.locked(self.run_dir) if self.ctx.main else contextlib.nullcontext():
            return self._run(resume_run)

    def _run(self, resume_run: bool) -> TrainResult:
        began = time.perf_counter()
        if self.ctx.main:
            for stale in self.run_dir.glob(".*.tmp"):  # left by a process killed mid-write
                stale.unlink(missing_ok=True)
        if resume_run and runs.never_started(self.run_dir):
            resume_run = False  # killed before its first resume state: start it afresh
        self.setup()
        if resume_run:
            recorded = runs.read_run_config(self.run_dir).get("info", {}).get("data_fingerprint")
            if recorded and recorded != self.data_fingerprint:
                raise DtError(f"the training data of {self.run_dir} changed since the run started "
                              "(e.g. more puzzles were generated into its source); resuming needs "
                              "the same data: start a new run")
            position = resume.load(self.run_dir / runs.LAST, self.raw_net, self.optimizer,
                                   self.scheduler, self.steps_per_epoch, self.fixed_settings())
            self.saved_at, self.best_epoch = (position.epoch, position.step), position.best_epoch
            if self.ctx.main:  # a kill between last.pt and metrics.jsonl loses no epoch line
                runs.write_metrics(self.run_dir, position.history)
        else:
            position = resume.Position()
            self.info["hardware"] = describe_hardware(self.device, self.ctx.world)
            self.info["data_fingerprint"] = self.data_fingerprint
            self.save_state(position, "last")  # the resume state first, then the record
            if self.ctx.main:
                runs.write_metrics(self.run_dir, [])
                runs.write_run_config(self.run_dir, self.cfg, self.model_info, "running",
                                      {"info": self.info})
        self.set_status("running")
        self.listener.on_start({
            "run_dir": str(self.run_dir), "device": str(self.device), "processes": self.ctx.world,
            "model": self.model_info, "train_size": len(self.train_x), "val_size": len(self.val_x),
            "steps_per_epoch": self.steps_per_epoch, "start_epoch": position.epoch,
            "start_step": position.step, "epochs": self.cfg.epochs, "notes": list(self.notes),
            "remarks": self.remarks, "stop_at": self.cfg.stop_at,
            "work": self.work, "position_noun": self.problem.position_noun})
        results: dict[str, ExtrapolationResult] = {}
        try:
            try:
                self.loop(position)
                results = self.final_extrapolation()
                status = "finished"
            except Stopped as stop:
                status = stop.status
            self.set_status(status)
        except KeyboardInterrupt as exc:
            self.listener.on_exception(exc)
            self.set_status("interrupted")
            raise
        except Exception as exc:
            self.listener.on_exception(exc)
            reason = error_text(exc)
            self.set_status("failed", reason)
            raise
        history = position.history
        best_rec = max(history, key=lambda r: r.get("val_acc") or -1, default=None)
        result = TrainResult(self.run_dir, status, len(history),
                             best_rec.get("val_acc") if best_rec else None,
                             best_rec["epoch"] if best_rec else None, history, results,
                             time.perf_counter() - began)
        self.listener.on_end({"status": status, "run_dir": str(self.run_dir),
                              "seconds": result.seconds, "best_val": result.best_val})
        return result

    def loop(self, position: resume.Position) -> None:
        cfg = self.cfg
        while position.epoch < cfg.epochs:
            if converged(position.history, cfg.stop_at, cfg.stop_patience):
                return
            epoch = position.epoch
            t0 = time.perf_counter()
            stats = self.train_epoch(position)
            record = {"epoch": epoch + 1, "step": (epoch + 1) * self.steps_per_epoch, **stats}
            t_val = time.perf_counter()
            record["val_acc"] = self.validate() if len(self.val_x) else None
            record["val_seconds"] = round(time.perf_counter() - t_val, 3)
            if cfg.test_every and cfg.test_count and (epoch + 1) % cfg.test_every == 0:
                record["test"] = self.periodic_test()
            record["seconds"] = round(time.perf_counter() - t0, 3)
            score = record["val_acc"] if record["val_acc"] is not None else record["train_acc"]
            if position.best_val is None or score > position.best_val:
                position.best_val, position.best_epoch = score, epoch + 1
                self.best_epoch = epoch + 1
                if self.ctx.main:
                    checkpoint.save_weights(self.raw_net, self.run_dir / runs.BEST)
                    self.listener.on_checkpoint("best", self.run_dir / runs.BEST)
            position.history.append(record)
            position.epoch, position.step = epoch + 1, 0
            position.batch_rng = position.nk_rng = position.tally = None
            if self.ctx.main:  # metrics first: a kill before last.pt replays this epoch
                runs.write_metrics(self.run_dir, position.history)
            self.save_state(position, "last")
            self.listener.on_epoch_end(dict(record))
            if self.pending_stop is not None:  # agreed on the epoch's last step
                raise Stopped(self.pending_stop)

    def train_epoch(self, position: resume.Position) -> dict[str, Any]:
        """Train one epoch from ``position`` (its start, or a mid-epoch resume state)."""
        cfg, ctx, problem = self.cfg, self.ctx, self.problem
        epoch, steps = position.epoch, self.steps_per_epoch
        self.net.train()
        gen = epoch_generator(cfg.seed, epoch)
        order = torch.randperm(len(self.train_x), generator=gen).to(self.data_device)
        rng = random.Random(f"{cfg.seed}:{epoch}")
        tally = EpochTally(self.device)
        if position.step:
            gen.set_state(position.batch_rng)
            try:
                rng.setstate(resume.as_tuples(position.nk_rng))
            except (TypeError, ValueError):
                raise DtError(f"resume state in {self.run_dir} is damaged (the (n, k) generator); "
                              "start a new run") from None
            tally = EpochTally(self.device, position.tally if ctx.main else None)
        self.listener.on_epoch_start(epoch + 1, cfg.epochs, steps)
        every = sync_interval(self.device)
        for step in range(position.step, steps):
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            x, y = batch_to(self.train_x[idx], self.train_y[idx], self.device)
            x, y = problem.augment(x, y, gen)
            nk = draw_nk(cfg.alpha, cfg.max_iters, rng, cfg.nk_sampling)
            xs, ys, scale, share = distributed.shard_batch(ctx, problem, x, y)
            out = self.step.backward(xs, ys, nk, scale, step_noise(self.cfg, self.ctx, epoch, step, len(x)))
            count = len(xs) if share else 0
            correct, positions = 0, None
            if count:
                predicted = problem.predict(out.logits, xs)
                correct = problem.correct(predicted, ys).sum()
                positions = problem.position_correct(predicted, ys, xs)
            tally.add(out.loss, share, correct, count, positions)
            done = step + 1
            lr = self.optimizer.param_groups[0]["lr"]  # the rate this step uses
            if done % every and done != steps:
                self.step.update()
                continue
            stop, due = self.sync(tally, epoch, done)  # before the update: a NaN never lands
            self.step.update()
            if done == steps:  # the epoch's end writes the state; stop after it
                self.pending_stop = stop
                break
            if due or stop is not None:
                totals = tally.global_values(ctx)
                tally.collapse(ctx, totals)
                self.save_state(resume.Position(
                    epoch=epoch, step=done, best_val=position.best_val,
                    best_epoch=position.best_epoch, history=position.history,
                    batch_rng=gen.get_state(), nk_rng=rng.getstate(), tally=totals), "step")
            if stop is not None:
                raise Stopped(stop)
        loss_sum, correct, seen, right, counted = tally.global_values(ctx)
        return {"train_loss": loss_sum / steps, "train_acc": 100.0 * correct / max(seen, 1),
                "train_position_acc": position_accuracy(right, counted),
                "lr": lr}  # the last step's rate (a cosine schedule ends at zero after it)

    def sync(self, tally: EpochTally, epoch: int, done: int) -> tuple[str | None, bool]:
        """Read the loss and agree on stopping and checkpointing, once per sync interval (one
        collective): returns the stop status agreed by all ranks (None: go on) and whether a
        mid-epoch resume state is due (rank 0's clock decides); raises :class:`Diverged` on a
        NaN/inf loss."""
        every = self.cfg.checkpoint_every
        due = self.ctx.main and time.monotonic() - self.last_checkpoint >= 60 * every
        flags = torch.tensor([float(self.cancel()), float(self.interrupt()), float(due)],
                             dtype=tally.sums.dtype, device=self.device)
        shared = self.ctx.all_reduce(torch.cat([flags, tally.interval_loss().reshape(1),
                                                tally.positions()]))
        cancel, interrupt, due, loss_sum, right, counted = shared.tolist()
        steps = tally.interval_steps
        tally.reset_interval()
        if not math.isfinite(loss_sum):
            raise Diverged(divergence_message(self.cfg, epoch + 1, done, loss_sum,
                                              self.saved_at, self.best_epoch))
        loss = loss_sum / max(steps, 1)
        self.listener.on_batch(epoch + 1, done, self.steps_per_epoch, loss)
        self.listener.on_progress({"epoch": epoch + 1, "step": done, "steps": self.steps_per_epoch,
                                   "loss": loss, "position_acc": position_accuracy(right, counted)})
        stop = "interrupted" if interrupt else ("cancelled" if cancel else None)
        return stop, bool(due)

    def evaluate(self, x, y, iters, **options) -> ExtrapolationResult | None:
        return evaluate(self.net, self.problem, x, y, iters, ctx=self.ctx, device=self.device,
                        batch_size=self.cfg.eval_batch_size, amp=self.cfg.amp, **options)

    def validate(self) -> float:
        res = self.evaluate(self.val_x, self.val_y, [self.cfg.max_iters])
        return res.accuracy()[0]

    def test_set(self, difficulty):
        return self.ctx.main_first(
            lambda: self.problem.dataset("test", difficulty, self.cfg.test_count, self.cfg.seed))

    def test_iters(self) -> int:
        """How far the periodic and final tests think."""
        return think_iters(self.cfg.max_iters, self.raw_net.max_depth, self.cfg.test_iters)

    def periodic_test(self) -> dict[str, Any]:
        d = self.test_difficulties[0]
        x, y = self.test_set(d)
        res = self.evaluate(x, y, self.test_iters())
        it, acc = res.best()
        return {"difficulty": d, "acc_at_max_iters": res.at(min(self.cfg.max_iters, res.iters[-1])),
                "best_iter": it, "best_acc": acc}

    def final_extrapolation(self) -> dict[str, ExtrapolationResult]:
        """Extrapolate the best checkpoint on every test difficulty; write extrapolation.json.
        A cancel or signal on the way stops the run (no partial extrapolation.json); with
        test_count 0 (``--no-test``) there is none."""
        if not self.cfg.test_count:
            return {}
        if self.ctx.main:
            weights = factory.read_weights(self.run_dir / runs.BEST)
            factory.apply_weights(self.raw_net, weights, self.run_dir / runs.BEST)
        self.ctx.broadcast_module(self.raw_net)  # the other ranks may not see rank 0's disk
        iters = self.test_iters()
        results: dict[str, ExtrapolationResult] = {}
        for d in self.test_difficulties:
            x, y = self.test_set(d)
            self.listener.on_extrapolation_start(d, iters, len(x))
            res = self.evaluate(x, y, iters, modes=("fixed", "max-conf"), difficulty=d,
                                cancel=lambda: self.cancel() or self.interrupt(),
                                on_batch=self.listener.on_extrapolation_batch,
                                on_step=self.listener.on_extrapolation_progress)
            if res is None:
                agreed = self.ctx.agree([self.interrupt()], self.device)[0] if self.ctx.active \
                    else self.interrupt()
                raise Stopped("interrupted" if agreed else "cancelled")
            results[str(d)] = res
            self.listener.on_extrapolation(d, res)
        if self.ctx.main:
            runs.write_extrapolation(self.run_dir, {
                "weights": runs.BEST, "seed": self.cfg.seed, "count": self.cfg.test_count,
                "results": {k: r.to_dict() for k, r in results.items()}})
        return results


def train(cfg: TrainConfig, run_dir: Path, *, registry=None, listener: Listener | None = None,
          cancel: Callable[[], bool] | None = None, interrupt: Callable[[], bool] | None = None,
          resume: bool = False, info: dict[str, Any] | None = None) -> TrainResult:
    """Train (or, with ``resume``, continue) the run in ``run_dir``.

    ``cancel`` (checked every step) ends the run "cancelled", ``interrupt`` (a signal)
    "interrupted"; both leave a resume state at the step they stopped at. ``info`` (e.g. the
    command line) is recorded in its config.json.
    """
    return Trainer(cfg, run_dir, registry=registry, listener=listener, cancel=cancel,
                   interrupt=interrupt, info=info).run(resume)
