"""The looped transformer: the conformance kit, the net's semantics (streaming, causality,
any length), its options and preset, and the CLI wherever a DT net goes (train, exact
resume, test in every mode at a longer length than trained, solve, the analyses)."""

from __future__ import annotations

import json

import pytest
import torch

from dtcli.api import DtError

ARCH = "looped-transformer"
#: a tiny run: 8-bit training, extrapolation to 16 bits
TINY = ["--width", "8", "--max-iters", "4", "--epochs", "2", "--batch-size", "25",
        "--train-count", "100", "--test-count", "10", "--test-iters", "6",
        "--train-difficulty", "8", "--test-difficulty", "16", "--seed", "1", "--threads", "1"]
OPTION_SETS = [
    {},
    {"position": "none"},
    {"position": "rope", "heads": 2},
    {"position": "sinusoidal", "norm": "pre"},
    {"attention": "bidirectional"},
    {"sink": False},
    {"sink": False, "position": "none"},
    {"max_distance": 2, "mlp_ratio": 1.5},
]


def build(registry, width=8, max_iters=4, **options):
    return registry.arch(ARCH).build(registry.problem("prefix-sums"), width=width,
                                     max_iters=max_iters, **options)


def test_conformance_kit(registry):
    from dtcli.testing import check_architecture

    check_architecture(registry.arch(ARCH), registry.problem("prefix-sums"))


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_streaming_resuming_and_rebuilding(registry, options):
    torch.manual_seed(0)
    net = build(registry, **options).eval()
    x = torch.randint(0, 2, (3, 1, 11)).float()
    logits, thought = net(x, 5)
    assert logits.shape == (3, 2, 11) and thought.shape == (3, 8, 11)
    steps = list(net.iterate(x, 5))
    assert [i for i, _ in steps] == [1, 2, 3, 4, 5]
    assert torch.allclose(net.answer(steps[-1][1]), logits, atol=1e-6)
    _, mid = net(x, 2)
    resumed, _ = net(x, 3, thought=mid, start_iter=2)
    assert torch.allclose(resumed, logits, atol=1e-6)
    # think takes the raw input as well as its encoding
    assert torch.allclose(net.think(mid, x, 2), net.think(mid, net.encode_input(x), 2), atol=1e-6)
    again = registry.arch(ARCH).build(registry.problem("prefix-sums"), **net.config)
    again.load_state_dict(net.state_dict())
    assert torch.equal(again.eval()(x, 5)[0], logits)


@pytest.mark.parametrize("position", ["relative", "none", "rope", "sinusoidal"])
def test_causal_attention_never_looks_ahead(registry, position):
    torch.manual_seed(0)
    net = build(registry, position=position, heads=2).eval()
    x = torch.randint(0, 2, (2, 1, 12)).float()
    changed = x.clone()
    changed[:, :, 7:] = 1 - changed[:, :, 7:]
    a, b = net(x, 6)[0], net(changed, 6)[0]
    assert torch.allclose(a[..., :7], b[..., :7], atol=1e-6)
    assert not torch.allclose(a[..., 7:], b[..., 7:])


def test_bidirectional_nope_cannot_tell_positions_apart(registry):
    """As documented: without positions or a causal mask the block is permutation-equivariant."""
    torch.manual_seed(0)
    net = build(registry, position="none", attention="bidirectional").eval()
    x = torch.randint(0, 2, (2, 1, 9)).float()
    perm = torch.randperm(9)
    assert torch.allclose(net(x, 3)[0][..., perm], net(x[..., perm], 3)[0], atol=1e-5)


def test_any_length_and_the_sink_marks_the_edge(registry):
    torch.manual_seed(0)
    net = build(registry).eval()
    for length in (1, 8, 70):
        assert net(torch.ones(1, 1, length), 3)[0].shape == (1, 2, length)
    bias = net.encode_input(torch.zeros(1, 1, 5)).bias
    assert bias.shape == (4, 5, 6)  # heads x queries x (sink + keys)
    assert torch.equal(bias[:, :, 0], torch.zeros(4, 5))  # the sink is always there
    assert torch.isinf(bias[:, 0, 2:]).all() and torch.isfinite(bias[:, 4]).all()


def test_parameters_options_and_effective_depth(registry):
    net = build(registry, width=64, max_iters=32)
    assert net.num_parameters() == 50_406
    assert net.effective_depth(10) == 1 + 2 * 10 + 1
    assert registry.arch(ARCH).iterations_for(66, 5) == 32
    with pytest.raises(DtError, match="not one of them"):
        registry.arch(ARCH).iterations_for(7, 5)
    exempt = {id(p) for p in net.weight_decay_exempt()}
    decayed = {n for n, p in net.named_parameters() if id(p) not in exempt}
    assert decayed == {"embed.weight", "attn.qkv.weight", "attn.proj.weight", "mlp.0.weight",
                       "mlp.2.weight", "head.weight"}
    with pytest.raises(DtError, match="multiple of heads"):
        build(registry, width=10)
    with pytest.raises(DtError, match="even width per head"):
        build(registry, width=12, heads=4, position="rope")


def test_stability_jacobian_through_attention(registry):
    """dt analyze stability differentiates think forward (torch.func.jvp): the fused
    attention kernel cannot, so the math kernel takes over."""
    from dtcli.analysis.stability import think_lipschitz

    torch.manual_seed(0)
    net = build(registry).eval()
    x = torch.randint(0, 2, (2, 1, 6)).float()
    thought = net(x, 2)[1]
    lip = think_lipschitz(net, thought, net.encode_input(x), 2, steps=3)
    assert lip.shape == (2,) and torch.isfinite(lip).all() and (lip > 0).all()


