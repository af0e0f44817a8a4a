"""The ``nca`` architecture: conformance, the net's semantics (do-nothing start, perception,
deterministic evaluation of stochastic updates), its preset, and everywhere a DT net goes
through the CLI (train, exact resume, test in fixed and halting modes, solve, the analyses)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from dtcli.testing import check_architecture

#: a tiny maze run: seconds on one thread (the quick preset fills in the rest)
TINY = ["--width", "4", "--max-iters", "4", "--epochs", "2", "--batch-size", "10",
        "--train-count", "40", "--test-count", "6", "--test-iters", "8",
        "--train-difficulty", "5", "--test-difficulty", "7", "--seed", "1"]


def nca(registry):
    return registry.arch("nca")


def mazes(registry):
    return registry.problem("mazes")


def with_options(arch, **options):
    """The architecture with some options fixed, for the conformance kit (which builds with
    the defaults)."""
    base = type(arch)

    class Fixed(base):
        def build(self, problem, **kw):
            return base.build(self, problem, **{**options, **kw})

    return Fixed()


@pytest.mark.parametrize("options", [{}, {"perception": "depthwise"},
                                     {"perception": "full", "start": "zeros"},
                                     {"fire_rate": 0.5, "hidden": 8}])
def test_conformance_kit(registry, options):
    check_architecture(with_options(nca(registry), **options), mazes(registry))


def test_conformance_kit_finds_a_problem_itself(registry):
    check_architecture(nca(registry))


def test_parameter_count_and_metadata(registry):
    arch, p = nca(registry), mazes(registry)
    net = arch.build(p, width=16, max_iters=48)
    # projection 3*16+16, MLP (4*16+3)*128+128 and 128*16, head 16*2+2
    assert net.num_parameters() == 10_850
    assert net.recurrent and net.max_depth is None and net.spatial_dims == 2
    assert net.effective_depth(48) == 1 + 2 * 48 + 1
    zeros = arch.build(p, width=16, max_iters=48, start="zeros")
    assert zeros.num_parameters() == 10_850 - 64 and zeros.effective_depth(10) == 21
    assert arch.build(p, width=16, max_iters=48, perception="full").num_parameters() == \
        10_850 + 16 * 64 * 9
    assert arch.supports(registry.problem("prefix-sums")) is not None
    assert {o.name for o in arch.options} == {"perception", "hidden", "fire_rate", "start"}


def test_fixed_filters_are_not_parameters_nor_saved_and_the_rule_starts_at_rest(registry):
    net = nca(registry).build(mazes(registry), width=3, max_iters=2).eval()
    assert "filters" not in net.state_dict()
    assert all(p is not net.filters for p in net.parameters())
    # the filters: the identity is the thought itself, then Sobel x, Sobel y, Laplacian
    thought = torch.zeros(1, 3, 5, 5)
    thought[0, 1, 2, 2] = 1.0
    seen = net.perceive_state(thought)
    assert torch.equal(seen[:, :3], thought)
    lap = seen[0, 3 + 3 * 1 + 2]  # channel 1's Laplacian
    assert lap[2, 2] == -4 and lap[1, 2] == lap[2, 1] == 1 and lap[1, 1] == 0
    # a zero-initialised last layer: at init, thinking changes nothing
    x = torch.rand(2, 3, 7, 7)
    start = net.start(x)
    assert torch.equal(net.think(start, net.encode_input(x), 0), start)
    assert torch.equal(net.think(start, x, 0), start)  # the raw input is accepted too
    again = nca(registry).build(mazes(registry), **net.config)
    again.load_state_dict(net.state_dict())  # strict: the config rebuilds everything else


def perturbed(net):
    torch.manual_seed(3)
    with torch.no_grad():
        net.dense_out.weight.normal_(0, 0.1)
    return net


def test_streaming_equals_forward_and_thinking_continues(registry):
    for options in ({}, {"perception": "depthwise", "start": "zeros"}):
        net = perturbed(nca(registry).build(mazes(registry), width=6, max_iters=4, **options))
        net.eval()
        x = torch.rand(3, 3, 9, 9)
        logits, thought = net(x, 6)
        assert logits.shape == (3, 2, 9, 9) and thought.shape == (3, 6, 9, 9)
        steps = list(net.iterate(x, 6))
        assert [i for i, _ in steps] == [1, 2, 3, 4, 5, 6]
        assert torch.allclose(net.answer(steps[-1][1]), logits)
        _, mid = net(x, 2)
        resumed, _ = net(x, 4, thought=mid, start_iter=2)
        assert torch.allclose(resumed, logits, atol=1e-6)


def test_stochastic_updates_in_training_deterministic_expected_update_in_eval(registry):
    net = perturbed(nca(registry).build(mazes(registry), width=6, max_iters=4, fire_rate=0.5))
    x = torch.rand(2, 3, 9, 9)
    thought = net.start(x)
    net.train()
    torch.manual_seed(0)
    a = net.think(thought, x, 0)
    b = net.think(thought, x, 0)
    torch.manual_seed(0)
    assert not torch.equal(a, b) and torch.equal(net.think(thought, x, 0), a)  # seeded
    # a cell either takes its whole update or none of it, all its channels alike
    full = perturbed(nca(registry).build(mazes(registry), width=6, max_iters=4)).train()
    full.load_state_dict(net.state_dict())
    delta = full.think(thought, x, 0) - thought
    moved = (a - thought).abs().sum(1) > 0
    assert 0 < moved.float().mean() < 1
    assert torch.allclose((a - thought)[moved.unsqueeze(1).expand_as(a)],
                          delta[moved.unsqueeze(1).expand_as(a)], atol=1e-6)
    net.eval()
    with torch.no_grad():
        e1, e2 = net(x, 5), net(x, 5)
        assert torch.equal(e1[0], e2[0])
        assert torch.allclose(net.think(thought, x, 0), thought + 0.5 * delta, atol=1e-6)


def one_line_error(result, needle):
    """dt's user error: exit 2, one line on stderr naming ``needle``, no traceback."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1, (result.exit_code, result.output)
    assert lines[0].startswith("error:") and needle in lines[0], lines[0]


