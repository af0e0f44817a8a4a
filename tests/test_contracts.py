"""The fields and hooks the contracts declare, one test each: Architecture.iterations_for sees
the architecture options, Architecture.default_depths, IterativeNet.spatial_dims,
Problem.input_shape and Problem.make_data (the one data hook that dataset() wraps)."""

from __future__ import annotations

import pytest
import torch

from dtcli.contracts.errors import DtError
from dtcli.contracts.problem import Problem, split_seed


def test_iterations_for_counts_the_blocks_an_option_asks_for(registry):
    """A DT-recall net with blocks=3 has 2·3 + 1 = 7 layers per iteration: depth 4 + 7·k."""
    arch = registry.arch("dt-recall")
    assert arch.iterations_for(4 + 5 * 6, 1) == 6  # two blocks (the default): 5 a iteration
    assert arch.iterations_for(4 + 7 * 6, 1, {"blocks": "3"}) == 6
    with pytest.raises(DtError, match="4 \\+ 7"):
        arch.iterations_for(4 + 5 * 6, 1, {"blocks": 3})


def test_a_resolved_recipe_and_a_depth_study_size_blocks_3_by_it(registry, tmp_path):
    from dtcli.experiments.depth import plan_study, run_specs
    from dtcli.experiments.recipe import resolve_config

    cfg = resolve_config("prefix-sums", "dt", "quick", {}, {"blocks": "3"}, {"depth": 4 + 6 * 5})
    assert cfg.max_iters == 5
    from dtcli.factory import build_net

    _, net = build_net(registry, cfg)
    assert net.effective_depth(cfg.max_iters) == 4 + 6 * 5
    plan = plan_study("prefix-sums", "dt", depths=[16, 28], seeds=[0], out=tmp_path,
                      arch_options={"blocks": "3"}, archs=["dt"])
    assert [s.iterations for s in run_specs(plan, registry)] == [2, 4]


def test_default_depths_is_declared_and_read(registry):
    from dtcli.contracts.arch import Architecture
    from dtcli.experiments.depth import default_depths

    assert Architecture.default_depths == ()
    convnet = registry.arch("recur-convnet")
    assert convnet.default_depths and default_depths(convnet) == list(convnet.default_depths)
    # an architecture declaring none gets its first valid depths
    assert default_depths(registry.arch("dt")) == [8, 12, 16, 20]


@pytest.mark.parametrize("problem, dims", [("prefix-sums", 1), ("mazes", 2)])
def test_spatial_dims_is_declared_and_picks_the_layout(registry, problem, dims):
    from dtcli.engine.device import prepare
    from dtcli.factory import create_net

    _, net = create_net(problem, "dt-recall", width=4, max_iters=2, registry=registry)
    assert net.spatial_dims == dims
    net = prepare(net, torch.device("cpu"))
    weight = net.projection[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last) == (dims == 2)


def test_input_shape_is_declared_and_depth_nets_need_it(registry):
    assert registry.problem("prefix-sums").input_shape is None
    digits = registry.problem("images", {"dataset": "digits"})
    assert digits.input_shape == (1, 8, 8)
    with pytest.raises(DtError, match="image size"):
        registry.arch("convnet").build(registry.problem("mazes"), width=4, max_iters=1, depth=4)


class _Counting(Problem):
    """A problem bringing its own data with an extra per instance, counting its makes."""

    name = "counting"
    summary = "test problem"
    default_train_difficulty = default_test_difficulty = "4"

    def __init__(self, **options):
        super().__init__(**options)
        self.calls: list[tuple] = []

    def make_data(self, split, difficulty, count, seed):
        self.calls.append((split, count, seed))
        g = torch.Generator().manual_seed(seed)
        x = torch.randint(0, 2, (count, 1, int(difficulty)), generator=g)
        return {"inputs": x, "targets": x.clone(), "tag": torch.full((count,), seed)}