def test_presets_for_prefix_sums(registry):
    from dtcli.experiments.recipe import resolve_config

    quick = resolve_config("prefix-sums", ARCH, "quick", {}, {}, {})
    assert (quick.width, quick.max_iters, quick.optimizer, quick.test_iters) == (64, 32, "adamw", 600)
    assert quick.lr == 1e-3 and quick.epochs == 20
    paper = resolve_config("prefix-sums", ARCH, "paper", {}, {}, {"width": 256})
    assert (paper.width, paper.max_iters, paper.optimizer) == (256, 32, "adamw")
    assert registry.arch(ARCH).preset("mazes", "quick") == {}


def test_listed_with_its_options(cli):
    result = cli("list", "archs", "-v")
    assert result.exit_code == 0, result.output
    for name in ("looped-transformer", "heads", "mlp_ratio", "position", "norm", "sink"):
        assert name in result.stdout


def test_cannot_be_built_for_a_grid(cli):
    result = cli("train", "mazes", "--arch", ARCH, "--epochs", "1")
    assert result.exit_code == 2 and "sequence" in result.stderr


def test_a_bad_width_is_one_line(cli):
    result = cli("train", "prefix-sums", "--arch", ARCH, *TINY, "--width", "10")
    assert result.exit_code == 2 and "multiple of heads" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def tiny_run(cli, tmp_path):
    run = tmp_path / "run"
    result = cli("train", "prefix-sums", "--arch", ARCH, *TINY, "--out", run)
    assert result.exit_code == 0, result.output
    return run


def test_train_test_solve_analyze_through_the_cli(cli, tiny_run):
    run = tiny_run
    doc = json.loads((run / "config.json").read_text())
    assert doc["model"]["build"]["position"] == "relative" and doc["status"] == "finished"
    assert set(json.loads((run / "extrapolation.json").read_text())["results"]) == {"16"}

    res = json.loads(cli("test", run, "-d", "16", "--iters", "1:12", "--count", "12",
                         "--mode", "fixed", "--mode", "max-conf", "--json").stdout)
    assert res["iters"] == list(range(1, 13)) and res["total"] == 12
    assert len(res["max-conf"]["accuracy"]) == 12
    halted = json.loads(cli("test", run, "-d", "16", "--iters", "1:12", "--count", "12",
                            "--mode", "halt", "-k", "2", "--json").stdout)
    assert len(halted["halt"]["accuracy"]) == 12 and 0 <= halted["halt"]["compute_saved"] < 1

    frames = json.loads(cli("solve", run, "-d", "16", "--iters", "5", "--json").stdout)["frames"]
    assert [f["iteration"] for f in frames] == [1, 2, 3, 4, 5]
    live = cli("solve", run, "--input", "0110100111", "--iters", "3", "--fps", "0")
    assert live.exit_code == 0 and "0110100111" in live.stdout

    stab = cli("analyze", "stability", run, "-d", "16", "--iters", "12", "--count", "8",
               "--lipschitz-points", "2", "--lipschitz-count", "2", "--power-steps", "2", "--json")
    assert stab.exit_code == 0, stab.output
    doc = json.loads(stab.stdout)
    assert len(doc["change"]) == 12 and all(v > 0 for v in doc["lipschitz"]["mean"])

    pi = cli("analyze", "path-independence", run, "-d", "16", "--iters", "10", "--count", "6",
             "--starts", "2", "--json")
    assert pi.exit_code == 0, pi.output
    (row,) = json.loads(pi.stdout)["models"]
    assert row["starts"] == 2 and len(row["aa"]) == 6
    assert all(-1.0 - 1e-9 <= a <= 1.0 + 1e-9 for a in row["aa"])


def test_resume_through_the_cli_is_exact(cli, tmp_path):
    """A run cancelled mid-epoch (its resume state written at the step) and resumed with
    `dt train --resume` ends exactly as the uninterrupted run, dropout's draws included."""
    from safetensors.torch import load_file

    from dtcli.api import Listener, TrainConfig, train

    class CancelAt(Listener):
        hit = False

        def on_batch(self, epoch, step, steps, loss):
            self.hit = self.hit or (epoch, step) == (2, 2)

    def config():
        return TrainConfig(problem="prefix-sums", arch=ARCH, width=8, max_iters=4, epochs=3,
                           batch_size=20, train_count=100, test_count=10, test_iters=6,
                           alpha=0.5, train_difficulty="8", test_difficulties=["16"], seed=7,
                           lr=3e-3, optimizer="adamw", warmup_epochs=1, lr_decay="cosine",
                           clip=1.0, threads=1, checkpoint_every=0.0,
                           arch_options={"dropout": 0.1})

    full = train(config(), tmp_path / "full")
    stopper = CancelAt()
    part = train(config(), tmp_path / "part", listener=stopper, cancel=lambda: stopper.hit)
    assert part.status == "cancelled"
    result = cli("train", "--resume", tmp_path / "part")
    assert result.exit_code == 0, result.output

    def metrics(run):
        lines = (run / "metrics.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(line).items() if not k.endswith("seconds")}
                for line in lines]

    assert metrics(tmp_path / "part") == metrics(tmp_path / "full")
    assert len(metrics(tmp_path / "full")) == 3 and full.status == "finished"
    a, b = load_file(tmp_path / "full" / "best.safetensors"), load_file(tmp_path / "part" / "best.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