def test_build_refuses_bad_options_in_one_line(cli):
    one_line_error(cli("train", "mazes", "--arch", "nca", "--arch-option", "fire_rate=0",
                       *TINY, "--dry-run"), "fire_rate")
    one_line_error(cli("train", "mazes", "--arch", "nca", "--arch-option", "perception=x",
                       *TINY, "--dry-run"), "perception")
    one_line_error(cli("train", "prefix-sums", "--arch", "nca", "--dry-run"), "grid")


def test_the_preset_is_the_ncas_over_the_problems(cli):
    doc = json.loads(cli("train", "mazes", "--arch", "nca", "--preset", "quick",
                         "--dry-run", "--json").stdout)
    cfg, sources = doc["config"], doc["sources"]
    assert (cfg["width"], cfg["max_iters"], cfg["lr"]) == (16, 48, 2e-3)
    assert sources["max_iters"] == "preset quick"
    assert cfg["problem_options"]["layout"] == "compact" and cfg["alpha"] == 1.0  # the problem's
    flag = json.loads(cli("train", "mazes", "--arch", "nca", "--preset", "quick", "--width", "8",
                          "--dry-run", "--json").stdout)
    assert flag["config"]["width"] == 8  # flags still win
    paper = json.loads(cli("train", "mazes", "--arch", "nca", "--preset", "paper",
                           "--dry-run", "--json").stdout)["config"]
    assert (paper["width"], paper["max_iters"]) == (16, 96)
    assert paper["problem_options"]["layout"] == "e2h"


