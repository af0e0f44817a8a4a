"""Stable thinking, measured: the AA score on hand-built nets whose end points are known, the
settled-share counter on a net that stops moving, the solve trace, and path-independent
training (random initial thoughts) that keeps resume exact."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from dtcli import runs
from dtcli.analysis.path_independence import path_independence, random_start
from dtcli.analysis.settling import SolveTrace, moving_positions, moving_share
from dtcli.contracts.net import IterativeNet
from dtcli.engine.progressive import NoiseDraw, initial_thought, settle_penalty
from helpers import tiny_config


class Affine(IterativeNet):
    """think(z) = a·z + b·x on a 1D thought of 3 channels: with |a| < 1 its fixed point is
    b·x / (1 − a) wherever it starts; with a = 1 and b = 0 it never leaves its start."""

    spatial_dims = 1

    def __init__(self, a: float, b: float) -> None:
        super().__init__({})
        self.a, self.b = a, b
        self.scale = torch.nn.Parameter(torch.ones(()))

    def start(self, x):
        return x.repeat(1, 3, 1) * self.scale

    def think(self, thought, x, i):
        return self.a * thought + self.b * x.repeat(1, 3, 1)

    def answer(self, thought):
        return torch.stack([-thought[:, 0], thought[:, 0]], 1)


def test_aa_score_is_one_for_a_contraction_and_the_start_cosine_for_the_identity(registry):
    problem = registry.problem("prefix-sums")
    x = torch.rand(6, 1, 8) + 0.5
    y = torch.ones(6, 8, dtype=torch.long)
    contraction = path_independence(Affine(0.5, 1.0), problem, x, y, 60, starts=3, seed=1)
    assert min(contraction.aa) > 1 - 1e-9
    assert contraction.accuracy_own == 100.0 and contraction.accuracy_random == [100.0] * 3
    # the identity keeps its start: the AA score is the cosine of each random start with x,
    # whatever the batching
    frozen = path_independence(Affine(1.0, 0.0), problem, x, y, 5, starts=3, seed=1)
    batched = path_independence(Affine(1.0, 0.0), problem, x, y, 5, starts=3, seed=1,
                                batch_size=8)
    start = x.repeat(1, 3, 1)
    expected = []
    for i in range(6):
        s = start[i].flatten().double()
        cos = [float((r @ s) / (r.norm() * s.norm())) for r in
               (random_start(start[i:i + 1], 1, k, i).flatten().double() for k in range(3))]
        expected.append(sum(cos) / 3)
    assert frozen.aa == pytest.approx(expected, abs=1e-9)
    assert batched.aa == pytest.approx(expected, abs=1e-9)
    assert frozen.summary()["aa_mean"] < 0.9


def test_aa_refuses_a_feed_forward_net(registry):
    from dtcli.contracts.errors import DtError
    from dtcli.factory import create_net

    problem, net = create_net("prefix-sums", "ff-recall", width=4, max_iters=3, registry=registry)
    x, y = problem.dataset("test", 8, 4, seed=0)
    with pytest.raises(DtError, match="recurrent"):
        path_independence(net, problem, x.float(), y, 3)


def test_settled_share_counts_positions_that_stop_moving():
    """Half the positions halve their change every step, the other half keep moving: the
    counter finds the first half still at the iteration a direct computation predicts."""
    tol = 1e-4
    z = torch.ones(2, 4, 6)
    shares = []
    for t in range(1, 30):
        nxt = z.clone()
        nxt[..., :3] = 1 + 0.5 ** t          # change 0.5**t, scale ~1: settles when < tol
        nxt[..., 3:] = z[..., 3:] + 0.1       # always moving
        shares.append(float(moving_share(z, nxt, tol).mean()))
        z = nxt
    # max |θ_t| is the moving half's 1 + 0.1·t
    first_still = next(t for t in range(1, 30) if 0.5 ** t < tol * (1 + 0.1 * t))
    assert shares[first_still - 1] == 0.5 and shares[first_still - 2] == 1.0
    assert moving_positions(z, z).sum() == 0  # a thought that does not move at all


def test_solve_trace_counts_first_solve_turns_and_flickers():
    c = torch.tensor([[0, 1, 1, 0, 1, 1],   # solved at 2, wrong again at 4, flickers once
                      [0, 0, 0, 1, 1, 1],   # solved at 4, stays solved
                      [0, 0, 0, 0, 0, 0],   # never solved
                      [1, 0, 1, 0, 1, 0]], dtype=torch.bool)
    trace = SolveTrace.from_correct(c)
    assert trace.first_correct == [2, 4, None, 1]
    assert trace.last_wrong == [4, None, None, 6]
    assert trace.flickers == [1, 0, 0, 3]
    assert trace.summary() == {"solved": 3, "stayed_solved": 1, "turned_wrong": 2,
                               "flickers": 4, "flickering_instances": 2,
                               "latest_wrong_after_solve": 6}


@pytest.mark.parametrize("mode", ["random", "mix"])
def test_a_shard_of_the_batch_draws_its_rows_of_the_global_draw(mode):
    net = Affine(0.5, 1.0)
    x = torch.rand(10, 1, 5)
    whole, _ = initial_thought(net, x, mode, NoiseDraw(seed=3, offset=0, total=10))
    part, _ = initial_thought(net, x[4:7], mode, NoiseDraw(seed=3, offset=4, total=10))
    if mode == "random":  # the spread is the shard's own: compare the directions
        a, b = whole[4:7] / whole[4:7].norm(), part / part.norm()
        assert torch.allclose(a, b, atol=1e-6)
    else:
        picked = ~torch.isclose(whole, net.start(x)).all(2).all(1)
        assert 0 < int(picked.sum()) < 10  # a mix: some instances start at random
    again, used = initial_thought(net, x, mode, NoiseDraw(seed=3, offset=0, total=10))
    assert torch.equal(whole, again) and used == (mode == "mix")


@pytest.mark.parametrize("option", [{"init_thought": "mix"}, {"settle_weight": 2.0}])
def test_random_initial_thoughts_keep_resume_exact(tmp_path, option):
    """A run with --init-thought mix (or the settling term) cancelled mid-epoch (its resume
    state written at the step) and resumed ends exactly as the uninterrupted run."""
    from dtcli.engine.events import Listener
    from dtcli.engine.train import train

    class CancelAt(Listener):
        hit = False

        def on_batch(self, epoch, step, steps, loss):
            self.hit = self.hit or (epoch, step) == (2, 2)

    cfg = lambda: tiny_config(**option, checkpoint_every=0.0)  # noqa: E731
    full = train(cfg(), tmp_path / "full")
    stopper = CancelAt()
    assert train(cfg(), tmp_path / "part", listener=stopper,
                 cancel=lambda: stopper.hit).status == "cancelled"
    resumed = train(cfg(), tmp_path / "part", resume=True)
    strip = lambda h: [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in h]  # noqa: E731
    assert strip(resumed.history) == strip(full.history)
    a, b = load_file(tmp_path / "full" / runs.BEST), load_file(tmp_path / "part" / runs.BEST)
    assert all(torch.equal(a[k], b[k]) for k in a)
    plain = train(tiny_config(), tmp_path / "plain")  # and the option changes the run
    assert strip(plain.history) != strip(full.history)
    assert not math.isnan(full.history[-1]["train_loss"])


def test_seeds_study_arms_train_one_architecture_another_way(registry, tmp_path):
    """An arm LABEL=ARCH with --arm-option: architecture options go to the net, training
    settings to the recipe; everything else is the study's one recipe."""
    from dtcli.contracts.errors import DtError
    from dtcli.experiments.seeds import SeedPlan, SeedRun, check_plan

    plan = SeedPlan(problem="prefix-sums", archs=["dt-recall", "dt-recall-pi", "dt-l"],
                    seeds=[0, 1], out=tmp_path, preset="quick", overrides={"width": 8},
                    arms={"dt-recall-pi": "dt-recall"},
                    arm_options={"dt-recall-pi": {"init_thought": "mix"},
                                 "dt-l": {"conv_norm": "operator", "epochs": "3"}})
    check_plan(plan)
    plain, pi, dtl = (plan.config(SeedRun(a, 1), registry) for a in plan.archs)
    assert (plain.arch, plain.init_thought) == ("dt-recall", "start")
    assert (pi.arch, pi.init_thought, pi.seed, pi.width) == ("dt-recall", "mix", 1, 8)
    assert dtl.arch_options == {"conv_norm": "operator"} and dtl.epochs == 3
    assert plain.epochs == pi.epochs != 3
    assert [s.key for s in plan.specs()][:3] == ["dt-recall-s0", "dt-recall-pi-s0", "dt-l-s0"]
    plan.arm_options["dt-recall-pi"] = {"no_such": "1"}
    with pytest.raises(DtError, match="no_such"):
        check_plan(plan)
    plan.arm_options = {"dt-x": {"width": "4"}}
    with pytest.raises(DtError, match="not one of --arch"):
        check_plan(plan)


