"""Engine pieces: streaming extrapolation vs a naive computation, progressive loss, schedules, solve."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch

from dtcli.config import TrainConfig
from dtcli.contracts.errors import DtError
from dtcli.engine.extrapolate import extrapolate, parse_iters
from dtcli.engine.optim import lr_factor
from dtcli.engine.progressive import draw_nk, progressive_loss, sample_nk
from dtcli.engine.solve import solve


def naive_all_outputs(net, problem, x, y, iters):
    """The reference's way: keep every iteration's logits, then score (fixed and max-conf)."""
    with torch.no_grad():
        outs = []
        thought = net.start(x)
        for _, thought in net.iterate(x, iters, thought):
            outs.append(net.answer(thought))
        all_outputs = torch.stack(outs, 1)  # batch x iters x classes x L
    corrects = torch.stack([problem.correct(problem.predict(all_outputs[:, i], x), y)
                            for i in range(iters)])  # iters x batch
    conf = torch.stack([problem.confidence(all_outputs[:, i], x) for i in range(iters)])
    best_idx = torch.cummax(conf, dim=0)[1]
    max_conf = corrects[best_idx, torch.arange(len(x))]
    return corrects.sum(1).tolist(), max_conf.sum(1).tolist()


@pytest.fixture
def small_net(registry):
    torch.manual_seed(0)
    problem = registry.problem("prefix-sums")
    net = registry.arch("dt-recall").build(problem, width=6, max_iters=4).eval()
    # make some predictions right and some wrong at different iterations
    x, y = problem.dataset("test", 3, 8, seed=0)
    return net, problem, x, y


def test_streaming_matches_naive(small_net):
    net, problem, x, y = small_net
    fixed, max_conf = naive_all_outputs(net, problem, x, y, 12)
    res = extrapolate(net, problem, x, y, 12, modes=("fixed", "max-conf"), batch_size=3)
    assert res.correct == fixed
    assert res.max_conf_correct == max_conf
    assert res.total == len(x)
    sparse = extrapolate(net, problem, x, y, [3, 7, 12], modes=("fixed", "max-conf"), batch_size=5)
    assert sparse.correct == [fixed[2], fixed[6], fixed[11]]
    assert sparse.max_conf_correct == [max_conf[2], max_conf[6], max_conf[11]]


def test_trained_like_net_streaming_matches_naive(tiny_run):
    from dtcli.engine.model import load_model

    loaded = load_model(tiny_run)
    x, y = loaded.problem.dataset("test", 12, 40, seed=5)
    fixed, max_conf = naive_all_outputs(loaded.net, loaded.problem, x, y, 20)
    res = extrapolate(loaded.net, loaded.problem, x, y, 20, modes=("fixed", "max-conf"), batch_size=16)
    assert (res.correct, res.max_conf_correct) == (fixed, max_conf)


def test_parse_iters():
    assert parse_iters("1:5") == [1, 2, 3, 4, 5]
    assert parse_iters("1:10:4") == [1, 5, 9, 10]
    assert parse_iters("10,30") == [10, 30]
    assert parse_iters("3") == [1, 2, 3]
    for bad in ("0:3", "a:b", "1:2:0", "", "30,10,10", "3,1,2"):
        with pytest.raises(DtError):
            parse_iters(bad)


def test_sample_nk_ranges_and_uniform_sum():
    rng = random.Random(0)
    for how in ("reference", "uniform-sum"):
        for _ in range(2000):
            n, k = sample_nk(10, rng, how)
            assert 0 <= n < 10 and 1 <= k <= 10 - n
    sums_ref = Counter(sum(sample_nk(10, rng, "reference")) for _ in range(20000))
    sums_uni = Counter(sum(sample_nk(10, rng, "uniform-sum")) for _ in range(20000))
    assert sums_ref[10] > 2.5 * sums_ref[1]  # the reference's skew (its issue #10)
    assert max(sums_uni.values()) < 1.15 * min(sums_uni.values())


class CountingNet(torch.nn.Module):
    """Wrap a net and count iterations run with and without gradients."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.calls = Counter()

    def start(self, x):
        return self.net.start(x)

    def answer(self, t):
        self.calls["answer"] += 1
        return self.net.answer(t)

    def iterate(self, x, iters, thought=None, start_iter=0):
        for i, t in self.net.iterate(x, iters, thought, start_iter):
            self.calls["grad" if torch.is_grad_enabled() else "nograd"] += 1
            yield i, t

    def forward(self, x, iters, thought=None, start_iter=0):
        t = self.start(x) if thought is None else thought
        for _, t in self.iterate(x, iters, t, start_iter):
            pass
        return self.answer(t), t


def test_progressive_loss_skips_useless_work(small_net):
    net, problem, x, y = small_net
    net.train()
    for alpha, check in ((1.0, lambda c, n, k: c["grad"] == k and c["nograd"] == n),
                         (0.0, lambda c, n, k: c["grad"] == 4 and c["nograd"] == 0),
                         (0.5, lambda c, n, k: c["grad"] == 4 + k and c["nograd"] == 0)):
        counting = CountingNet(net)
        n, k = draw_nk(alpha, 4, random.Random(3))
        out = progressive_loss(counting, problem, x, y, alpha=alpha, max_iters=4, nk=(n, k))
        assert check(counting.calls, n, k), (alpha, counting.calls, n, k)
        assert counting.calls["answer"] == (1 if alpha in (0.0, 1.0) else 2)
        out.loss.backward()
        assert torch.isfinite(out.loss)


