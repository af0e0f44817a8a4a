"""The depth-study architectures: the paper's parameter counts, effective depth, weight tying."""

from __future__ import annotations

import pytest
import torch

from dtcli.api import Problem
from dtcli.contracts.errors import DtError

DEPTH_ARCHS = ["mlp", "recur-mlp", "convnet", "recur-convnet", "resnet", "recur-resnet",
               "resnet-bn", "recur-resnet-bn"]


class Images(Problem):
    name = "image-test"
    kind = "label"
    spatial_dims = 0

    def __init__(self, shape=(3, 32, 32), classes=10):
        super().__init__()
        self.input_shape, self.in_channels, self.num_classes = shape, shape[0], classes


def build(registry, arch, depth, width, shape=(3, 32, 32), classes=10, **opts):
    a = registry.arch(arch)
    return a.build(Images(shape, classes), width=width, max_iters=a.iterations_for(depth, 1),
                   depth=depth, **opts)


def count(registry, arch, depth, width, shape=(3, 32, 32)):
    with torch.device("meta"):  # no memory, no initialisation: just the shapes
        return build(registry, arch, depth, width, shape).num_parameters()


@pytest.mark.parametrize("depth", [7, 11, 15, 19])
def test_recurrent_resnet_has_12m_parameters_at_every_depth(registry, depth):
    n = count(registry, "recur-resnet", depth, 512)
    assert n == 11_815_434 and abs(n - 12e6) / 12e6 < 0.03


def test_feed_forward_resnet_depth_15_has_31m_parameters(registry):
    n = count(registry, "resnet", 15, 512)
    assert n == 30_689_802 and abs(n - 31e6) / 31e6 < 0.03
    assert count(registry, "resnet", 7, 512) == count(registry, "recur-resnet", 7, 512)


def test_other_families_parameter_counts(registry):
    assert count(registry, "recur-convnet", 8, 64) == count(registry, "convnet", 4, 64) == 135_306
    assert count(registry, "convnet", 8, 64) == 135_306 + 4 * (64 * 64 * 9 + 64)
    assert count(registry, "recur-mlp", 7, 200) == 3072 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10
    assert count(registry, "mlp", 7, 200) == count(registry, "recur-mlp", 7, 200) + 4 * (200 * 200 + 200)
    # one set of four BatchNorms (weight and bias) per iteration, shared convs
    assert count(registry, "recur-resnet-bn", 11, 512) - count(registry, "recur-resnet", 11, 512) \
        == 2 * 512 + 2 * 4 * 2 * 512 + 2 * 512


@pytest.mark.parametrize("arch", DEPTH_ARCHS)
def test_effective_depth_matches_the_requested_depth(registry, arch):
    a = registry.arch(arch)
    for depth in a.default_depths:
        net = build(registry, arch, depth, 8, shape=(1, 8, 8))
        assert net.effective_depth(a.iterations_for(depth, 1)) == depth
    assert a.family in ("mlp", "convnet", "resnet", "resnet-bn") and a.kinds == {"label"}


def test_iterations_for_depth(registry):
    assert registry.arch("recur-resnet").iterations_for(19, 1) == 4
    assert registry.arch("convnet").iterations_for(4, 9) == 1
    assert registry.arch("convnet").iterations_for(None, 9) == 9
    assert registry.arch("mlp").iterations_for(7, 1) == 5
    with pytest.raises(DtError, match="3 \\+ 4·iterations; 9 is not one of them"):
        registry.arch("resnet").iterations_for(9, 1)
    with pytest.raises(DtError, match="not one of them"):
        registry.arch("recur-convnet").iterations_for(3, 1)


@pytest.mark.parametrize("arch", DEPTH_ARCHS)
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
def test_shapes_and_streaming_equals_forward(registry, arch, shape):
    torch.manual_seed(0)
    depth = registry.arch(arch).default_depths[1]
    net = build(registry, arch, depth, 8, shape=shape, classes=7).eval()
    iters = registry.arch(arch).iterations_for(depth, 1)
    x = torch.randn(2, *shape)
    logits, _ = net(x, iters)
    assert logits.shape == (2, 7)
    steps = list(net.iterate(x, iters))
    assert [i for i, _ in steps] == list(range(1, iters + 1))
    assert torch.allclose(net.answer(steps[-1][1]), logits, atol=1e-6)


def test_twins_differ_only_in_weight_tying(registry):
    rec = build(registry, "recur-convnet", 8, 8)
    ff = build(registry, "convnet", 8, 8)
    assert rec.recurrent and rec.max_depth is None and not ff.recurrent and ff.max_depth == 5
    rec_names = {n.replace("recur_block", "B") for n, _ in rec.named_parameters()}
    ff_names = {n.split(".", 2)[-1] if n.startswith("blocks.") else n for n, _ in ff.named_parameters()}
    assert {n.replace("B.", "") for n in rec_names} == ff_names
    with pytest.raises(DtError, match="at most 5 iterations"):
        ff(torch.randn(1, 3, 32, 32), 6)
    rec(torch.randn(1, 3, 32, 32), 12)  # a recurrent net thinks longer


def test_recurrent_resnet_bn_uses_the_norms_of_each_iteration(registry):
    torch.manual_seed(0)
    net = build(registry, "recur-resnet-bn", 11, 8, shape=(1, 8, 8)).eval()
    x = torch.randn(2, 1, 8, 8)
    first = net(x, 1)[0]
    both = net(x, 2)[0]
    with torch.no_grad():
        net.norms[1][0].bias.add_(1.0)  # iteration 2's first norm
    assert torch.allclose(net(x, 1)[0], first) and not torch.allclose(net(x, 2)[0], both)
    net(x, 5)  # beyond its iterations it re-uses the last norms


def test_dilation_option(registry):
    net = build(registry, "recur-resnet", 7, 8, dilation=2)
    conv = net.recur_block.layers[0].conv1
    assert conv.dilation == (2, 2) and conv.padding == (2, 2)
    assert net(torch.randn(1, 3, 32, 32), 1)[0].shape == (1, 10)
    assert [o.name for o in registry.arch("convnet").options] == ["dilation"]
    assert registry.arch("mlp").options == ()


def test_depth_archs_refuse_other_problems(registry):
    assert "label" in registry.arch("resnet").supports(registry.problem("mazes"))
    with pytest.raises(DtError, match="image size"):
        class NoShape(Problem):
            name = "noshape"
            kind = "label"
            spatial_dims = 0
        registry.arch("mlp").build(NoShape(), width=4, max_iters=1)
