"""The DT-family architectures: reference parameter counts, shapes, iteration semantics."""

from __future__ import annotations

import pytest
import torch

from dtcli.api import Problem
from dtcli.contracts.errors import DtError


class Grid(Problem):
    name = "grid-test"
    kind = "grid"
    spatial_dims = 2
    in_channels = 3


@pytest.mark.parametrize("arch,width,problem,expected", [
    ("dt", 400, "prefix-sums", 2_642_400),
    ("dt-recall", 400, "prefix-sums", 3_123_600),
    ("dt", 128, "grid", 632_592),
    ("dt-recall", 128, "grid", 783_504),
])
def test_reference_parameter_counts(registry, arch, width, problem, expected):
    p = registry.problem("prefix-sums") if problem == "prefix-sums" else Grid()
    net = registry.arch(arch).build(p, width=width, max_iters=30)
    assert net.num_parameters() == expected


def test_recall_relu_follows_the_reference_and_is_recorded(registry):
    seq = registry.arch("dt-recall").build(registry.problem("prefix-sums"), width=8, max_iters=3)
    grid = registry.arch("dt-recall").build(Grid(), width=8, max_iters=3)
    assert seq.config["recall_relu"] == "on" and isinstance(seq.recur_block[1], torch.nn.ReLU)
    assert grid.config["recall_relu"] == "off" and len(grid.recur_block) == 2
    forced = registry.arch("dt-recall").build(Grid(), width=8, max_iters=3, recall_relu="on")
    assert isinstance(forced.recur_block[1], torch.nn.ReLU)


@pytest.mark.parametrize("arch", ["dt", "dt-recall", "ff", "ff-recall"])
def test_shapes_and_streaming_equals_forward(registry, arch):
    torch.manual_seed(0)
    for problem, x in ((registry.problem("prefix-sums"), torch.rand(3, 1, 10)),
                       (Grid(), torch.rand(2, 3, 7, 7))):
        net = registry.arch(arch).build(problem, width=8, max_iters=5).eval()
        logits, thought = net(x, 5)
        assert logits.shape == (len(x), 2, *x.shape[2:])
        steps = list(net.iterate(x, 5))
        assert [i for i, _ in steps] == [1, 2, 3, 4, 5]
        assert torch.allclose(net.answer(steps[-1][1]), logits)
        # continuing from a thought is the same as thinking in one go
        _, mid = net(x, 2)
        resumed, _ = net(x, 3, thought=mid, start_iter=2)
        assert torch.allclose(resumed, logits, atol=1e-6)


def test_feed_forward_refuses_to_think_longer(registry):
    net = registry.arch("ff").build(registry.problem("prefix-sums"), width=4, max_iters=3)
    assert net.max_depth == 3 and not net.recurrent
    with pytest.raises(DtError, match="at most 3 iterations"):
        net(torch.rand(1, 1, 5), 4)
    dt = registry.arch("dt").build(registry.problem("prefix-sums"), width=4, max_iters=3)
    assert dt.max_depth is None
    dt(torch.rand(1, 1, 5), 10)


def test_effective_depth(registry):
    p = registry.problem("prefix-sums")
    assert registry.arch("dt").build(p, width=4, max_iters=30).effective_depth(30) == 1 + 4 * 30 + 3
    assert registry.arch("dt-recall").build(p, width=4, max_iters=30).effective_depth(10) == 1 + 5 * 10 + 3


def test_iterations_for_effective_depth(registry):
    assert registry.arch("dt").iterations_for(124, 5) == 30
    assert registry.arch("dt-recall").iterations_for(154, 5) == 30
    assert registry.arch("dt").iterations_for(None, 7) == 7
    with pytest.raises(DtError, match="not one of them"):
        registry.arch("dt").iterations_for(10, 5)


@pytest.mark.parametrize("arch, problem", [("dt-recall", "prefix-sums"), ("dt", "mazes"),
                                           ("ff-recall", "mazes")])
def test_reference_iteration_matches_dts_own(registry, arch, problem):
    """The iteration the DT family offers `dt bench --baseline reference` computes what dt's
    own think computes on the same weights (it differs only in how: concatenation, out of
    place); an architecture without one is refused in one line."""
    from dtcli.contracts.errors import DtError
    from dtcli.engine.baseline import reference_copy, reference_forward

    torch.manual_seed(0)
    p = registry.problem(problem)
    net = registry.arch(arch).build(p, width=6, max_iters=3).eval()
    x, _ = p.generate(p.parse_difficulty(p.default_train_difficulty), 2, seed=0)
    ref = reference_copy(net, registry.arch(arch)).eval()
    with torch.no_grad():
        logits, _ = net(x.float(), 3)
        _, last, _ = reference_forward(ref, x.float(), 3)
    assert torch.allclose(logits, last, atol=1e-5)
    with pytest.raises(DtError, match="reference"):
        reference_copy(net, registry.arch("dt-l"))