def test_train_test_solve_and_analyses_through_the_cli(cli, tmp_path):
    run = tmp_path / "run"
    result = cli("train", "mazes", "--arch", "nca", *TINY, "--out", run,
                 "--arch-option", "fire_rate=0.5", "--arch-option", "hidden=16")
    assert result.exit_code == 0, result.output
    doc = json.loads((run / "config.json").read_text())
    assert doc["status"] == "finished" and doc["model"]["build"]["fire_rate"] == 0.5
    assert doc["model"]["parameters"] == sum(t.numel() for t in load_file(run / "best.safetensors").values())

    res = json.loads(cli("test", run, "-d", "7", "--iters", "1:12", "--count", "6",
                         "--mode", "fixed", "--mode", "max-conf", "--json").stdout)
    assert res["iters"] == list(range(1, 13)) and len(res["max-conf"]["accuracy"]) == 12
    again = json.loads(cli("test", run, "-d", "7", "--iters", "1:12", "--count", "6",
                           "--mode", "fixed", "--json").stdout)
    assert again["fixed"] == res["fixed"]  # evaluation is deterministic despite fire_rate 0.5
    halted = json.loads(cli("test", run, "-d", "7", "--iters", "1:12", "--count", "6",
                            "--mode", "halt", "-k", "2", "--json").stdout)
    assert len(halted["halt"]["accuracy"]) == 12 and 0 <= halted["halt"]["compute_saved"] < 1

    frames = json.loads(cli("solve", run, "-d", "7", "--iters", "5", "--json").stdout)["frames"]
    assert [f["iteration"] for f in frames] == [1, 2, 3, 4, 5]
    halt = cli("solve", run, "-d", "7", "--iters", "30", "--halt", "-k", "3", "--json")
    assert halt.exit_code == 0, halt.output

    stab = cli("analyze", "stability", run, "-d", "7", "--iters", "10", "--count", "4",
               "--lipschitz-points", "2", "--lipschitz-count", "2", "--power-steps", "2", "--json")
    assert stab.exit_code == 0, stab.output
    stab = json.loads(stab.stdout)
    assert len(stab["change"]) == 10 and all(v > 0 for v in stab["lipschitz"]["mean"])
    pi = cli("analyze", "path-independence", run, "-d", "7", "--iters", "10", "--count", "4",
             "--starts", "2", "--json")
    assert pi.exit_code == 0, pi.output
    (row,) = json.loads(pi.stdout)["models"]
    assert row["iters"] == 10 and len(row["aa"]) == 4


def strip_times(rows):
    return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in rows]


def test_killed_training_resumes_exactly_through_the_cli(cli, tmp_path):
    """A run cancelled mid-epoch (stochastic cell updates on: torch's RNG matters), then
    `dt train --resume`, ends exactly where the uninterrupted run does."""
    from dtcli import runs
    from dtcli.engine.events import Listener
    from dtcli.engine.train import train
    from dtcli.experiments.recipe import resolve_config

    args = ["--arch-option", "fire_rate=0.5", "--arch-option", "hidden=16"]
    full = cli("train", "mazes", "--arch", "nca", *TINY, *args, "--out", tmp_path / "full")
    assert full.exit_code == 0, full.output

    class CancelAt(Listener):
        hit = False

        def on_batch(self, epoch, step, steps, loss):
            self.hit = self.hit or (epoch, step) == (2, 2)

    overrides = {"width": 4, "max_iters": 4, "epochs": 2, "batch_size": 10, "train_count": 40,
                 "test_count": 6, "test_iters": 8, "train_difficulty": "5",
                 "test_difficulties": ["7"], "seed": 1}
    cfg = resolve_config("mazes", "nca", None, {}, {"fire_rate": 0.5, "hidden": 16}, overrides)
    stopper = CancelAt()
    part = train(cfg, tmp_path / "part", listener=stopper, cancel=lambda: stopper.hit)
    assert part.status == "cancelled"
    resumed = cli("train", "--resume", tmp_path / "part")
    assert resumed.exit_code == 0, resumed.output
    a, b = tmp_path / "full", tmp_path / "part"
    assert strip_times(runs.read_metrics(b)) == strip_times(runs.read_metrics(a))
    wa, wb = load_file(a / "best.safetensors"), load_file(b / "best.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    ea, eb = (runs.read_extrapolation(r)["results"]["7"] for r in (a, b))
    assert {k: v for k, v in ea.items() if k != "extra"} == {k: v for k, v in eb.items() if k != "extra"}