def test_lr_schedule_warmup_and_decay():
    cfg = TrainConfig(problem="p", arch="a", epochs=10, warmup_epochs=2, warmup_shape="linear",
                      lr_decay="step", lr_milestones=[5, 8], lr_factor=0.1)
    f = lr_factor(cfg, steps_per_epoch=10)
    assert f(0) == pytest.approx(0.05) and f(19) == 1.0 and f(25) == 1.0
    assert f(50) == pytest.approx(0.1) and f(85) == pytest.approx(0.01)
    cfg.warmup_shape, cfg.lr_decay = "exp", "cosine"
    f = lr_factor(cfg, steps_per_epoch=10)
    assert 0 < f(0) < 0.1 and f(99) < 0.01


def test_solve_frames_agree_with_extrapolation(tiny_run):
    from dtcli.engine.model import load_model

    loaded = load_model(tiny_run)
    x, y = loaded.problem.dataset("test", 12, 1, seed=0)
    frames = list(solve(loaded.net, loaded.problem, x[0], 10, target=y[0]))
    assert [f.iteration for f in frames] == list(range(1, 11))
    res = extrapolate(loaded.net, loaded.problem, x, y, 10)
    assert [int(f.correct) for f in frames] == res.correct
    assert all(0 <= f.changed <= 1 for f in frames)
    assert all(0.5 <= f.mean_confidence <= 1.0 for f in frames)


def naive_halting(net, problem, x, y, iters, patience):
    """Per instance: the answer at min(t, the iteration its prediction had been stable K times)."""
    with torch.no_grad():
        preds = []
        thought = net.start(x)
        for _, thought in net.iterate(x, iters, thought):
            preds.append(problem.predict(net.answer(thought), x))
    counts = [0] * iters
    for s in range(len(x)):
        stable, halt = 0, iters
        for i in range(1, iters):
            stable = stable + 1 if torch.equal(preds[i][s], preds[i - 1][s]) else 0
            if stable >= patience and i + 1 < iters:
                halt = i + 1
                break
        for t in range(iters):
            p = preds[min(t + 1, halt) - 1][s]
            counts[t] += int(torch.equal(p, y[s]))
    return counts


def test_halting_matches_naive_and_saves_compute(tiny_run):
    from dtcli.engine.halting import extrapolate_halting
    from dtcli.engine.model import load_model

    loaded = load_model(tiny_run)
    x, y = loaded.problem.dataset("test", 12, 30, seed=2)
    for patience in (1, 3):
        res = extrapolate_halting(loaded.net, loaded.problem, x, y, 15, patience=patience,
                                  batch_size=7)
        assert res.correct == naive_halting(loaded.net, loaded.problem, x, y, 15, patience)
        assert 0.0 < res.extra["compute_saved"] < 1.0
    never = extrapolate_halting(loaded.net, loaded.problem, x, y, 15, patience=100)
    assert never.correct == extrapolate(loaded.net, loaded.problem, x, y, 15).correct
    assert never.extra["compute_saved"] == 0.0


def test_convergence_halting_stops_a_contractive_net(registry):
    """--mode halt's tolerance rule on a DT-L net (a contraction: its thought converges)."""
    from dtcli.engine.halting import extrapolate_halting

    p = registry.problem("prefix-sums")
    torch.manual_seed(0)
    net = registry.arch("dt-l").build(p, width=8, max_iters=4).eval()
    x, y = p.dataset("test", 12, 8, seed=0)
    res = extrapolate_halting(net, p, x, y, 300, tolerance=1e-3)
    assert res.extra["tolerance"] == 1e-3 and res.extra["compute_saved"] > 0.5
    assert res.extra["mean_halt_iteration"] < 150


def test_group_counts_add_up(small_net):
    net, problem, x, y = small_net
    ids = torch.tensor([0, 1, 0, 1, 1, 0, 2, 2])
    res = extrapolate(net, problem, x, y, 6, modes=("fixed", "max-conf"),
                      groups=(["a", "b", "c"], ids), batch_size=3)
    assert res.groups["totals"] == [3, 3, 2]
    for mode in ("fixed", "max-conf"):
        per_group = res.groups[mode]
        assert [sum(col) for col in zip(*per_group)] == res.counts(mode)
    plain = extrapolate(net, problem, x[ids == 2], y[ids == 2], 6)
    assert res.groups["fixed"][2] == plain.correct


def test_the_allocator_keeps_freed_memory_unless_told_not_to(monkeypatch):
    """On Linux (glibc) every compute path keeps freed memory in the process; DT_MALLOC=default
    leaves glibc's settings; elsewhere it does nothing."""
    import sys

    from dtcli.engine import allocator

    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setenv("DT_MALLOC", "default")
    assert allocator.keep_freed_memory() is False
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.delenv("DT_MALLOC")
    assert allocator.keep_freed_memory() is (sys.platform == "linux")
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False