def test_make_data_is_wrapped_with_split_seeds_checks_and_caching():
    p = _Counting()
    x, _ = p.dataset("train", 4, 20, seed=3)
    assert p.calls == [("train", 20, split_seed(3, "train"))]
    record = p.data_record("train", 4, 20, seed=3)  # the same arguments: kept in memory
    assert p.calls == [("train", 20, split_seed(3, "train"))] and record["tag"][0] == split_seed(3, "train")
    fresh = _Counting()  # a new instance reads dt's disk cache instead of making it again
    assert torch.equal(fresh.dataset("train", 4, 20, seed=3)[0], x) and fresh.calls == []
    test_x, _ = p.dataset("test", 4, 20, seed=3)  # its own stream: not the training draw
    assert p.calls[-1] == ("test", 20, split_seed(3, "test")) and not torch.equal(test_x, x)
    with pytest.raises(DtError, match="count must be positive"):
        p.dataset("train", 4, 0, seed=0)
    with pytest.raises(ValueError, match="split"):
        p.dataset("valid", 4, 5, seed=0)


def test_instance_extras_reach_render_through_one_record():
    """A data set's per-instance extras (make_data's record) reach render as extras=, for a
    render that takes them; an older render without the parameter still draws."""
    from dtcli.contracts.instances import Instance, dataset_instance, draw, read_instance

    class Tagged(_Counting):
        seen: list = []

        def render(self, inputs, prediction=None, target=None, confidence=None,
                   probabilities=None, extras=None):
            Tagged.seen.append(extras)
            return "drawn"

        def parse_instance(self, text):
            x = torch.tensor([[int(c) for c in text]])
            return Instance(x, x.clone(), {"tag": -1})

    class Old(_Counting):
        def render(self, inputs, prediction=None, target=None, confidence=None,
                   probabilities=None):
            return "old"

    p = Tagged()
    inst = dataset_instance(p, "test", 4, 20, 5, index=3)
    assert inst.extras == {"tag": split_seed(5, "test")} and torch.equal(
        inst.inputs, p.dataset("test", 4, 20, 5)[0][3])
    assert draw(p, inst.inputs, extras=inst.extras) == "drawn" and Tagged.seen[-1] == inst.extras
    typed = read_instance(p, "0110")
    assert typed.extras == {"tag": -1} and torch.equal(typed.target, typed.inputs)
    assert draw(Old(), inst.inputs, extras=inst.extras, fit=(10, 10)) == "old"


def test_architecture_preset_lies_over_the_problems(cli, registry, monkeypatch):
    """An architecture from another plugin than the problem's brings its own recipe: its
    preset values win over the problem's preset, flags still win over both."""
    import json

    arch = registry.arch("dt-recall")
    monkeypatch.setattr(type(arch), "preset", lambda self, problem, name:
                        {"lr": 0.0123, "width": 24, "arch_options": {"blocks": 3}}
                        if (problem, name) == ("prefix-sums", "quick") else {})
    doc = json.loads(cli("train", "prefix-sums", "--arch", "dt-recall", "--preset", "quick",
                         "--width", "16", "--dry-run", "--json").stdout)
    assert doc["config"]["lr"] == 0.0123 and doc["sources"]["lr"] == "preset quick"
    assert doc["config"]["width"] == 16  # the flag
    assert doc["config"]["arch_options"] == {"blocks": 3}
    flagged = json.loads(cli("train", "prefix-sums", "--arch", "dt-recall", "--preset", "quick",
                             "--arch-option", "blocks=1", "--dry-run", "--json").stdout)
    assert flagged["config"]["arch_options"] == {"blocks": "1"}  # as typed; checked at build
    listed = {a["name"]: a for a in json.loads(cli("list", "archs", "--json").stdout)}
    assert listed["dt-recall"]["recipes"] == {"prefix-sums": {"quick": {
        "lr": 0.0123, "width": 24, "arch_options": {"blocks": 3}}}}
    assert "own recipe for: prefix-sums (quick)" in cli("list", "archs", "-v").stdout
    assert "with --arch dt-recall (its own recipe): lr=0.0123" in cli("list", "presets",
                                                                     "prefix-sums").stdout
    other = json.loads(cli("train", "mazes", "--arch", "dt-recall", "--preset", "quick",
                           "--dry-run", "--json").stdout)
    assert other["config"]["lr"] != 0.0123
