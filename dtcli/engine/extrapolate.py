"""Streaming extrapolation: accuracy at every iteration, memory flat in the iteration count.

The reference materialises all outputs (batch x iters x classes x positions); here each
iteration's prediction is scored as it is produced and only per-iteration counts (and, for
max-confidence, one running best per sample) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from dtcli.contracts.errors import DtError
from dtcli.engine.device import autocast, batch_to, inference_batch_size
from dtcli.engine.resumable import like

MODES = ("fixed", "max-conf")


def parse_iters(spec: str | int) -> list[int]:
    """``"1:300"`` (inclusive), ``"1:300:10"`` (with a stride), ``"30,60,100"`` or ``"300"`` (=1:300)."""
    text = str(spec).strip()
    try:
        if "," in text:
            listed = [int(v) for v in text.split(",") if v.strip()]
            values = sorted(set(listed))
            if listed != values:
                raise DtError(f"--iters {spec!r}: list iterations once each, in increasing order "
                              f"(e.g. {','.join(map(str, values))})")
        elif ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            step = parts[2] if len(parts) == 3 else 1
            if step <= 0:
                raise ValueError
            values = list(range(parts[0], parts[1] + 1, step))
            if values and values[-1] != parts[1]:
                values.append(parts[1])
        else:
            values = list(range(1, int(text) + 1))
    except ValueError:
        raise DtError(f"--iters {spec!r} is not a range: use A:B, A:B:STEP, N or a list like 30,60,100") from None
    if not values or values[0] < 1:
        raise DtError(f"--iters {spec!r} must name iterations of at least 1")
    return values


@dataclass
class ExtrapolationResult:
    """Per-iteration correct counts; ``accuracy`` gives percentages."""

    iters: list[int]
    total: int
    correct: list[int]
    max_conf_correct: list[int] | None = None
    verified: list[int] | None = None
    difficulty: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: per-group counts: {"labels": [...], "totals": [...], mode: [[count per iter] per group]}
    groups: dict[str, Any] | None = None

    def counts(self, mode: str = "fixed") -> list[int]:
        counts = {"fixed": self.correct, "max-conf": self.max_conf_correct,
                  "verified": self.verified}.get(mode)
        if counts is None:
            raise KeyError(f"mode {mode!r} was not computed")
        return counts

    def accuracy(self, mode: str = "fixed") -> list[float]:
        return [100.0 * c / self.total if self.total else 0.0 for c in self.counts(mode)]

    def at(self, iteration: int, mode: str = "fixed") -> float:
        return self.accuracy(mode)[self.iters.index(iteration)]

    def best(self, mode: str = "fixed") -> tuple[int, float]:
        """The first iteration reaching the highest accuracy, and that accuracy."""
        acc = self.accuracy(mode)
        j = max(range(len(acc)), key=lambda k: (acc[k], -k))
        return self.iters[j], acc[j]

    @property
    def modes(self) -> list[str]:
        return [m for m, c in (("fixed", self.correct), ("max-conf", self.max_conf_correct),
                               ("verified", self.verified)) if c is not None]

    def to_dict(self) -> dict[str, Any]:
        out = {"difficulty": self.difficulty, "total": self.total, "iters": self.iters}
        for mode in self.modes:
            out[mode] = {"correct": self.counts(mode), "accuracy": self.accuracy(mode)}
        if self.extra:
            out["extra"] = self.extra
        if self.groups:
            out["groups"] = self.groups
        return out

    def group_accuracy(self, mode: str = "fixed") -> dict[str, list[float]]:
        """Accuracy per group at every requested iteration (empty without groups)."""
        if not self.groups or mode not in self.groups:
            return {}
        return {label: [100.0 * c / total if total else 0.0 for c in counts]
                for label, total, counts in zip(self.groups["labels"], self.groups["totals"],
                                                self.groups[mode])}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ExtrapolationResult":
        get = lambda m: d[m]["correct"] if m in d else None  # noqa: E731
        return cls(iters=list(d["iters"]), total=d["total"], correct=get("fixed"),
                   max_conf_correct=get("max-conf"), verified=get("verified"),
                   difficulty=d.get("difficulty"), extra=d.get("extra", {}), groups=d.get("groups"))


class _Tally:
    """Correct counts per (group, requested iteration) for one mode, kept on the device."""

    def __init__(self, groups: int, iters: int, device: torch.device) -> None:
        self.counts = torch.zeros(groups, iters, dtype=torch.long, device=device)

    def add(self, j: int, ok: torch.Tensor, group: torch.Tensor) -> None:
        self.counts[:, j] += torch.bincount(group[ok], minlength=len(self.counts))

    def total(self) -> list[int]:
        return [int(v) for v in self.counts.sum(0).cpu().tolist()]

    def by_group(self) -> list[list[int]]:
        return [[int(v) for v in row] for row in self.counts.cpu().tolist()]


def extrapolate(net, problem, inputs: torch.Tensor, targets: torch.Tensor,
                iters: Sequence[int] | int, *, modes: Sequence[str] = ("fixed",),
                verify: bool = False, batch_size: int | None = None,
                device: torch.device | None = None, amp: str = "off",
                on_batch: Callable[[int, int, ExtrapolationResult], None] | None = None,
                cancel: Callable[[], bool] | None = None,
                difficulty: Any = None,
                on_step: Callable[[float], None] | None = None,
                groups: tuple[list[str], torch.Tensor] | None = None,
                state: Any = None) -> ExtrapolationResult:
    """Score ``net`` on ``(inputs, targets)`` after each requested iteration.

    ``modes``: ``fixed`` (the prediction at that iteration) and/or ``max-conf`` (per sample,
    the prediction of its most confident iteration so far, as the reference's test_max_conf).
    ``batch_size`` None: chosen from the instance size (:func:`inference_batch_size`).
    ``on_step(fraction)`` is called after every iteration of every batch with the share of
    the work done, for progress that moves inside a batch.
    ``verify`` also counts predictions that pass the problem's stronger check. ``groups``
    (labels, one group id per sample) adds per-group counts, e.g. per rating band. With
    ``state`` (:class:`~dtcli.engine.resumable.ResumeState`) the position is written every few
    minutes and, when the state was loaded, the evaluation continues from it exactly.
    """
    unknown = set(modes) - set(MODES)
    if unknown:
        raise DtError(f"unknown mode {sorted(unknown)[0]!r}; choose from {', '.join(MODES)}")
    wanted = sorted(set(range(1, iters + 1) if isinstance(iters, int) else iters))
    if not wanted or wanted[0] < 1:
        raise DtError("extrapolation needs at least one iteration >= 1")
    last = wanted[-1]
    device = device or next(net.parameters()).device
    slot = {it: j for j, it in enumerate(wanted)}
    max_conf = "max-conf" in modes
    n_total = len(inputs)
    labels, group_ids = groups if groups is not None else (["all"], torch.zeros(n_total, dtype=torch.long))
    n_groups = len(labels)
    tallies = {"fixed": _Tally(n_groups, len(wanted), device)}
    if max_conf:
        tallies["max-conf"] = _Tally(n_groups, len(wanted), device)
    if verify:
        tallies["verified"] = _Tally(n_groups, len(wanted), device)
    group_totals = torch.zeros(n_groups, dtype=torch.long)

    net.eval()
    if batch_size is None and n_total:
        batch_size = inference_batch_size(net, inputs, device)
    done = 0
    resumed = state.loaded if state is not None else None
    if resumed is not None:
        saved, pos = resumed
        for mode in list(tallies):
            if f"tally.{mode}" in saved:
                tallies[mode].counts = saved[f"tally.{mode}"].to(device)
            else:  # the problem has no verify: dropped before the state was written
                del tallies[mode]
        group_totals = saved["group_totals"]
        done, batch_size = pos["done"], pos["batch_size"]
    with torch.inference_mode(), autocast(device, amp):
        for lo in range(0, n_total, batch_size):
            if resumed is not None and lo < resumed[1]["lo"]:
                continue  # counted before the state was written
            if cancel is not None and cancel():
                break
            x, y = batch_to(inputs[lo:lo + batch_size], targets[lo:lo + batch_size], device)
            g = group_ids[lo:lo + batch_size]
            start_iter, thought0 = 0, None
            best_conf = torch.full((len(x),), float("-inf"), device=device)
            best_ok = torch.zeros(len(x), dtype=torch.bool, device=device)
            if resumed is not None:  # the batch the state was written in: its totals are in
                saved, pos = resumed
                resumed = None
                start_iter = pos["i"]
                thought0 = like(saved["thought"], net.start(x))
                best_conf, best_ok = saved["best_conf"].to(device), saved["best_ok"].to(device)
            else:
                group_totals += torch.bincount(g, minlength=n_groups)
            g = g.to(device)
            prev = thought0  # the thought after iteration i - 1 (None before the first)
            for i, thought in net.iterate(x, last - start_iter, thought0, start_iter):
                # the state after iteration i - 1: its thought and every tally up to it
                if prev is not None and state is not None and (
                        state.due() or (cancel is not None and cancel())):
                    state.save({"thought": prev, "best_conf": best_conf, "best_ok": best_ok,
                                "group_totals": group_totals,
                                **{f"tally.{m}": t.counts for m, t in tallies.items()}},
                               {"lo": lo, "i": i - 1, "done": done, "batch_size": batch_size})
                    if cancel is not None and cancel():
                        return _result(wanted, done, tallies, difficulty, labels,
                                       group_totals, groups is not None)
                prev = thought
                if on_step is not None:
                    on_step((done + len(x) * i / last) / n_total)
                j = slot.get(i)
                if j is None and not max_conf:
                    continue  # the head only runs where its output is used
                logits = net.answer(thought)
                pred = problem.predict(logits, x)
                ok = problem.correct(pred, y)
                if max_conf:
                    conf = problem.confidence(logits, x).float()
                    better = conf >= best_conf  # ties go to the later iteration, as torch.cummax
                    best_conf = torch.where(better, conf, best_conf)
                    best_ok = torch.where(better, ok, best_ok)
                if j is None:
                    continue
                tallies["fixed"].add(j, ok, g)
                if max_conf:
                    tallies["max-conf"].add(j, best_ok, g)
                if "verified" in tallies:
                    v = problem.verify(pred, x, y)
                    if v is None:
                        del tallies["verified"]
                    else:
                        tallies["verified"].add(j, torch.as_tensor(v, device=device).bool(), g)
            done += len(x)
            if on_batch is not None:
                on_batch(done, n_total, _result(wanted, done, tallies, difficulty, labels,
                                                group_totals, groups is not None))
    return _result(wanted, done, tallies, difficulty, labels, group_totals, groups is not None)


def _result(wanted, total, tallies, difficulty, labels, group_totals, grouped) -> ExtrapolationResult:
    get = lambda m: tallies[m].total() if m in tallies else None  # noqa: E731
    res = ExtrapolationResult(iters=list(wanted), total=total, correct=get("fixed"),
                              max_conf_correct=get("max-conf"), verified=get("verified"),
                              difficulty=difficulty)
    if grouped:
        res.groups = {"labels": list(labels), "totals": [int(v) for v in group_totals.tolist()],
                      **{m: t.by_group() for m, t in tallies.items()}}
    return res