def test_seeds_study_measures_each_runs_dynamics_once(cli, tmp_path):
    """--dynamics N: every finished run's AA score, settled share, Lipschitz estimate and
    solve trace, in results.json and the table, measured once (dynamics.json) and read back."""
    import json

    out = tmp_path / "study"
    args = ["study", "seeds", "prefix-sums", "--arch", "dt-recall,dt-recall-pi=dt-recall",
            "--arm-option", "dt-recall-pi:init_thought=mix", "--seeds", "1", "--width", "6",
            "--epochs", "1", "--train-count", "100", "--test-count", "6", "--test-iters", "8",
            "--test-difficulty", "10", "--test-difficulty", "12", "--dynamics", "4",
            "--out", str(out), "--json"]
    first = cli(*args)
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    for run in doc["runs"]:
        d = run["dynamics"]
        assert 0 <= d["settled_positions"] <= 100 and -1 <= d["aa"] <= 1 + 1e-9
        assert d["lipschitz"] > 0 and d["solved"] >= d["stayed_solved"] >= 0
    assert {r["arch"] for r in doc["summary"]} == {"dt-recall", "dt-recall-pi"}
    # success is judged on the first test difficulty; the second's peaks come beside it
    assert all(r["difficulty"] == "10" and set(r["also"]) == {"12"} for r in doc["runs"])
    for row in doc["summary"]:
        peaks = sorted(r["also"]["12"]["peak"] for r in doc["runs"] if r["arch"] == row["arch"])
        assert row["also"]["12"]["peaks"] == peaks
    assert all("aa_mean" in r and "lipschitz_max" in r for r in doc["summary"])
    stamp = (out / "runs" / "dt-recall-s0" / "dynamics.json").stat().st_mtime_ns
    again = cli(*args)
    assert json.loads(again.stdout)["runs"] == doc["runs"]
    assert (out / "runs" / "dt-recall-s0" / "dynamics.json").stat().st_mtime_ns == stamp
    for row in doc["summary"]:  # the training accuracy the field reports beside success
        trains = [r["final_train_acc"] for r in doc["runs"] if r["arch"] == row["arch"]]
        assert row["train_mean"] == sum(trains) / len(trains)
    figure = tmp_path / "seeds.svg"
    table = cli(*args[:-1], "--plot", figure, env={"COLUMNS": "80"}).stdout  # at 80 columns
    assert figure.read_text().lstrip().startswith("<?xml") and f"figure written to {figure}" in table
    lines = table.splitlines()
    assert max(len(line) for line in lines  # tables within 80; a path is kept whole
               if "━" not in line and "┤" not in line and str(tmp_path) not in line) <= 80
    assert sum(line.split()[0] == "dt-recall-pi" for line in lines if line.strip()) == 2
    assert "how the runs think" in table


def test_aa_score_of_a_thought_that_overflows_is_left_out(registry):
    """A thought that grows to infinity has no direction: it is counted as overflowed, not
    averaged in as NaN."""
    problem = registry.problem("prefix-sums")
    x = torch.rand(3, 1, 4) + 0.5
    y = torch.ones(3, 4, dtype=torch.long)
    res = path_independence(Affine(3.0, 0.0), problem, x, y, 200, starts=2, seed=0)
    s = res.summary()
    assert s["overflowed"] == 3 and s["aa_mean"] is None and res.to_dict()["aa"] == [None] * 3


def test_settle_penalty_counts_only_solved_instances_by_their_relative_change(registry):
    """think(z) = a·z + b·x: one more iteration moves z by (a − 1)·z + b·x; the term is that
    change's norm over z's, summed over the instances answered right, over the batch."""
    problem = registry.problem("prefix-sums")
    net = Affine(0.5, 1.0)
    x = torch.rand(4, 1, 8) + 0.5  # thought channel 0 > 0: the net answers 1 everywhere
    y = torch.ones(4, 8, dtype=torch.long)
    y[1, 3] = 0  # instance 1 answered wrong: it does not count
    z = torch.rand(4, 3, 8) + 0.1
    logits = net.answer(z)
    got = settle_penalty(net, problem, x, y, logits, z, at=5)
    change = (-0.5 * z + x.repeat(1, 3, 1)).flatten(1).norm(dim=1) / z.flatten(1).norm(dim=1)
    assert float(got) == pytest.approx(float(change[[0, 2, 3]].sum() / 4), rel=1e-6)
    # at its fixed point z = 2x nothing moves; with nothing solved the term is zero
    assert float(settle_penalty(net, problem, x, y, logits, 2 * x.repeat(1, 3, 1), 5)) < 1e-5
    assert float(settle_penalty(net, problem, x, 1 - y, logits, z, 5)) == 0.0


def test_settle_weight_refuses_a_feed_forward_net(cli, tmp_path):
    from helpers import one_line_error

    result = cli("train", "prefix-sums", "--arch", "ff-recall", "--settle-weight", "1",
                 "--width", "4", "--epochs", "1", "--train-count", "40", "--no-test",
                 "--out", str(tmp_path / "r"))
    assert "feed-forward" in one_line_error(result)
    assert not (tmp_path / "r" / runs.BEST).exists()
